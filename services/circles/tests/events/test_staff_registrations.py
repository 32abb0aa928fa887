"""Staff register and cancel on a member's behalf, and decide applications to events that
require approval: who may (403 for people who see the event, 404 for people who do not), the
member's own capacity, waitlist, payment and refund rules, an audit row and a notice each time."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from mcm_circles.events.registrations.bus import settle

from .support import START, Person, World
from .test_payments_link import apply, envelope

PAID = {"price": {"amount": 9000, "currency": "EUR"}}


async def staff_register(world: World, staff: Person, event_id: str, member: Person, expect: int = 201, **body: Any):
    response = await world.client.post(
        f"/api/v1/events/{event_id}/registrations",
        json={"user_id": str(member.user_id), **body},
        headers=staff.headers,
    )
    assert response.status_code == expect, response.text
    return response.json()


async def staff_cancel(world: World, staff: Person, event_id: str, member: Person, expect: int = 200, reason=None):
    response = await world.client.delete(
        f"/api/v1/events/{event_id}/registrations/{member.user_id}",
        params={"reason": reason} if reason else None,
        headers=staff.headers,
    )
    assert response.status_code == expect, response.text
    return response.json()


async def audit_rows(world: World, subject: Person) -> list[dict[str, Any]]:
    async with world.db.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT action, actor_user_id, subject_user_id, reason, details FROM circles.staff_actions "
                "WHERE subject_user_id = :s ORDER BY created_at, action"
            ),
            {"s": subject.user_id},
        )
        return [dict(row._mapping) for row in rows]


def notices_for(payloads: list[dict[str, Any]], person: Person) -> list[dict[str, Any]]:
    return [p for p in payloads if p["recipient_user_ids"] == [str(person.user_id)]]


async def test_a_ptm_registers_a_member_on_his_behalf_audited_and_notified(world: World):
    ptm = await world.person("ptm")
    member = await world.person()
    event = await world.published_event(ptm, capacity=1)
    registration = await staff_register(world, ptm, event["id"], member, reason="asked by phone")
    assert registration["status"] == "confirmed"
    mine = await world.get(f"/api/v1/events/{event['id']}/registrations/me", member)
    assert (mine["id"], mine["status"]) == (registration["id"], "confirmed")
    [row] = await audit_rows(world, member)
    assert (row["action"], row["actor_user_id"], row["reason"]) == (
        "event.registration.registered_on_behalf",
        ptm.user_id,
        "asked by phone",
    )
    assert row["details"]["registration_id"] == registration["id"]
    [notice] = notices_for(await world.outbox("notification.requested"), member)
    assert notice["data"]["event_id"] == event["id"] and notice["data"]["status"] == "confirmed"

    # Capacity is the member's own rule: the next one waits; a second registration is a 409.
    other = await world.person()
    waiting = await staff_register(world, ptm, event["id"], other)
    assert (waiting["status"], waiting["waitlist_position"]) == ("waitlisted", 1)
    await staff_register(world, ptm, event["id"], member, expect=409)
    body = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (body["confirmed_count"], body["waitlist_count"], body["seats_available"]) == (1, 1, 0)

    # An unknown person is a field error, not a registration.
    stranger = Person(uuid.uuid4(), "nobody", {})
    await staff_register(world, ptm, event["id"], stranger, expect=422)


async def test_only_the_events_managers_act_on_someones_behalf(world: World):
    ptm = await world.person("ptm")
    member, other, care, support = (
        await world.person(),
        await world.person(),
        await world.person(),
        await world.person("support"),
    )
    event = await world.published_event(ptm)
    await world.post(
        f"/api/v1/events/{event['id']}/staff", ptm, 201, {"user_id": str(care.user_id), "role": "care_team"}
    )
    for outsider in (other, care, support):
        await staff_register(world, outsider, event["id"], member, expect=403)
    await world.register(member, event["id"])
    for outsider in (other, care, support):
        await staff_cancel(world, outsider, event["id"], member, expect=403)
    # An event the caller cannot see is a 404, as if it did not exist.
    hidden = await world.published_event(ptm, visibility="invited", invited_user_ids=[str(member.user_id)])
    await staff_register(world, other, hidden["id"], member, expect=404)
    await staff_cancel(world, other, hidden["id"], member, expect=404)
    # A facilitator manages the events of his circle, and so acts for people on them.
    facilitator = await world.person()
    circle_id = await world.circle(facilitator)
    own = await world.published_event(facilitator, circle_ids=[str(circle_id)])
    assert (await staff_register(world, facilitator, own["id"], other))["status"] == "confirmed"
    assert await audit_rows(world, member) == []


async def test_a_paid_registration_on_behalf_holds_a_seat_for_payment(world: World):
    ptm = await world.person("ptm")
    member = await world.person()
    event = await world.published_event(ptm, **PAID)
    registration = await staff_register(world, ptm, event["id"], member)
    assert registration["status"] == "pending_payment" and registration["hold_expires_at"] is not None
    [required] = await world.outbox("registration.payment_required", registration_id=registration["id"])
    assert (required["user_id"], required["amount"]) == (str(member.user_id), 9000)


async def test_cancelling_on_behalf_applies_and_states_the_members_refund_rule(world: World):
    ptm = await world.person("ptm")
    early, late, waiting = await world.person(), await world.person(), await world.person()
    event = await world.published_event(ptm, capacity=2, **PAID)
    paid = {}
    for person in (early, late):
        registration = await world.register(person, event["id"])
        await apply(world, settle, envelope("obligation.settled", registration["id"], at=world.clock.now()))
        paid[person.user_id] = registration["id"]
    await world.register(waiting, event["id"])  # full: waits

    cancelled = await staff_cancel(world, ptm, event["id"], early, reason="double booking")
    assert (cancelled["status"], cancelled["cancel_reason"], cancelled["refund"]) == ("cancelled", "by_staff", "full")
    [message] = await world.outbox("registration.cancelled", registration_id=paid[early.user_id])
    assert (message["refund"], message["reason"]) == ("full", "by_staff")
    # The freed seat goes to the first waiting person, as when the member cancels himself.
    assert (await world.get(f"/api/v1/events/{event['id']}/registrations/me", waiting))["status"] == "pending_payment"

    # Inside the refund cut-off (72 h before the start) nothing comes back, as for the member.
    world.clock.set(START + timedelta(days=30) - timedelta(hours=24))
    cancelled = await staff_cancel(world, ptm, event["id"], late)
    assert (cancelled["refund"], cancelled["cancel_reason"]) == ("none", "by_staff")
    [row] = await audit_rows(world, late)
    assert row["action"] == "event.registration.cancelled_on_behalf"
    assert (row["details"]["refund"], row["details"]["previous_status"], row["reason"]) == ("none", "confirmed", None)
    [row] = await audit_rows(world, early)
    assert row["reason"] == "double booking"
    [notice] = [n for n in notices_for(await world.outbox("notification.requested"), late) if "refund" in n["data"]]
    assert notice["data"]["refund"] == "none"
    # No active registration left: 404.
    await staff_cancel(world, ptm, event["id"], late, expect=404)


async def approval_event(world: World, manager: Person, **overrides: Any) -> dict[str, Any]:
    event = await world.published_event(manager, requires_approval=True, **overrides)
    assert event["requires_approval"] is True
    return event


async def test_applications_take_no_seat_until_approved_and_approval_follows_the_seat_rules(world: World):
    ptm = await world.person("ptm")
    first, second, third = await world.person(), await world.person(), await world.person()
    event = await approval_event(world, ptm, capacity=1)
    applications = {}
    for person in (first, second, third):
        applied = await world.register(person, event["id"])
        assert (applied["status"], applied["waitlist_position"], applied["hold_expires_at"]) == (
            "pending_approval",
            None,
            None,
        )
        applications[person.user_id] = applied["id"]
    body = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (body["confirmed_count"], body["waitlist_count"], body["seats_available"]) == (0, 0, 1)
    await world.register(first, event["id"], expect=409)  # one application per person

    base = f"/api/v1/events/{event['id']}/registrations"
    approved = await world.post(f"{base}/{applications[first.user_id]}/approve", ptm, json={"reason": "known"})
    assert approved["status"] == "confirmed"
    approved = await world.post(f"{base}/{applications[second.user_id]}/approve", ptm)
    assert (approved["status"], approved["waitlist_position"]) == ("waitlisted", 1)
    declined = await world.post(f"{base}/{applications[third.user_id]}/decline", ptm, json={"reason": "not this time"})
    assert (declined["status"], declined["decline_reason"]) == ("declined", "not this time")
    body = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (body["confirmed_count"], body["waitlist_count"], body["seats_available"]) == (1, 1, 0)

    # Only an application can be decided; a decline needs a reason.
    await world.post(f"{base}/{applications[first.user_id]}/approve", ptm, 409)
    await world.post(f"{base}/{applications[third.user_id]}/decline", ptm, 409, {"reason": "again"})
    await world.post(f"{base}/{applications[second.user_id]}/decline", ptm, 422, {})
    await world.post(f"{base}/{uuid.uuid4()}/approve", ptm, 404)

    notices = await world.outbox("notification.requested")
    [approved_notice] = notices_for(notices, first)
    assert approved_notice["data"]["subject"].startswith("Your application was approved")
    [declined_notice] = notices_for(notices, third)
    assert "not this time" in declined_notice["data"]["message"]
    assert [row["action"] for row in await audit_rows(world, third)] == ["event.registration.declined"]
    [row] = await audit_rows(world, first)
    assert (row["action"], row["actor_user_id"], row["reason"]) == ("event.registration.approved", ptm.user_id, "known")
    # A declined member may apply again.
    assert (await world.register(third, event["id"]))["status"] == "pending_approval"


async def test_an_approved_paid_application_holds_a_seat_for_payment_and_a_withdrawn_one_tells_payments_nothing(
    world: World,
):
    ptm = await world.person("ptm")
    payer, withdrawer = await world.person(), await world.person()
    event = await approval_event(world, ptm, **PAID)
    applied = await world.register(payer, event["id"])
    assert await world.outbox("registration.payment_required", registration_id=applied["id"]) == []
    approved = await world.post(f"/api/v1/events/{event['id']}/registrations/{applied['id']}/approve", ptm)
    assert approved["status"] == "pending_payment"
    assert len(await world.outbox("registration.payment_required", registration_id=applied["id"])) == 1

    withdrawn = await world.register(withdrawer, event["id"])
    response = await world.client.delete(f"/api/v1/events/{event['id']}/registrations/me", headers=withdrawer.headers)
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert await world.outbox("registration.cancelled", registration_id=withdrawn["id"]) == []
    body = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (body["seats_available"], body["waitlist_count"]) == (event["capacity"] - 1, 0)


async def test_only_managers_decide_applications_and_staff_registration_is_the_approval(world: World):
    ptm = await world.person("ptm")
    member, other, care = await world.person(), await world.person(), await world.person()
    event = await approval_event(world, ptm)
    await world.post(
        f"/api/v1/events/{event['id']}/staff", ptm, 201, {"user_id": str(care.user_id), "role": "care_team"}
    )
    applied = await world.register(member, event["id"])
    base = f"/api/v1/events/{event['id']}/registrations/{applied['id']}"
    for outsider in (other, care):
        await world.post(f"{base}/approve", outsider, 403)
        await world.post(f"{base}/decline", outsider, 403, {"reason": "no"})
    hidden = await approval_event(world, ptm, visibility="invited", invited_user_ids=[str(member.user_id)])
    hidden_application = await world.register(member, hidden["id"])
    await world.post(f"/api/v1/events/{hidden['id']}/registrations/{hidden_application['id']}/approve", other, 404)
    # Staff registering someone is the approval: straight to the seat rules.
    assert (await staff_register(world, ptm, event["id"], other))["status"] == "confirmed"


async def test_the_approval_setting_is_part_of_the_event_and_editable(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm)
    assert event["requires_approval"] is False
    response = await world.client.patch(
        f"/api/v1/events/{event['id']}", json={"requires_approval": True}, headers=ptm.headers
    )
    assert (response.status_code, response.json()["requires_approval"]) == (200, True)
    assert (await world.register(await world.person(), event["id"]))["status"] == "pending_approval"


async def test_concurrent_approvals_and_staff_registrations_never_exceed_the_capacity(world: World):
    ptm, admin = await world.person("ptm"), await world.person("admin")
    event = await approval_event(world, ptm, capacity=3)
    applicants = [await world.person() for _ in range(8)]
    applications = [(await world.register(person, event["id"]))["id"] for person in applicants]
    walk_ins = [await world.person() for _ in range(4)]
    base = f"/api/v1/events/{event['id']}/registrations"
    results = await asyncio.gather(
        *(
            world.client.post(f"{base}/{application}/approve", headers=(ptm if i % 2 else admin).headers)
            for i, application in enumerate(applications)
        ),
        *(world.client.post(base, json={"user_id": str(person.user_id)}, headers=admin.headers) for person in walk_ins),
    )
    assert sorted(r.status_code for r in results) == [200] * 8 + [201] * 4
    statuses = [r.json()["status"] for r in results]
    assert statuses.count("confirmed") == 3 and statuses.count("waitlisted") == 9
    positions = sorted(r.json()["waitlist_position"] for r in results if r.json()["status"] == "waitlisted")
    assert positions == list(range(1, 10))
    body = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (body["confirmed_count"], body["waitlist_count"], body["seats_available"]) == (3, 9, 0)
