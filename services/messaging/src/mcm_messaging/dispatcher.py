"""The notification centre's background work, one worker per replica: each cycle pushes new inbox
entries to sockets and asks auth for the emails that are due (notifications.service.dispatch,
rows claimed with SKIP LOCKED), then sends the reminders whose time has come
(reminders.service.send_due, one replica at a time under an advisory lock)."""

from __future__ import annotations

from mcm_messaging.notifications import service as notifications
from mcm_messaging.reminders import service as reminders
from mcm_messaging.runtime import MessagingRuntime
from mcm_shared.events.worker import BackgroundWorker


class Dispatcher(BackgroundWorker):
    kind = "notification-dispatcher"

    def __init__(self, runtime: MessagingRuntime) -> None:
        super().__init__(backoff_initial=0.5, backoff_max=10.0)
        self.runtime = runtime

    async def _cycle(self) -> None:
        async with self.runtime.sessionmaker() as session:
            await notifications.dispatch(session, self.runtime)
        if self.runtime.settings.reminders_enabled:
            async with self.runtime.sessionmaker() as session:
                await reminders.send_due(session, self.runtime)
        await self._pause(self.runtime.settings.notification_dispatch_interval_seconds)
