"""One person's data for auth (`/internal/v1/users/{id}/overview|export`) and its erasure.

Only auth's service token opens the internal routes; `user.erased` removes the words he wrote or
that were written about him (registration answers, declared birth date, transfer messages,
membership end notes, attendance notes, goal titles) while the rows and counts stay.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from mcm_shared.events import Envelope

from .support import World

QUESTIONS = {"kind": "questions", "questions": [{"id": "why", "prompt": "Why do you come?", "type": "text"}]}
ANSWER = "My brother Tom told me to"


def service(world: World, name: str = "auth") -> dict[str, str]:
    return world.issuer.headers(f"svc:{name}", aud="internal", roles=[])


async def member_with_data(world: World) -> tuple[uuid.UUID, uuid.UUID, dict]:
    person = await world.person("member", name="Joe Privacy", verified_email=True)
    circle_id = await world.circle(await world.person("facilitator"), person)
    await world.attended(circle_id, person, 1)
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, requirements=[QUESTIONS, {"kind": "min_age", "years": 18}])
    await world.register(person, event["id"], answers={"why": ANSWER}, date_of_birth="1980-05-04")
    async with world.db.session() as session:
        await session.execute(
            text("UPDATE circles.attendance SET note = 'struggling at home' WHERE user_id = :id").bindparams(
                id=person.user_id
            )
        )
        await session.execute(
            text(
                "UPDATE circles.memberships SET end_note = 'left for personal reasons' WHERE user_id = :id"
            ).bindparams(id=person.user_id)
        )
        await session.execute(
            text(
                "UPDATE circles.event_registrations SET decline_reason = 'too fragile now' WHERE user_id = :id"
            ).bindparams(id=person.user_id)
        )
        await session.commit()
    return person.user_id, circle_id, event


async def test_auth_sees_his_memberships_and_registrations(world: World):
    user_id, circle_id, event = await member_with_data(world)
    response = await world.client.get(f"/internal/v1/users/{user_id}/overview", headers=service(world))
    assert response.status_code == 200, response.text
    body = response.json()
    [membership] = body["memberships"]
    assert membership["circle_id"] == str(circle_id) and membership["circle_name"].startswith("Circle ")
    assert membership["status"] == "active" and membership["role"] == "member"
    [registration] = body["registrations"]
    assert registration["event_id"] == event["id"] and registration["event_title"] == event["title"]
    assert registration["status"] == "confirmed"
    # The overview is for support: his own words are not in it.
    assert ANSWER not in response.text and "1980-05-04" not in response.text


async def test_the_export_holds_what_he_wrote(world: World):
    user_id, _, _ = await member_with_data(world)
    body = (await world.client.get(f"/internal/v1/users/{user_id}/export", headers=service(world))).json()
    assert body["profile"]["display_name"] == "Joe Privacy"
    assert body["registrations"][0]["answers"] == {"why": ANSWER}
    assert body["registrations"][0]["declared_birth_date"] == "1980-05-04"
    assert body["attendance"][0]["note"] == "struggling at home"
    assert body["memberships"][0]["end_note"] == "left for personal reasons"
    assert body["registrations"][0]["decline_reason"] == "too fragile now"


async def test_only_auths_service_token_opens_the_internal_routes(world: World):
    user_id, _, _ = await member_with_data(world)
    for path in (f"/internal/v1/users/{user_id}/overview", f"/internal/v1/users/{user_id}/export"):
        assert (await world.client.get(path)).status_code == 401
        admin = world.issuer.headers(roles=["admin", "support"])
        assert (await world.client.get(path, headers=admin)).status_code == 403
        # His own user token neither.
        assert (await world.client.get(path, headers=world.issuer.headers(user_id))).status_code == 403
        assert (await world.client.get(path, headers=service(world, "payments"))).status_code == 403
        assert (await world.client.get(path, headers=service(world))).status_code == 200


async def test_an_internal_token_does_not_open_public_routes(world: World):
    response = await world.client.get("/api/v1/events", headers=service(world))
    assert response.status_code == 401


async def test_erasure_removes_his_words_and_keeps_the_rows(world: World):
    user_id, _, event = await member_with_data(world)
    envelope = Envelope(
        id=uuid.uuid4(),
        type="user.erased",
        occurred_at=datetime.now(UTC),
        producer="auth",
        payload={"user_id": str(user_id)},
    )
    await world.app.state.redis.xadd(world.app.state.settings.auth_events_stream, envelope.to_fields())
    for _ in range(200):
        async with world.db.session() as session:
            done = await session.scalar(
                text("SELECT count(*) FROM circles.inbox WHERE event_id = :id").bindparams(id=envelope.id)
            )
        if done:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("user.erased was not consumed")
    response = await world.client.get(f"/internal/v1/users/{user_id}/export", headers=service(world))
    assert ANSWER not in response.text and "1980-05-04" not in response.text
    assert "Joe Privacy" not in response.text and "struggling" not in response.text
    assert "personal reasons" not in response.text and "fragile" not in response.text
    body = response.json()
    assert body["registrations"][0]["answers"] == {} and body["registrations"][0]["declared_birth_date"] is None
    assert body["registrations"][0]["event_id"] == event["id"]  # the row (and the seat count) stays
