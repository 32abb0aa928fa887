"""The registration hot path: one locking statement reads every fact the checks need, so it must
apply the same visibility rules as everywhere else; it runs in few statements and no dependency
of the route goes through the thread pool; an event with overdue holds takes the slow path and
gives the newcomer the seat those holds free."""

from __future__ import annotations

import inspect
import uuid
from datetime import timedelta

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import event as sa_event
from sqlalchemy import select

from mcm_circles.events import repository
from mcm_circles.events.bus import NO_MESSAGE_ROW
from mcm_circles.events.registrations.router import registration_router
from mcm_circles.events.repository import EventRepository
from mcm_circles.outbox import EVENTS
from mcm_shared.driver import DriverConnection, driver_connection

from .support import START, World

ROUTE = "/api/v1/events/{event_id}/registrations"
PAID = {"price": {"amount": 4000, "currency": "EUR"}}


async def test_only_people_who_may_see_the_event_can_register(world: World):
    ptm, facilitator, member, outsider, guest = (
        await world.person("ptm"),
        await world.person(),
        await world.person(),
        await world.person(),
        await world.person(),
    )
    circle = await world.circle(facilitator, member)
    for_circle = await world.published_event(ptm, visibility="circles", circle_ids=[str(circle)])
    invite_only = await world.published_event(ptm, visibility="invited", invited_user_ids=[str(guest.user_id)])
    draft = await world.create_event(ptm)

    for person, event in ((outsider, for_circle), (outsider, invite_only), (member, invite_only), (member, draft)):
        refused = await world.client.post(
            f"/api/v1/events/{event['id']}/registrations", json={}, headers=person.headers
        )
        assert refused.status_code == 404, (person.name, event["visibility"])
    assert (await world.register(member, for_circle["id"]))["status"] == "confirmed"
    assert (await world.register(facilitator, for_circle["id"]))["status"] == "confirmed"
    assert (await world.register(guest, invite_only["id"]))["status"] == "confirmed"
    # A manager sees a draft but may not register for it: registration is not open.
    closed = await world.client.post(f"/api/v1/events/{draft['id']}/registrations", json={}, headers=ptm.headers)
    assert closed.status_code == 409 and closed.json()["type"].endswith("/registration-closed")


async def test_a_seat_a_held_seat_or_the_waitlist_takes_two_autocommitted_statements(world: World, monkeypatch):
    """Acknowledged means durable, so every commit waits for the disk: the usual registration is
    one read and ONE autocommitted statement (no BEGIN/COMMIT round trips; the event row locked
    for that statement only), a seat held for payment too (its outbox row in the same statement).
    The at-once statements run on the driver connection (driver.py), the others through
    SQLAlchemy: both are counted."""
    ptm = await world.person("ptm")
    free = await world.published_event(ptm, capacity=1)
    paid = await world.published_event(ptm, capacity=5, **PAID)
    first, second, third = await world.person(), await world.person(), await world.person()
    statements: list[tuple[str, bool]] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        autocommit = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        statements.append((statement.split(None, 1)[0].upper(), autocommit))

    fetchrow = DriverConnection.fetchrow

    async def count_driver(self: DriverConnection, statement, values):
        statements.append((statement.sql.split(None, 1)[0].upper(), not self.driver.is_in_transaction()))
        return await fetchrow(self, statement, values)

    monkeypatch.setattr(DriverConnection, "fetchrow", count_driver)
    engine = world.app.state.db.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", count)
    try:
        for person, event, status, expected in (
            (first, free, "confirmed", [("SELECT", True), ("WITH", True)]),
            (second, free, "waitlisted", [("SELECT", True), ("WITH", True)]),
            (third, paid, "pending_payment", [("SELECT", True), ("WITH", True)]),
        ):
            statements.clear()
            assert (await world.register(person, event["id"]))["status"] == status
            assert statements == expected, status
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
    seen = await world.get(f"/api/v1/events/{free['id']}", ptm)
    assert (seen["confirmed_count"], seen["waitlist_count"]) == (1, 1)


async def test_no_dependency_of_the_registration_route_runs_in_the_thread_pool(world: World):
    [route] = [
        r for r in registration_router.routes if isinstance(r, APIRoute) and r.path == ROUTE and "POST" in r.methods
    ]

    def sync_calls(dependant: Dependant) -> list[str]:
        found = []
        for sub in dependant.dependencies:
            call = sub.call
            if call is not None and not any(
                check(call) or check(getattr(call, "__call__", None))  # noqa: B004
                for check in (inspect.iscoroutinefunction, inspect.isasyncgenfunction)
            ):
                found.append(getattr(call, "__qualname__", repr(call)))
            found += sync_calls(sub)
        return found

    assert sync_calls(route.dependant) == []


