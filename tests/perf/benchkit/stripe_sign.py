"""Stripe-shaped webhook events, signed the way Stripe signs them.

Stripe sends `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`;
the receiver recomputes the HMAC over the exact bytes it got. The bodies here are serialised once
and those bytes are both signed and sent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any


def signature_header(secret: str, payload: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode("utf-8"), str(t).encode("ascii") + b"." + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


# Event types a Stripe account connected to the platform really receives. The objects name no
# customer or obligation of ours, so payments stores each event and processes it as "not ours":
# the benchmark measures ingest (verify, store once, acknowledge), not business rules.
EVENT_TYPES = (
    "payment_intent.created",
    "payment_intent.succeeded",
    "charge.succeeded",
    "charge.updated",
    "checkout.session.completed",
    "invoice.paid",
    "customer.updated",
)


def _object(event_type: str, n: int, created: int) -> dict[str, Any]:
    kind = event_type.split(".")[0]
    if kind == "payment_intent":
        return {
            "id": f"pi_bench{n:08d}",
            "object": "payment_intent",
            "amount": 4500,
            "currency": "eur",
            "status": "succeeded",
            "customer": None,
            "metadata": {},
            "created": created,
        }
    if kind == "charge":
        return {
            "id": f"ch_bench{n:08d}",
            "object": "charge",
            "amount": 4500,
            "currency": "eur",
            "paid": True,
            "payment_intent": f"pi_bench{n:08d}",
            "customer": None,
            "metadata": {},
            "created": created,
        }
    if kind == "checkout":
        return {
            "id": f"cs_test_bench{n:08d}",
            "object": "checkout.session",
            "mode": "payment",
            "payment_status": "paid",
            "amount_total": 4500,
            "currency": "eur",
            "customer": None,
            "client_reference_id": None,
            "metadata": {},
            "payment_intent": f"pi_bench{n:08d}",
            "created": created,
        }
    if kind == "invoice":
        return {
            "id": f"in_bench{n:08d}",
            "object": "invoice",
            "amount_paid": 3000,
            "currency": "eur",
            "status": "paid",
            "customer": f"cus_bench{n:08d}",
            "subscription": None,
            "metadata": {},
            "created": created,
        }
    return {"id": f"cus_bench{n:08d}", "object": "customer", "email": None, "metadata": {}, "created": created}


def make_event(n: int, *, prefix: str, created: int | None = None) -> tuple[str, bytes]:
    """(event id, body bytes) of the n-th benchmark event."""
    created = int(time.time()) if created is None else created
    event_type = EVENT_TYPES[n % len(EVENT_TYPES)]
    event_id = f"evt_{prefix}{n:08d}"
    body = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": f"req_{uuid.uuid4().hex[:14]}", "idempotency_key": None},
        "type": event_type,
        "data": {"object": _object(event_type, n, created)},
    }
    return event_id, json.dumps(body, separators=(",", ":")).encode("utf-8")
