"""The delivery worker: sends queued messages, retries with backoff, never loses one.

Rows are claimed with FOR UPDATE SKIP LOCKED, so several replicas share the queue without
sending a message twice; a row is marked sent in the same transaction that held its lock.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from mcm_auth.outbox.models import OutboundMessage
from mcm_auth.outbox.outbound import Outbound
from mcm_auth.outbox.transports import PermanentFailure, SmsTransport, SmtpTransport
from mcm_shared.db import Database
from mcm_shared.events.worker import BackgroundWorker

logger = logging.getLogger("mcm.auth.delivery")

MAX_ATTEMPTS = 8
BATCH = 20


class DeliveryWorker(BackgroundWorker):
    kind = "delivery"

    def __init__(
        self,
        database: Database,
        outbound: Outbound,
        smtp: SmtpTransport,
        sms: SmsTransport,
        *,
        poll_seconds: float = 2.0,
        log_when_unconfigured: bool = False,
    ) -> None:
        super().__init__(backoff_initial=0.5, backoff_max=30.0)
        self.database = database
        self.outbound = outbound
        self.smtp = smtp
        self.sms = sms
        self.poll_seconds = poll_seconds
        # Development without SMTP_HOST / SMS_API_BASE: write messages to the log instead, so
        # codes and links can still be read on a laptop. Production keeps them queued.
        self.log_when_unconfigured = log_when_unconfigured

    async def _cycle(self) -> None:
        sent = await self.deliver_due()
        if sent == 0:
            self._interruptible = True
            try:
                await asyncio.wait_for(self.outbound.wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass
            finally:
                self._interruptible = False
            self.outbound.wake.clear()

    async def deliver_due(self) -> int:
        now = datetime.now(UTC)
        handled = 0
        async with self.database.session() as session:
            rows = await session.scalars(
                select(OutboundMessage)
                .where(
                    OutboundMessage.sent_at.is_(None),
                    OutboundMessage.failed_at.is_(None),
                    OutboundMessage.next_attempt_at <= now,
                )
                .order_by(OutboundMessage.next_attempt_at)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
            for message in list(rows):
                await self._deliver(message)
                handled += 1
            await session.commit()
        return handled

    async def _deliver(self, message: OutboundMessage) -> None:
        now = datetime.now(UTC)
        message.attempts += 1
        try:
            transport = self.smtp if message.channel == "email" else self.sms
            if not transport.configured:
                if not self.log_when_unconfigured:
                    raise RuntimeError(f"no {message.channel} transport is configured")
                logger.info(
                    "development message (no transport configured)",
                    extra={
                        "channel": message.channel,
                        "to": message.recipient,
                        "subject": message.subject,
                        "body": message.body,
                    },
                )
            elif message.channel == "email":
                await self.smtp.send(message.recipient, message.subject or "", message.body or "")
            else:
                await self.sms.send(message.recipient, message.body or "")
        except PermanentFailure as exc:
            message.failed_at, message.body, message.last_error = now, None, str(exc)[:500]
            logger.warning(
                "message refused for good", extra={"message_id": str(message.id), "channel": message.channel}
            )
        except Exception as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if message.attempts >= MAX_ATTEMPTS:
                message.failed_at, message.body = now, None
                logger.error("message given up", extra={"message_id": str(message.id), "channel": message.channel})
            else:
                message.next_attempt_at = now + timedelta(seconds=min(600, 2**message.attempts))
        else:
            # The body may hold a code or link; once delivered we keep only the fact of sending.
            message.sent_at, message.body = now, None
            logger.info(
                "message sent",
                extra={"message_id": str(message.id), "channel": message.channel, "template": message.template},
            )