async def test_the_openapi_document_lists_both_success_answers_of_registration(world: World):
    responses = world.app.openapi()["paths"][ROUTE]["post"]["responses"]
    for status in ("200", "201"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/Registration"), status


async def test_registering_beside_overdue_holds_releases_them_and_the_line_moves_first(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=2, **PAID)
    holder, other_holder, waiting, latecomer = (
        await world.person(),
        await world.person(),
        await world.person(),
        await world.person(),
    )
    held = await world.register(holder, event["id"])
    await world.register(other_holder, event["id"])  # the second seat, held too
    assert (await world.register(waiting, event["id"]))["waitlist_position"] == 1
    world.clock.advance(minutes=31)  # both holds are overdue; nobody ran the sweep

    # Two seats free up: the waiting person is promoted first, the next one takes the other seat.
    again = await world.register(latecomer, event["id"])
    assert (again["status"], again["waitlist_position"]) == ("pending_payment", None)
    assert again["hold_expires_at"] == (START + timedelta(minutes=61)).isoformat().replace("+00:00", "Z")
    promoted = await world.get(f"/api/v1/events/{event['id']}/registrations/me", waiting)
    assert promoted["status"] == "pending_payment"
    assert (await world.get(f"/api/v1/events/{event['id']}/registrations/me", holder))["status"] == "expired"
    assert await world.outbox("registration.expired", registration_id=held["id"])
    assert await world.outbox("registration.payment_required", registration_id=again["id"])
    seen = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (seen["seats_available"], seen["waitlist_count"], seen["confirmed_count"]) == (0, 0, 0)


async def test_a_seat_held_at_once_publishes_the_same_message_as_the_locked_path(world: World):
    """The at-once statement writes `registration.payment_required` itself (same statement, same
    commit): the row must be the one `seats.admit`/`take_seat` publish on the locked path."""
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1, **PAID)
    holder, latecomer = await world.person(), await world.person()
    at_once = await world.register(holder, event["id"])  # a free seat, nobody waiting: at once
    world.clock.advance(minutes=31)  # the hold is overdue: the next registration takes the locked path
    locked = await world.register(latecomer, event["id"])
    assert (at_once["status"], locked["status"]) == ("pending_payment", "pending_payment")

    outbox = EVENTS.outbox
    async with world.db.session() as session:
        rows = {
            row.payload["registration_id"]: row
            for row in await session.execute(
                select(outbox).where(
                    outbox.c.event_type == "registration.payment_required", outbox.c.event_key == event["id"]
                )
            )
        }
    first, second = rows[at_once["id"]], rows[locked["id"]]
    for column in ("stream", "producer", "event_key"):
        assert getattr(first, column) == getattr(second, column), column
    assert first.id != second.id and first.position < second.position
    assert first.payload == {
        "registration_id": at_once["id"],
        "event_id": event["id"],
        "user_id": str(holder.user_id),
        "amount": 4000,
        "currency": "EUR",
        "instalments": 1,
        "hold_expires_at": (START + timedelta(minutes=30)).isoformat(),
        "title": event["title"],
    }
    assert set(first.payload) == set(second.payload)
    assert second.payload["hold_expires_at"] == (START + timedelta(minutes=61)).isoformat()


async def test_no_message_without_a_held_seat(world: World):
    """The outbox row of the at-once statement is written only with a held seat: a free event's
    seat and the waitlist of a paid one publish nothing."""
    ptm = await world.person("ptm")
    free = await world.published_event(ptm, capacity=1)
    paid = await world.published_event(ptm, capacity=1, **PAID)
    for event in (free, free, paid, paid):
        await world.register(await world.person(), event["id"])
    assert await world.outbox("registration.payment_required", event_id=free["id"]) == []
    assert len(await world.outbox("registration.payment_required", event_id=paid["id"])) == 1


async def test_without_a_message_the_statement_never_holds_a_seat(world: World):
    """A caller that expected no held seat (the event looked full) passes no message: if a seat
    is free under the lock after all, the statement decides nothing (no row, nothing written)
    and the locked path, which publishes the message, holds the seat."""
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1, **PAID)
    person = await world.person()
    values = {
        "id": uuid.uuid4(),
        "event_id": uuid.UUID(event["id"]),
        "user_id": person.user_id,
        "amount": 4000,
        "currency": "EUR",
        "instalments": 1,
        "answers": {},
        "declared_birth_date": None,
        "sponsor_user_id": None,
        "idempotency_key": None,
    }
    async with world.db.session() as session, driver_connection(session.bind) as connection:
        admitted = await EventRepository(session).admit_at_once(
            connection, values, world.clock.now(), world.clock.now() + timedelta(minutes=30), NO_MESSAGE_ROW
        )
    assert admitted is None
    seen = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (seen["seats_available"], seen["waitlist_count"]) == (1, 0)
    assert (await world.register(person, event["id"]))["status"] == "pending_payment"
    assert len(await world.outbox("registration.payment_required", event_id=event["id"])) == 1


async def test_the_overdue_hold_probe_uses_the_holds_index_in_a_prepared_plan(world: World):
    """asyncpg prepares the facts statement once per connection and PostgreSQL soon runs it with a
    generic plan: the hold status must be a literal there, or the partial index of holds cannot
    be used and every registration of the event is read to find none overdue."""
    nil = "'00000000-0000-0000-0000-000000000000'"
    async with driver_connection(world.db.engine) as connection:
        driver = connection.driver
        await driver.execute("PREPARE facts_probe AS " + repository._REGISTRATION_FACTS_UNLOCKED.sql)
        await driver.execute("SET plan_cache_mode = force_generic_plan")
        try:
            rows = await driver.fetch(
                f"EXPLAIN EXECUTE facts_probe({nil}, 'active', 'facilitator', 1, 1, now(), {nil})"
            )
        finally:
            await driver.execute("RESET plan_cache_mode; DEALLOCATE facts_probe")
    plan = "\n".join(row[0] for row in rows)
    probe = plan[plan.rindex("event_registrations") - 200 :]
    assert "ix_event_registrations_holds" in probe, plan
