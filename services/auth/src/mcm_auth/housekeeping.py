"""Hourly clean-up of rows that have served their purpose, so the credentials database holds no
more than it needs: ended sessions (with their refresh tokens), spent codes and reset tokens,
and old delivery records. Deletes are idempotent, so every replica may run it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_

from mcm_auth.outbox.models import OutboundMessage
from mcm_auth.passwords.models import PasswordReset
from mcm_auth.sessions.models import RefreshToken, Session
from mcm_auth.verification.models import VerificationCode
from mcm_shared.db import Database
from mcm_shared.events.worker import BackgroundWorker

logger = logging.getLogger("mcm.auth.housekeeping")

# Ended sessions stay listed in the user's data export for this long.
SESSION_HISTORY = timedelta(days=30)
SPENT_SECRETS = timedelta(days=1)
DELIVERY_RECORDS = timedelta(days=90)


async def purge(database: Database, *, absolute_session_ttl: timedelta, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    removed = 0
    async with database.session() as session:
        statements = [
            delete(Session).where(
                or_(Session.revoked_at < now - SESSION_HISTORY, Session.expires_at < now - SESSION_HISTORY)
            ),
            # A rotated token only matters for reuse detection while its session can still live.
            delete(RefreshToken).where(RefreshToken.rotated_at < now - absolute_session_ttl),
            delete(VerificationCode).where(VerificationCode.expires_at < now - SPENT_SECRETS),
            delete(PasswordReset).where(PasswordReset.expires_at < now - SPENT_SECRETS),
            delete(OutboundMessage).where(
                or_(
                    OutboundMessage.sent_at < now - DELIVERY_RECORDS, OutboundMessage.failed_at < now - DELIVERY_RECORDS
                )
            ),
        ]
        for statement in statements:
            # A DELETE yields a CursorResult (it has rowcount); SQLAlchemy types execute() as Result.
            result = cast("CursorResult[Any]", await session.execute(statement))
            removed += result.rowcount or 0
        await session.commit()
    if removed:
        logger.info("housekeeping removed rows", extra={"rows": removed})
    return removed


class Housekeeping(BackgroundWorker):
    kind = "housekeeping"

    def __init__(
        self, database: Database, *, absolute_session_ttl: timedelta, interval_seconds: float = 3600.0
    ) -> None:
        super().__init__(backoff_initial=5.0, backoff_max=300.0)
        self.database = database
        self.absolute_session_ttl = absolute_session_ttl
        self.interval_seconds = interval_seconds

    async def _cycle(self) -> None:
        await purge(self.database, absolute_session_ttl=self.absolute_session_ttl)
        await self._pause(self.interval_seconds)
