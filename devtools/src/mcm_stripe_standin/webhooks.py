"""Webhook delivery, signed exactly as Stripe signs it:
`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.

Events go out in the order they were created; a failed delivery (no answer, or not 2xx) is
retried in the background with growing pauses, independently of later events, as Stripe does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from mcm_stripe_standin.config import StandInConfig

logger = logging.getLogger("mcm.standin.webhooks")


def sign(payload: str | bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header value for `payload`."""
    body = payload.encode("utf-8") if isinstance(payload, str) else payload
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode("utf-8"), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


@dataclass
class Delivery:
    event_id: str
    attempts: int = 0
    delivered: bool = False
    last_status: int | None = None
    last_error: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "delivered": self.delivered,
            "last_status": self.last_status,
            "last_error": self.last_error,
        }


class WebhookSender:
    def __init__(self, config: StandInConfig) -> None:
        self.config = config
        self.events: dict[str, dict[str, Any]] = {}
        self.deliveries: dict[str, Delivery] = {}
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._busy = 0
        self._retries: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self.config.webhook_timeout_seconds)
        self._task = asyncio.create_task(self._run(), name="standin-webhooks")

    async def stop(self) -> None:
        for task in [self._task, *self._retries]:
            if task:
                task.cancel()
        await asyncio.gather(*(t for t in [self._task, *self._retries] if t), return_exceptions=True)
        if self._client:
            await self._client.aclose()

    def enqueue(self, event: dict[str, Any]) -> None:
        self.events[event["id"]] = event
        self.deliveries[event["id"]] = Delivery(event["id"])
        self._queue.put_nowait(event["id"])

    def resend(self, event_id: str) -> None:
        self._queue.put_nowait(event_id)

    @property
    def idle(self) -> bool:
        return self._queue.empty() and self._busy == 0 and not self._retries

    async def flush(self, timeout: float = 10.0) -> bool:  # noqa: ASYNC109  # answers False when it runs out
        """Wait until every queued event has been attempted once (retries not awaited)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._busy == 0:
                return True
            await asyncio.sleep(0.01)
        return False

    async def _run(self) -> None:
        while True:
            event_id = await self._queue.get()
            self._busy += 1
            try:
                ok = await self.deliver(event_id)
                if not ok:
                    self._schedule_retry(event_id)
            finally:
                self._busy -= 1

    def _schedule_retry(self, event_id: str) -> None:
        delivery = self.deliveries[event_id]
        if delivery.attempts >= self.config.webhook_max_attempts:
            return
        delay = min(30.0, 0.5 * 2 ** (delivery.attempts - 1))

        async def later() -> None:
            await asyncio.sleep(delay)
            self._queue.put_nowait(event_id)

        task = asyncio.create_task(later())
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    async def deliver(self, event_id: str) -> bool:
        url = self.config.webhook_url
        delivery = self.deliveries[event_id]
        if not url or self._client is None:
            return True
        payload = json.dumps(self.events[event_id], indent=2, ensure_ascii=False)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, self.config.webhook_secret),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        delivery.attempts += 1
        try:
            response = await self._client.post(url, content=payload.encode("utf-8"), headers=headers)
        except httpx.HTTPError as exc:
            delivery.last_error, delivery.last_status = f"{type(exc).__name__}", None
            delivery.history.append({"at": int(time.time()), "error": delivery.last_error})
            return False
        delivery.last_status = response.status_code
        delivery.history.append({"at": int(time.time()), "status": response.status_code})
        delivery.delivered = 200 <= response.status_code < 300
        if not delivery.delivered:
            logger.info("webhook %s answered %s", event_id, response.status_code)
        return delivery.delivered
