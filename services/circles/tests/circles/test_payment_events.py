"""Payment status follows payments' obligation.* events; overdue flags for a human follow-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .support import deliver, make_circle, make_facilitator, make_member, make_user, notifications, processed


async def paying_member(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, dues={"amount": 2500, "currency": "EUR"})
    joe = await make_member(api, circle, name="Joe")
    membership_id = await api.scalar(
        "SELECT id FROM circles.memberships WHERE user_id = :id AND status = 'active'", id=joe.id
    )
    return ben, circle, joe, membership_id


async def payment_event(api, event_type, payload, occurred_at=None):
    event_id = await deliver(
        api, api.settings.payments_events_stream, event_type, payload, producer="payments", occurred_at=occurred_at
    )
    await processed(api, event_id)


async def status_of(api, membership_id):
    row = (
        await api.rows("SELECT payment_status, flagged_at FROM circles.memberships WHERE id = :id", id=membership_id)
    )[0]
    return row["payment_status"], row["flagged_at"] is not None


async def test_settled_makes_the_membership_current(api):
    _ben, circle, joe, membership_id = await paying_member(api)
    assert await status_of(api, membership_id) == ("pending", False)
    await payment_event(
        api, "obligation.settled", {"obligation_id": "o1", "kind": "membership", "membership_id": str(membership_id)}
    )
    assert await status_of(api, membership_id) == ("current", False)
    me = [m for m in (await api.get(joe, "/api/v1/members/me/memberships")).json() if m["circle_id"] == circle["id"]]
    assert me[0]["payment_status"] == "current"


async def test_overdue_flags_for_follow_up_and_never_removes(api):
    ben, circle, joe, membership_id = await paying_member(api)
    await payment_event(
        api,
        "obligation.overdue",
        {"obligation_id": "o1", "kind": "membership", "circle_id": circle["id"], "user_id": str(joe.id)},
    )
    assert await status_of(api, membership_id) == ("overdue", True)
    assert await api.scalar("SELECT status FROM circles.memberships WHERE id = :id", id=membership_id) == "active"
    told = await notifications(api, "circle.member_payment_overdue")
    assert told[0]["recipient_user_ids"] == [str(ben.id)] and told[0]["data"]["user_id"] == str(joe.id)

    flagged = await api.get(ben, f"/api/v1/circles/{circle['id']}/flagged-members")
    assert [(f["display_name"], f["payment_status"]) for f in flagged.json()["items"]] == [("Joe", "overdue")]
    support = await make_user(api, "support")
    assert len((await api.get(support, "/api/v1/members/flagged")).json()["items"]) == 1
    assert len((await api.get(ben, "/api/v1/members/flagged")).json()["items"]) == 1
    assert (await api.get(joe, f"/api/v1/circles/{circle['id']}/flagged-members")).status_code == 403
    assert (await api.get(joe, "/api/v1/members/flagged")).status_code == 403
    assert (
        await api.get(await make_user(api, "ptm"), f"/api/v1/circles/{circle['id']}/flagged-members")
    ).status_code == 403

    await payment_event(
        api, "obligation.settled", {"obligation_id": "o1", "kind": "membership", "membership_id": str(membership_id)}
    )
    assert await status_of(api, membership_id) == ("current", False)
    assert (await api.get(ben, f"/api/v1/circles/{circle['id']}/flagged-members")).json()["items"] == []


async def test_dues_the_member_cancelled_are_stopped_and_flagged_without_removing_him(api):
    ben, circle, joe, membership_id = await paying_member(api)
    await payment_event(
        api,
        "obligation.cancelled",
        {
            "obligation_id": "o1",
            "kind": "membership",
            "membership_id": str(membership_id),
            "reason": "member_cancelled",
        },
    )
    assert await status_of(api, membership_id) == ("stopped", True)
    assert await api.scalar("SELECT status FROM circles.memberships WHERE id = :id", id=membership_id) == "active"
    flagged = await api.get(ben, f"/api/v1/circles/{circle['id']}/flagged-members")
    assert [(f["display_name"], f["payment_status"]) for f in flagged.json()["items"]] == [("Joe", "stopped")]
    me = [m for m in (await api.get(joe, "/api/v1/members/me/memberships")).json() if m["circle_id"] == circle["id"]]
    assert me[0]["payment_status"] == "stopped"


async def test_paused_and_waived_are_recorded(api):
    _ben, _circle, _joe, membership_id = await paying_member(api)
    await payment_event(api, "obligation.paused", {"kind": "membership", "membership_id": str(membership_id)})
    assert await status_of(api, membership_id) == ("paused", False)
    await payment_event(api, "obligation.waived", {"kind": "membership", "membership_id": str(membership_id)})
    assert await status_of(api, membership_id) == ("waived", False)


async def test_late_and_duplicate_payment_events_change_nothing(api):
    _ben, _circle, _joe, membership_id = await paying_member(api)
    now = datetime.now(UTC)
    await payment_event(api, "obligation.settled", {"membership_id": str(membership_id)}, occurred_at=now)
    await payment_event(
        api, "obligation.overdue", {"membership_id": str(membership_id)}, occurred_at=now - timedelta(days=3)
    )
    assert await status_of(api, membership_id) == ("current", False)
    event_id = await deliver(
        api,
        api.settings.payments_events_stream,
        "obligation.overdue",
        {"membership_id": str(membership_id)},
        producer="payments",
        occurred_at=now + timedelta(seconds=1),
    )
    await processed(api, event_id)
    # the same event delivered again (relay retry): applied once, one notification only
    fields = {"type": "obligation.overdue"}
    entries = await api.app.state.redis.xrange(api.settings.payments_events_stream)
    await api.app.state.redis.xadd(api.settings.payments_events_stream, entries[-1][1])
    await api.app.state.redis.xadd(
        api.settings.payments_events_stream, {**fields, "envelope": "{}"}
    )  # garbage is parked
    await payment_event(api, "obligation.paused", {"membership_id": "not-a-uuid"})
    assert len(await notifications(api, "circle.member_payment_overdue")) == 1
    assert await status_of(api, membership_id) == ("overdue", True)


async def test_registration_obligations_are_ignored(api):
    _ben, _circle, joe, membership_id = await paying_member(api)
    await payment_event(
        api, "obligation.settled", {"kind": "registration", "registration_id": "r1", "user_id": str(joe.id)}
    )
    assert await status_of(api, membership_id) == ("pending", False)


async def test_no_api_lets_a_client_set_payment_status(api):
    ben, circle, _joe, _membership_id = await paying_member(api)
    response = await api.post(
        ben,
        f"/api/v1/circles/{circle['id']}/members",
        {"user_id": str((await make_user(api)).id), "payment_status": "waived"},
    )
    assert response.status_code == 422
