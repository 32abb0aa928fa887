"""Invitations through the API: who may send which, the same answer for known and unknown
addresses, single-use expiring tokens that travel only by email, revoke, resend, accept."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from mcm_circles.config import EventsSettings
from mcm_circles.config import Settings as CirclesSettings
from mcm_circles.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_circles.main import create_app as create_circles_app
from mcm_devstack.engines import free_port, wait_for_port
from mcm_shared.migrations import migrate_command

from .conftest import PASSWORD, bearer, make_admin, new_email, signed_up, user_id_of, verified_user
from .test_privacy import events_of

INVITATIONS = "/api/v1/invitations"
TOKEN_IN_LINK = re.compile(r"/invitations/accept\?token=(\S+)")


class Circles:
    """The real circles service on a loopback port, asked by auth over the internal call."""

    def __init__(self, app, url: str) -> None:
        self.app, self.url = app, url

    async def open_circle(self, tokens, **overrides) -> str:
        body = {
            "name": f"Circle {uuid.uuid4().hex[:6]}",
            "description": "Men meeting weekly.",
            "capacity_max": 10,
            "capacity_min": 2,
            "schedule": {"weekday": "tuesday", "time": "19:00", "timezone": "Europe/Berlin", "frequency": "weekly"},
            "location": {"city": "Berlin", "online": False},
            "visibility": "public",
            "join_policy": "open",
            "dues": None,
            **overrides,
        }
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            response = await http.post("/api/v1/circles", json=body, headers=bearer(tokens))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def open_event(self, tokens) -> str:
        starts = datetime.now(UTC) + timedelta(days=30)
        body = {
            "type": "workshop",
            "title": "Anger and grief workshop",
            "description": "A day of work.",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=6)).isoformat(),
            "timezone": "Europe/Berlin",
            "location": {"city": "Berlin", "online": False},
            "capacity": 10,
            "price": {"amount": 0, "currency": "EUR"},
            "visibility": "public",
        }
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            response = await http.post("/api/v1/events", json=body, headers=bearer(tokens))
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def cancel_event(self, tokens, event_id: str) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            response = await http.post(f"/api/v1/events/{event_id}/cancel", json={}, headers=bearer(tokens))
        assert response.status_code == 200, response.text

    async def archive(self, tokens, circle_id: str) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            response = await http.delete(f"/api/v1/circles/{circle_id}", headers=bearer(tokens))
        assert response.status_code == 204, response.text


@pytest.fixture(scope="module")
async def circles_service(engines, redis_url):
    url = await engines.create_database("circles_for_auth")
    await asyncio.to_thread(migrate_command, MIGRATIONS_DIR, url, version_table=VERSION_TABLE, schema=SCHEMA)
    suffix = uuid.uuid4().hex[:8]
    settings = CirclesSettings(
        environment="test",
        database_url=url,
        redis_url=redis_url,
        outbox_relay_enabled=False,
        consume_events=False,
        auth_events_stream=f"events:auth-inv-{suffix}",
        payments_events_stream=f"events:payments-inv-{suffix}",
        members_consumer_group=f"circles-inv-{suffix}",
    )
    app = create_circles_app(settings, events_settings=EventsSettings(sweep_enabled=False, consume_payments=False))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.get_running_loop().create_task(server.serve())
    await asyncio.to_thread(wait_for_port, port)
    yield Circles(app, f"http://127.0.0.1:{port}")
    server.should_exit = True
    await task


@pytest.fixture
async def circles(circles_service, client) -> Circles:
    # Circles trusts auth's published keys, as in production (there through JWKS_URL).
    circles_service.app.state.verifier.keys.load((await client.get("/.well-known/jwks.json")).json())
    return circles_service


@pytest.fixture
async def client(make_settings, circles_service):
    from .conftest import running

    async with running(make_settings(circles_url=circles_service.url)) as client:
        yield client


async def token_from_mail(mail, address: str, nth: int = 1, within: float = 10.0) -> str:
    """The token of the nth invitation email to `address` (other mail, e.g. a verification code, skipped)."""
    deadline = time.monotonic() + within
    while True:
        messages = [m for m in mail.to(address) if TOKEN_IN_LINK.search(m.body)]
        if len(messages) >= nth:
            return unquote(TOKEN_IN_LINK.search(messages[nth - 1].body).group(1))
        if time.monotonic() > deadline:
            raise AssertionError(f"no invitation email #{nth} to {address}")
        await asyncio.sleep(0.05)


async def invite(client, tokens, **body):
    return await client.post(INVITATIONS, json=body, headers=bearer(tokens))


async def test_members_and_facilitators_cannot_invite_into_the_organisation(client):
    _, member = await signed_up(client)
    _, facilitator = await make_admin(client, roles=("facilitator",))
    _, ptm = await make_admin(client, roles=("ptm",))
    for tokens in (member, facilitator, ptm):
        response = await invite(client, tokens, email=new_email(), roles=["support"])
        assert response.status_code == 403, response.text
        assert (await invite(client, tokens, email=new_email())).status_code == 403


async def test_a_member_cannot_invite_into_a_circle_nor_onto_an_event(client, circles):
    _, member = await signed_up(client)
    assert (await invite(client, member, email=new_email(), circle_id=str(uuid.uuid4()))).status_code == 403
    assert (await invite(client, member, email=new_email(), event_id=str(uuid.uuid4()))).status_code == 403


async def test_a_ptm_invites_onto_an_event_staff_but_not_into_a_circle(client, circles):
    _, ptm = await make_admin(client, roles=("ptm",))
    created = await invite(client, ptm, email=new_email(), event_id=await circles.open_event(ptm))
    assert created.status_code == 201, created.text
    assert (await invite(client, ptm, email=new_email(), circle_id=str(uuid.uuid4()))).status_code == 403


async def test_circle_and_event_together_or_roles_with_a_circle_are_refused(client):
    _, admin = await make_admin(client)
    both = await invite(client, admin, email=new_email(), circle_id=str(uuid.uuid4()), event_id=str(uuid.uuid4()))
    assert both.status_code == 422
    mixed = await invite(client, admin, email=new_email(), circle_id=str(uuid.uuid4()), roles=["ptm"])
    assert mixed.status_code == 422
    assert (await invite(client, admin, email="not-an-email")).status_code == 422


async def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(client, mail):
    _, admin = await make_admin(client)
    known, _ = await signed_up(client)
    unknown = new_email()
    answers = [await invite(client, admin, email=address, roles=["ptm"]) for address in (known, unknown)]
    assert [a.status_code for a in answers] == [201, 201]
    assert [sorted(a.json()) for a in answers] == [["expires_at", "id"], ["expires_at", "id"]]
    assert answers[0].headers.get("content-length") == answers[1].headers.get("content-length")
    assert "token" not in answers[0].text
    assert "Sign in to accept" in (await mail.wait_for_text(known, "/invitations/accept")).body
    assert "Create your account" in (await mail.wait_for_text(unknown, "/invitations/accept")).body


async def test_the_token_is_stored_hashed_and_the_link_points_at_the_app(app_client, mail):
    async with app_client(public_app_url="https://app.example.org/") as client:
        _, admin = await make_admin(client)
        address = new_email()
        created = await invite(client, admin, email=address)
        body = (await mail.wait_for_text(address, "/invitations/accept")).body
        assert "https://app.example.org/invitations/accept?token=" in body
        token = await token_from_mail(mail, address)
        async with client.app.state.db.session() as session:
            stored = (
                await session.execute(
                    text("SELECT token_hash FROM auth.invitations WHERE id = :id"), {"id": created.json()["id"]}
                )
            ).scalar_one()
        assert token not in stored and len(stored) == 64


async def test_accepting_a_circle_invitation_publishes_it_and_the_token_is_single_use(client, circles, mail):
    _, admin = await make_admin(client)
    admin_id = await user_id_of(client, admin)
    address = new_email()
    circle_id = await circles.open_circle(admin)
    created = await invite(client, admin, email=address, circle_id=circle_id)
    token = await token_from_mail(mail, address)
    # Any signed-in account may accept a circle invitation: the token proves the email arrived.
    _, joiner = await signed_up(client)
    joiner_id = await user_id_of(client, joiner)
    accepted = await client.post(f"{INVITATIONS}/accept", json={"token": token}, headers=bearer(joiner))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {
        "invitation_id": created.json()["id"],
        "circle_id": circle_id,
        "event_id": None,
        "roles_granted": [],
    }
    [event] = await events_of(client, "invitation.accepted", joiner_id)
    assert event["payload"] == {
        "invitation_id": created.json()["id"],
        "user_id": joiner_id,
        "circle_id": circle_id,
        "event_id": None,
        "invited_by": admin_id,
        "circle_role": None,
    }
    again = await client.post(f"{INVITATIONS}/accept", json={"token": token}, headers=bearer(joiner))
    assert again.status_code == 404
    listed = (await client.get(INVITATIONS, headers=bearer(admin))).json()["items"]
    [mine] = [item for item in listed if item["id"] == created.json()["id"]]
    assert (mine["status"], mine["accepted_by"]) == ("accepted", joiner_id)


async def test_accepting_needs_a_signed_in_user(client):
    assert (await client.post(f"{INVITATIONS}/accept", json={"token": "x" * 43})).status_code == 401


async def test_an_expired_invitation_cannot_be_accepted(client, circles, mail):
    _, admin = await make_admin(client)
    address = new_email()
    created = await invite(client, admin, email=address, circle_id=await circles.open_circle(admin))
    token = await token_from_mail(mail, address)
    async with client.app.state.db.session() as session:
        await session.execute(
            text("UPDATE auth.invitations SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": created.json()["id"]},
        )
        await session.commit()
    _, joiner = await signed_up(client)
    response = await client.post(f"{INVITATIONS}/accept", json={"token": token}, headers=bearer(joiner))
    assert response.status_code == 404
    listed = (await client.get(INVITATIONS, headers=bearer(admin))).json()["items"]
    assert [i["status"] for i in listed if i["id"] == created.json()["id"]] == ["expired"]


async def test_the_default_lifetime_is_seven_days(client):
    _, admin = await make_admin(client)
    created = (await invite(client, admin, email=new_email())).json()
    async with client.app.state.db.session() as session:
        seconds = (
            await session.execute(
                text("SELECT extract(epoch FROM expires_at - created_at) FROM auth.invitations WHERE id = :id"),
                {"id": created["id"]},
            )
        ).scalar_one()
    assert abs(float(seconds) - 7 * 24 * 3600) < 60


async def test_a_revoked_invitation_cannot_be_accepted_and_only_its_sender_or_an_admin_revokes(client, circles, mail):
    _, ptm = await make_admin(client, roles=("ptm",))
    _, other_ptm = await make_admin(client, roles=("ptm",))
    _, admin = await make_admin(client)
    address = new_email()
    created = (await invite(client, ptm, email=address, event_id=await circles.open_event(ptm))).json()
    token = await token_from_mail(mail, address)
    path = f"{INVITATIONS}/{created['id']}"
    assert (await client.delete(path, headers=bearer(other_ptm))).status_code == 404
    assert (await client.post(f"{path}/resend", headers=bearer(other_ptm))).status_code == 404
    assert created["id"] not in {
        i["id"] for i in (await client.get(INVITATIONS, headers=bearer(other_ptm))).json()["items"]
    }
    assert created["id"] in {i["id"] for i in (await client.get(INVITATIONS, headers=bearer(admin))).json()["items"]}
    assert (await client.delete(path, headers=bearer(ptm))).status_code == 204
    _, joiner = await signed_up(client)
    response = await client.post(f"{INVITATIONS}/accept", json={"token": token}, headers=bearer(joiner))
    assert response.status_code == 404
    assert (await client.post(f"{path}/resend", headers=bearer(ptm))).status_code == 409


async def test_resend_kills_the_old_token_and_the_new_one_works(client, circles, mail):
    _, admin = await make_admin(client)
    address = new_email()
    created = (await invite(client, admin, email=address, circle_id=await circles.open_circle(admin))).json()
    old = await token_from_mail(mail, address)
    resent = await client.post(f"{INVITATIONS}/{created['id']}/resend", headers=bearer(admin))
    assert resent.status_code == 200 and resent.json()["id"] == created["id"]
    new = await token_from_mail(mail, address, nth=2)
    assert new != old
    _, joiner = await signed_up(client)
    assert (await client.post(f"{INVITATIONS}/accept", json={"token": old}, headers=bearer(joiner))).status_code == 404
    assert (await client.post(f"{INVITATIONS}/accept", json={"token": new}, headers=bearer(joiner))).status_code == 200


async def test_roles_are_granted_only_to_the_invited_verified_address_and_audited(client, mail):
    _, admin = await make_admin(client)
    admin_id = await user_id_of(client, admin)
    address, invitee = await verified_user(client, mail)
    created = (await invite(client, admin, email=address, roles=["ptm", "support"])).json()
    token = await token_from_mail(mail, address)
    _, stranger = await signed_up(client)
    refused = await client.post(f"{INVITATIONS}/accept", json={"token": token}, headers=bearer(stranger))
    assert refused.status_code == 403
    accepted = await client.post(f"{INVITATIONS}/accept", json={"token": token}, headers=bearer(invitee))
    assert accepted.status_code == 200, accepted.text
    assert sorted(accepted.json()["roles_granted"]) == ["ptm", "support"]
    invitee_id = await user_id_of(client, invitee)
    async with client.app.state.db.session() as session:
        roles = (
            await session.execute(text("SELECT roles FROM auth.users WHERE id = :id"), {"id": invitee_id})
        ).scalar_one()
        audit = (
            await session.execute(
                text("SELECT actor_id, action, details FROM auth.audit_log WHERE subject_id = :id"), {"id": invitee_id}
            )
        ).one()
    assert {"member", "ptm", "support"} == set(roles)
    assert (str(audit.actor_id), audit.action, audit.details["invitation_id"]) == (
        admin_id,
        "roles_changed",
        created["id"],
    )


async def test_sending_is_rate_limited_per_inviter(app_client):
    async with app_client(invitations_per_hour=2) as client:
        _, admin = await make_admin(client)
        _, other_admin = await make_admin(client)
        assert [(await invite(client, admin, email=new_email())).status_code for _ in range(3)] == [201, 201, 429]
        assert (await invite(client, other_admin, email=new_email())).status_code == 201


async def test_a_facilitator_invites_into_his_circle_only(client, circles):
    _, ben = await make_admin(client, roles=("facilitator",))
    _, other = await make_admin(client, roles=("facilitator",))
    his = await circles.open_circle(ben)
    theirs = await circles.open_circle(other)
    assert (await invite(client, ben, email=new_email(), circle_id=his)).status_code == 201
    refused = [
        await invite(client, ben, email=new_email(), circle_id=circle_id) for circle_id in (theirs, str(uuid.uuid4()))
    ]
    # Another's circle and a circle that does not exist get the same answer.
    assert [r.status_code for r in refused] == [403, 403]
    assert refused[0].json() == refused[1].json()


async def test_an_admin_cannot_invite_into_an_unknown_or_archived_circle(client, circles):
    _, admin = await make_admin(client)
    archived = await circles.open_circle(admin)
    await circles.archive(admin, archived)
    for circle_id in (archived, str(uuid.uuid4())):
        assert (await invite(client, admin, email=new_email(), circle_id=circle_id)).status_code == 422


async def test_circle_invitations_are_503_when_circles_does_not_answer(app_client, mail):
    async with app_client(circles_url=f"http://127.0.0.1:{free_port()}", internal_call_timeout_seconds=0.5) as client:
        _, admin = await make_admin(client)
        address = new_email()
        response = await invite(client, admin, email=address, circle_id=str(uuid.uuid4()))
        assert response.status_code == 503 and "circles" in response.json()["detail"]
        async with client.app.state.db.session() as session:
            count = (
                await session.execute(text("SELECT count(*) FROM auth.invitations WHERE email = :e"), {"e": address})
            ).scalar_one()
        assert count == 0


async def test_erasing_an_account_leaves_no_invitation_with_its_address(client, circles, mail):
    _, admin = await make_admin(client)
    address, invitee = await signed_up(client)
    accepted = (await invite(client, admin, email=address, circle_id=await circles.open_circle(admin))).json()
    token = await token_from_mail(mail, address)
    assert (
        await client.post(f"{INVITATIONS}/accept", json={"token": token}, headers=bearer(invitee))
    ).status_code == 200
    still_open = (await invite(client, admin, email=address)).json()
    erased = await client.request("DELETE", "/api/v1/auth/me", json={"password": PASSWORD}, headers=bearer(invitee))
    assert erased.status_code == 204, erased.text
    async with client.app.state.db.session() as session:
        rows = (
            await session.execute(
                text("SELECT id, email FROM auth.invitations WHERE id IN (:a, :b)"),
                {"a": accepted["id"], "b": still_open["id"]},
            )
        ).all()
    assert [(str(row.id), row.email) for row in rows] == [(accepted["id"], "erased@erased.invalid")]


async def test_an_unknown_or_cancelled_event_takes_no_staff_invitation(client, circles):
    _, ptm = await make_admin(client, roles=("ptm",))
    cancelled = await circles.open_event(ptm)
    await circles.cancel_event(ptm, cancelled)
    for event_id in (cancelled, str(uuid.uuid4())):
        assert (await invite(client, ptm, email=new_email(), event_id=event_id)).status_code == 422
