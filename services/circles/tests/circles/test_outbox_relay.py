"""End to end on the bus: what circles publishes reaches its Redis stream through the relay."""

from __future__ import annotations

import json

from .support import eventually, make_circle, make_facilitator, make_member


async def test_payment_required_reaches_the_circles_stream(api_with_relay):
    api = api_with_relay
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, dues={"amount": 4200, "currency": "CHF"})
    joe = await make_member(api, circle)

    async def published():
        entries = await api.app.state.redis.xrevrange("events:circles", count=200)
        for _, fields in entries:
            # The session's Redis is shared: other tests put their own (even malformed)
            # entries on this stream, so skip what isn't ours.
            try:
                envelope = json.loads(fields[b"envelope"] if b"envelope" in fields else fields["envelope"])
            except (KeyError, ValueError):
                continue
            payload = envelope["payload"]
            if envelope["type"] == "membership.payment_required" and payload.get("user_id") == str(joe.id):
                return envelope
        return None

    envelope = await eventually(published)
    assert envelope["producer"] == "circles"
    assert (envelope["payload"]["amount"], envelope["payload"]["currency"], envelope["payload"]["interval"]) == (
        4200,
        "CHF",
        "month",
    )
    assert await api.scalar("SELECT count(*) FROM circles.outbox WHERE published_at IS NULL") == 0
