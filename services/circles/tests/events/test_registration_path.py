"""The registration hot path: one locking statement reads every fact the checks need, so it must
apply the same visibility rules as everywhere else; it runs in few statements and no dependency
of the route goes through the thread pool; an event with overdue holds takes the slow path and
gives the newcomer the seat those holds free."""

from __future__ import annotations

import inspect
from datetime import timedelta

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import event as sa_event

from mcm_circles.events.registrations.router import router as registrations_router
from mcm_shared.driver import DriverConnection

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


async def test_a_free_seat_or_the_waitlist_takes_two_autocommitted_statements(world: World, monkeypatch):
    """Acknowledged means durable, so every commit waits for the disk: the usual registration is
    one read and ONE autocommitted statement (no BEGIN/COMMIT round trips; the event row locked
    for that statement only). A seat held for payment takes the locked transaction. The at-once
    statements run on the driver connection (driver.py), the others through SQLAlchemy: both
    are counted."""
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
            # Read (unlocked), then the locked path: lock and read; insert and count; the outbox row.
            (third, paid, "pending_payment", [("SELECT", True), ("SELECT", False), ("WITH", False), ("INSERT", False)]),
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
        r for r in registrations_router.routes if isinstance(r, APIRoute) and r.path == ROUTE and "POST" in r.methods
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
