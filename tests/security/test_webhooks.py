"""Stripe webhook forgery and replay, through the gateway (the public door Stripe uses).

The signature is Stripe's: `Stripe-Signature: t=<unix>,v1=<HMAC-SHA256(secret, "<t>.<raw body>")>`
with the platform's STRIPE_WEBHOOK_SECRET. Anything not signed with it, signed over other bytes,
or older than five minutes is refused with 400 problem+json and stored nowhere; a genuine event
delivered twice is stored once and acknowledged both times.
"""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg
import pytest
from seckit import STRIPE_WEBHOOK_SECRET, assert_problem, client, describe, stripe_event, stripe_signature

PATH = "/api/v1/payments/webhooks/stripe"


def _stored(platform, event_id: str) -> int:
    async def count() -> int:
        connection = await asyncpg.connect(platform.env["DATABASE_URL"])
        try:
            return await connection.fetchval(
                "SELECT count(*) FROM payments.webhook_events WHERE stripe_event_id = $1", event_id
            )
        finally:
            await connection.close()

    return asyncio.run(count())


def _post(platform, body: bytes, signature: str | None, **headers: str):
    sent = {"Content-Type": "application/json", **headers}
    if signature is not None:
        sent["Stripe-Signature"] = signature
    with client(platform.url("gateway")) as http:
        return http.post(PATH, content=body, headers=sent)


def _body(event: dict) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def test_a_genuine_event_is_accepted_and_stored(platform):
    event = stripe_event()
    body = _body(event)
    response = _post(platform, body, stripe_signature(body))
    assert response.status_code == 200, describe(response)
    assert response.json()["duplicate"] is False
    assert _stored(platform, event["id"]) == 1


def _flip_one_byte(body: bytes) -> bytes:
    # Change a character inside the customer id: still valid JSON, still a plausible event.
    index = body.index(b"cus_sec_") + len(b"cus_sec_")
    replacement = b"0" if body[index : index + 1] != b"0" else b"1"
    return body[:index] + replacement + body[index + 1 :]


FORGERIES = {
    "no signature": lambda body: (body, None),
    "empty signature": lambda body: (body, ""),
    "garbage signature": lambda body: (body, "not-a-signature"),
    "signed with another secret": lambda body: (body, stripe_signature(body, secret="whsec_guessed_secret")),
    "signed with an empty secret": lambda body: (body, stripe_signature(body, secret="")),
    "one byte of the body changed after signing": lambda body: (_flip_one_byte(body), stripe_signature(body)),
    "body re-serialised after signing": lambda body: (
        json.dumps(json.loads(body), indent=1).encode(),
        stripe_signature(body),
    ),
    "timestamp older than five minutes": lambda body: (body, stripe_signature(body, timestamp=int(time.time()) - 301)),
    "timestamp an hour old": lambda body: (body, stripe_signature(body, timestamp=int(time.time()) - 3600)),
    "timestamp altered after signing": lambda body: (body, stripe_signature(body).replace("t=", "t=1", 1)),
    "only a v0 scheme": lambda body: (body, stripe_signature(body).replace("v1=", "v0=")),
    "signature without timestamp": lambda body: (body, "v1=" + stripe_signature(body).split("v1=")[1]),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forged_webhooks_are_refused_and_not_stored(platform, forgery: str):
    event = stripe_event()
    body, signature = FORGERIES[forgery](_body(event))
    response = _post(platform, body, signature)
    assert_problem(response, 400)
    assert _stored(platform, event["id"]) == 0


def test_a_replayed_event_is_acknowledged_but_stored_once(platform):
    event = stripe_event()
    body = _body(event)
    signature = stripe_signature(body)
    first = _post(platform, body, signature)
    assert first.status_code == 200 and first.json()["duplicate"] is False, describe(first)
    # The exact same delivery again (Stripe retries), and the same event freshly re-signed.
    again = _post(platform, body, signature)
    resigned = _post(platform, body, stripe_signature(body, timestamp=int(time.time()) + 1))
    for response in (again, resigned):
        assert response.status_code == 200, describe(response)
        assert response.json()["duplicate"] is True
    assert _stored(platform, event["id"]) == 1


def test_the_same_event_id_with_other_content_is_not_processed_twice(platform):
    """An attacker who once captured a signed delivery cannot reuse its id with a new body (he
    cannot sign it), and Stripe never changes an event's body: either way one row per id."""
    event = stripe_event()
    body = _body(event)
    assert _post(platform, body, stripe_signature(body)).status_code == 200
    changed = _body({**event, "type": "charge.refunded"})
    forged = _post(platform, changed, stripe_signature(changed, secret="whsec_guessed_secret"))
    assert_problem(forged, 400)
    assert _stored(platform, event["id"]) == 1


def test_a_signed_body_that_is_not_an_event_is_refused(platform):
    for body in (b"[]", b'{"id": "evt_x"}', b"not json at all", '{"id": "\u00e9"'.encode("latin-1")):
        response = _post(platform, body, stripe_signature(body))
        assert_problem(response, 400)


def test_an_oversized_webhook_is_refused(platform):
    event = stripe_event(description="x" * (600 * 1024))
    body = _body(event)
    response = _post(platform, body, stripe_signature(body))
    assert_problem(response, 413)
    assert _stored(platform, event["id"]) == 0


def test_the_webhook_secret_is_not_the_development_default(platform):
    """Guard for the two tests above: they sign with the platform's configured secret."""
    assert platform.env["STRIPE_WEBHOOK_SECRET"] == STRIPE_WEBHOOK_SECRET
    event = stripe_event()
    body = _body(event)
    from mcm_payments.config import DEV_STRIPE_WEBHOOK_SECRET

    assert_problem(_post(platform, body, stripe_signature(body, secret=DEV_STRIPE_WEBHOOK_SECRET)), 400)
