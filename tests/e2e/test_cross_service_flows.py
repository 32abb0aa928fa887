"""Flows that cross services, driven through the gateway on the real processes, with the same
mail sink, SMS sink and Stripe stand-in `make run` starts: dues paid by card, a failed renewal
settled by staff or by the member himself, a cancelled event refunded, emails and SMS that
arrive and work, revocation the gateway enforces at once, and auth's accounts reaching circles.

Waits are bounded polls (`eventually`), never fixed sleeps: each hop takes well under a second."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from e2ekit import (
    CARD_FAILS_ON_RENEWAL,
    CARD_PAYS,
    PASSWORD,
    Person,
    StripeStandIn,
    code_in,
    eventually,
    mail_to,
    published,
    sign_in,
    sign_up,
    sms_to,
    verify_email,
)

from mcm_devstack.platform import Platform

# A dozen people sign up and in from 127.0.0.1 within a minute; the per-address limit on
# credential endpoints (tested in tests/security) would otherwise throttle the flows themselves.
PLATFORM_ENV = {"RATE_LIMIT_CREDENTIAL_PER_MINUTE": "1000"}

REVOCATION_DEADLINE = 1.0  # ARCHITECTURE §4: the gateway rejects a revoked session within 1 s
REVOCATION_POLL = 0.05


@pytest.fixture(scope="module")
def api(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url("gateway"), timeout=20) as client:
        yield client


@pytest.fixture(scope="module")
def admin(api: httpx.Client, admin_credentials: tuple[str, str]) -> Person:
    return sign_in(api, *admin_credentials)


@pytest.fixture(scope="module")
def stripe(platform: Platform) -> Iterator[StripeStandIn]:
    standin = StripeStandIn(platform)
    yield standin
    standin.close()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else None


def new_circle(api: httpx.Client, admin: Person, *, dues: int) -> dict[str, Any]:
    return ok(
        api.post(
            "/api/v1/circles",
            headers=admin.auth,
            json={
                "name": f"Tuesday circle {uuid.uuid4().hex[:6]}",
                "schedule": {"weekday": "tuesday", "time": "19:30", "timezone": "Europe/Berlin"},
                "location": {"city": "Berlin"},
                "dues": {"amount": dues, "currency": "EUR"},
            },
        ),
        201,
    )


def obligation_of(api: httpx.Client, person: Person, **match: str) -> dict[str, Any]:
    """The person's obligation whose fields equal `match`, once payments has created it."""

    def mine() -> list[dict[str, Any]]:
        items = ok(api.get("/api/v1/payments/obligations", headers=person.auth))["items"]
        return [item for item in items if all(item.get(key) == value for key, value in match.items())]

    return eventually(mine, bool, what=f"obligation {match} of {person.display_name}")[0]


def obligation_status(api: httpx.Client, person: Person, obligation_id: str, status: str) -> dict[str, Any]:
    return eventually(
        lambda: ok(api.get(f"/api/v1/payments/obligations/{obligation_id}", headers=person.auth)),
        lambda o: o["status"] == status,
        what=f"obligation {obligation_id} {status}",
    )


def my_membership(api: httpx.Client, person: Person, circle_id: str, payment_status: str) -> dict[str, Any]:
    def membership() -> dict[str, Any] | None:
        mine = ok(api.get("/api/v1/members/me/memberships", headers=person.auth))
        return next((m for m in mine if m["circle_id"] == circle_id), None)

    return eventually(
        membership,
        lambda m: m is not None and m["payment_status"] == payment_status,
        what=f"{person.display_name}'s membership {payment_status} in circles",
    )


def start_checkout(api: httpx.Client, person: Person, obligation_id: str) -> dict[str, Any]:
    return ok(
        api.post(
            "/api/v1/payments/checkout",
            headers={**person.auth, "Idempotency-Key": str(uuid.uuid4())},
            json={"obligation_id": obligation_id},
        ),
        201,
    )


def pay_dues(
    api: httpx.Client, stripe: StripeStandIn, admin: Person, member: Person, card: str
) -> tuple[dict, dict, dict]:
    """A circle with dues, the member joined and paid by card: (circle, obligation, checkout)."""
    circle = new_circle(api, admin, dues=2500)
    joined = ok(api.post(f"/api/v1/circles/{circle['id']}/join", headers=member.auth), 201)
    assert (joined["status"], joined["payment_status"]) == ("active", "pending")
    obligation = obligation_of(api, member, circle_id=circle["id"])
    checkout = start_checkout(api, member, obligation["id"])
    paid = stripe.pay(checkout["url"], card)
    assert paid.status_code == 303 and checkout["session_id"] in paid.headers["location"], paid.text
    obligation_status(api, member, obligation["id"], "settled")
    return circle, obligation, checkout


# -- payments ----------------------------------------------------------------------------------
def test_member_pays_circle_dues_by_card_and_circles_shows_him_current(
    api: httpx.Client, admin: Person, stripe: StripeStandIn, platform: Platform
):
    member = sign_up(api, "Sam")
    circle = new_circle(api, admin, dues=2500)
    joined = ok(api.post(f"/api/v1/circles/{circle['id']}/join", headers=member.auth), 201)
    assert joined["payment_status"] == "pending"

    # circles → membership.payment_required → payments opens a monthly obligation.
    obligation = obligation_of(api, member, circle_id=circle["id"])
    assert obligation["kind"] == "membership" and obligation["membership_id"] == joined["id"]
    assert obligation["status"] == "pending" and obligation["interval"] == "month"
    assert obligation["amount"] == {"amount": 2500, "currency": "EUR"} == obligation["amount_due"]

    checkout = start_checkout(api, member, obligation["id"])
    assert checkout["mode"] == "subscription" and checkout["obligation_id"] == obligation["id"]
    paid = stripe.pay(checkout["url"])
    assert paid.status_code == 303, paid.text
    assert checkout["session_id"] in paid.headers["location"]

    # The stand-in's signed webhooks → gateway → payments settles → obligation.settled → circles.
    settled = obligation_status(api, member, obligation["id"], "settled")
    assert settled["amount_paid"]["amount"] == 2500 and settled["amount_due"]["amount"] == 0
    assert my_membership(api, member, circle["id"], "current")["status"] == "active"
    roster = ok(api.get(f"/api/v1/circles/{circle['id']}/members", headers=admin.auth))["items"]
    assert {(m["user_id"], m["payment_status"]) for m in roster if m["role"] == "member"} == {(member.id, "current")}
    announced = [e.payload for e in published(platform, "payments", "obligation.settled")]
    assert any(p["obligation_id"] == obligation["id"] and p["membership_id"] == joined["id"] for p in announced), (
        announced
    )

    # Every event went through the gateway, like Stripe's, and payments accepted it.
    webhook_url = stripe.get("/_standin/config")["webhook_url"]
    assert webhook_url == platform.url("gateway") + "/api/v1/payments/webhooks/stripe"
    events = eventually(
        stripe.events,
        lambda evs: bool(evs) and all(e["delivery"]["delivered"] for e in evs),
        what="every stand-in webhook delivered",
    )
    assert {"checkout.session.completed", "invoice.paid"} <= {e["type"] for e in events}
    assert {e["delivery"]["last_status"] for e in events} == {200}, events


def test_failed_renewal_flags_the_member_until_staff_record_an_offline_payment(
    api: httpx.Client, admin: Person, stripe: StripeStandIn, platform: Platform
):
    member = sign_up(api, "Tom")
    circle, obligation, checkout = pay_dues(api, stripe, admin, member, CARD_FAILS_ON_RENEWAL)
    my_membership(api, member, circle["id"], "current")

    # Stripe bills the next month and the card is declined.
    subscription = stripe.get(f"/v1/checkout/sessions/{checkout['session_id']}")["subscription"]
    renewal = stripe.control(f"subscriptions/{subscription}/renew")
    assert renewal["invoice"]["status"] == "open" and renewal["invoice"]["attempt_count"] == 1

    overdue = obligation_status(api, member, obligation["id"], "overdue")
    assert overdue["amount_due"] == {"amount": 2500, "currency": "EUR"}
    queue = ok(api.get("/api/v1/payments/interventions", headers=admin.auth))["items"]
    assert obligation["id"] in {item["obligation"]["id"] for item in queue}

    # obligation.overdue → circles flags him for a human (nobody is removed) and tells the facilitator.
    assert my_membership(api, member, circle["id"], "overdue")["status"] == "active"
    flagged = ok(api.get(f"/api/v1/circles/{circle['id']}/flagged-members", headers=admin.auth))["items"]
    assert [(f["user_id"], f["payment_status"]) for f in flagged] == [(member.id, "overdue")]
    mail_to(platform, admin.email, f"overdue in {circle['name']}")

    recorded = ok(
        api.post(
            f"/api/v1/payments/obligations/{obligation['id']}/offline-payment",
            headers={**admin.auth, "Idempotency-Key": str(uuid.uuid4())},
            json={"amount": 2500, "method": "cash", "note": "paid at the meeting"},
        ),
        201,
    )
    assert recorded["obligation"]["status"] == "settled" and recorded["payment"]["source"] == "offline"

    my_membership(api, member, circle["id"], "current")
    eventually(
        lambda: ok(api.get(f"/api/v1/circles/{circle['id']}/flagged-members", headers=admin.auth))["items"],
        lambda items: items == [],
        what="flag cleared",
    )
    # Stripe must stop retrying what was paid in cash: the invoice is marked paid out of band there.
    invoice = eventually(
        lambda: stripe.get(f"/v1/invoices/{renewal['invoice']['id']}"),
        lambda i: i["status"] == "paid",
        what="failed invoice marked paid at Stripe",
    )
    assert invoice["paid_out_of_band"] is True


def test_member_pays_his_failed_renewal_himself_on_the_hosted_invoice_page(
    api: httpx.Client, admin: Person, stripe: StripeStandIn
):
    member = sign_up(api, "Kai")
    circle, obligation, checkout = pay_dues(api, stripe, admin, member, CARD_FAILS_ON_RENEWAL)
    subscription = stripe.get(f"/v1/checkout/sessions/{checkout['session_id']}")["subscription"]
    invoice = stripe.control(f"subscriptions/{subscription}/renew")["invoice"]
    obligation_status(api, member, obligation["id"], "overdue")
    my_membership(api, member, circle["id"], "overdue")

    # Paying again sends him to the failed invoice's hosted page, where he uses another card.
    again = start_checkout(api, member, obligation["id"])
    assert again["mode"] == "invoice" and invoice["id"] in again["url"]
    paid = stripe.pay(again["url"])
    assert paid.status_code == 200 and "Invoice paid" in paid.text, paid.text

    settled = obligation_status(api, member, obligation["id"], "settled")
    assert settled["amount_paid"]["amount"] == 5000 and settled["amount_due"]["amount"] == 0
    assert my_membership(api, member, circle["id"], "current")["status"] == "active"
    eventually(
        lambda: ok(api.get(f"/api/v1/circles/{circle['id']}/flagged-members", headers=admin.auth))["items"],
        lambda items: items == [],
        what="flag cleared",
    )


def test_member_pauses_resumes_and_cancels_his_dues_in_the_billing_portal_and_circles_follows(
    api: httpx.Client, admin: Person, stripe: StripeStandIn
):
    member = sign_up(api, "Rob")
    assert ok(api.post("/api/v1/payments/portal", headers=member.auth), 409)["type"].endswith("/no-billing-account")
    circle, obligation, checkout = pay_dues(api, stripe, admin, member, CARD_PAYS)
    my_membership(api, member, circle["id"], "current")
    portal = ok(api.post("/api/v1/payments/portal", headers=member.auth))["url"]

    # Pause: Stripe's subscription.updated → payments pauses the dues → circles shows them paused.
    assert stripe.portal(portal, "pause", months="1").status_code == 200
    paused = obligation_status(api, member, obligation["id"], "paused")
    assert paused["paused_until"] > datetime.now(UTC).isoformat()
    my_membership(api, member, circle["id"], "paused")

    assert stripe.portal(portal, "resume").status_code == 200
    obligation_status(api, member, obligation["id"], "settled")
    my_membership(api, member, circle["id"], "current")

    # Cancel: the paid month runs out, then the dues stop; he stays, flagged for a conversation.
    assert stripe.portal(portal, "cancel").status_code == 200
    subscription = stripe.get(f"/v1/checkout/sessions/{checkout['session_id']}")["subscription"]
    eventually(
        lambda: stripe.get(f"/v1/subscriptions/{subscription}"),
        lambda sub: sub["cancel_at_period_end"] is True,
        what="subscription set to end",
    )
    ended = stripe.control(f"subscriptions/{subscription}/renew")
    assert ended["subscription"]["status"] == "canceled" and ended["invoice"] is None
    obligation_status(api, member, obligation["id"], "cancelled")
    assert my_membership(api, member, circle["id"], "stopped")["status"] == "active"
    flagged = ok(api.get(f"/api/v1/circles/{circle['id']}/flagged-members", headers=admin.auth))["items"]
    assert [(f["user_id"], f["payment_status"]) for f in flagged] == [(member.id, "stopped")]


def test_cancelling_an_event_refunds_a_paid_registration(
    api: httpx.Client, admin: Person, stripe: StripeStandIn, platform: Platform
):
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    title = f"Spring workshop {uuid.uuid4().hex[:6]}"
    event = ok(
        api.post(
            "/api/v1/events",
            headers=admin.auth,
            json={
                "type": "workshop",
                "title": title,
                "timezone": "Europe/Berlin",
                "location": {"city": "Berlin"},
                "capacity": 8,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=3)).isoformat(),
                "price": {"amount": 4000, "currency": "EUR"},
            },
        ),
        201,
    )
    ok(api.post(f"/api/v1/events/{event['id']}/publish", headers=admin.auth))
    member = sign_up(api, "Ben")
    verify_email(api, platform, member)  # so the cancellation notice can reach him

    registration = ok(api.post(f"/api/v1/events/{event['id']}/registrations", headers=member.auth, json={}), 201)
    assert registration["status"] == "pending_payment" and registration["hold_expires_at"]
    # registration.payment_required → payments opens a one-time obligation.
    obligation = obligation_of(api, member, registration_id=registration["id"])
    assert obligation["kind"] == "registration" and obligation["amount"] == {"amount": 4000, "currency": "EUR"}
    checkout = start_checkout(api, member, obligation["id"])
    assert checkout["mode"] == "payment"
    assert stripe.pay(checkout["url"]).status_code == 303
    obligation_status(api, member, obligation["id"], "settled")
    eventually(
        lambda: ok(api.get(f"/api/v1/events/{event['id']}/registrations/me", headers=member.auth)),
        lambda r: r["status"] == "confirmed",
        what="registration confirmed after payment",
    )
    payment = ok(api.get("/api/v1/payments/history", headers=member.auth))["items"][0]
    assert payment["obligation_id"] == obligation["id"] and payment["amount"]["amount"] == 4000

    cancelled = ok(
        api.post(f"/api/v1/events/{event['id']}/cancel", headers=admin.auth, json={"reason": "the venue flooded"})
    )
    assert cancelled["status"] == "cancelled"
    mine = ok(api.get(f"/api/v1/events/{event['id']}/registrations/me", headers=member.auth))
    assert (mine["status"], mine["cancel_reason"], mine["refund"]) == ("cancelled", "event_cancelled", "full")

    # event.cancelled → payments refunds at Stripe → refund webhooks → refund.succeeded.
    refunds = eventually(
        lambda: ok(api.get(f"/api/v1/payments/{payment['id']}/refunds", headers=admin.auth)),
        lambda rs: bool(rs) and rs[0]["status"] == "succeeded",
        what="refund succeeded",
    )
    assert [(r["amount"], r["origin"]) for r in refunds] == [(4000, "event_cancelled")]
    history = ok(api.get("/api/v1/payments/history", headers=member.auth))["items"][0]
    assert history["amount_refunded"]["amount"] == 4000 and history["refunds"][0]["status"] == "succeeded"
    # The outbox relay publishes shortly after the commit that recorded the refund.
    eventually(
        lambda: [e.payload for e in published(platform, "payments", "refund.succeeded")],
        lambda announced: any(p["registration_id"] == registration["id"] and p["amount"] == 4000 for p in announced),
        what="refund.succeeded published",
    )
    # circles → notification.requested → auth → email.
    mail_to(platform, member.email, f"Cancelled: {title}")


# -- notifications -----------------------------------------------------------------------------
def circles_profile(
    api: httpx.Client, person: Person, until: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    return eventually(lambda: ok(api.get("/api/v1/members/me", headers=person.auth)), until, what=what)


def test_email_verification_code_arrives_in_the_mail_sink_and_verifies_the_address(
    api: httpx.Client, platform: Platform
):
    person = sign_up(api, "Noah")
    mail = mail_to(platform, person.email, "verification code")
    assert "Hello Noah" in mail["body"]
    assert ok(api.get("/api/v1/auth/me", headers=person.auth))["email_verified"] is False
    ok(api.post("/api/v1/auth/verify-email", headers=person.auth, json={"code": code_in(mail["body"])}), 204)
    assert ok(api.get("/api/v1/auth/me", headers=person.auth))["email_verified"] is True
    # user.updated → circles, where events may require a verified email.
    circles_profile(api, person, lambda p: p["verified_email"] is True, "verified email in circles")


def test_password_reset_link_arrives_and_sets_the_new_password(api: httpx.Client, platform: Platform):
    person = sign_up(api, "Luke")
    ok(api.post("/api/v1/auth/password-reset", json={"email": person.email}), 202)
    body = mail_to(platform, person.email, "Reset your password")["body"]
    link = next(word for word in body.split() if "reset-password?token=" in word)
    token = parse_qs(urlsplit(link).query)["token"][0]
    ok(
        api.post(
            "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "a brand new passphrase"}
        ),
        204,
    )
    assert api.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD}).status_code == 401
    assert sign_in(api, person.email, "a brand new passphrase").id == person.id


def test_phone_verification_code_arrives_by_sms_and_verifies_the_number(api: httpx.Client, platform: Platform):
    person = sign_up(api, "Eli")
    number = f"+4915{uuid.uuid4().int % 10**9:09d}"
    ok(api.post("/api/v1/auth/phone", headers=person.auth, json={"phone": number}), 202)
    sms = sms_to(platform, number)
    ok(api.post("/api/v1/auth/verify-phone", headers=person.auth, json={"code": code_in(sms["body"])}), 204)
    me = ok(api.get("/api/v1/auth/me", headers=person.auth))
    assert (me["phone"], me["phone_verified"]) == (number, True)
    profile = circles_profile(api, person, lambda p: p["verified_phone"] is True, "verified phone in circles")
    assert "phone" not in profile  # circles learns that it was proved, never the number


# -- identity across services ------------------------------------------------------------------
def refused_within(api: httpx.Client, person: Person, deadline: float) -> float:
    """When (seconds after now) the first request the gateway refused with the person's revoked
    token was sent; polls every 50 ms and fails once a request sent after `deadline` still passes."""
    started = time.monotonic()
    while True:
        sent = time.monotonic() - started
        response = api.get("/api/v1/circles", headers=person.auth)
        if response.status_code == 401:
            return sent
        assert response.status_code == 200, response.text
        assert sent < deadline, f"the revoked token still worked {sent:.2f}s after the revocation"
        time.sleep(REVOCATION_POLL)


def test_gateway_refuses_the_access_token_within_a_second_of_logout(api: httpx.Client):
    person = sign_up(api, "Max")
    ok(api.get("/api/v1/circles", headers=person.auth))
    ok(api.post("/api/v1/auth/logout", headers=person.auth), 204)
    assert refused_within(api, person, REVOCATION_DEADLINE) < REVOCATION_DEADLINE


def test_gateway_refuses_the_access_token_within_a_second_of_the_account_being_disabled(
    api: httpx.Client, admin: Person
):
    person = sign_up(api, "Leo")
    ok(api.get("/api/v1/circles", headers=person.auth))
    ok(api.post(f"/api/v1/users/{person.id}/disable", headers=admin.auth, json={"reason": "end-to-end test"}))
    assert refused_within(api, person, REVOCATION_DEADLINE) < REVOCATION_DEADLINE


def test_a_new_users_display_name_reaches_circles(api: httpx.Client):
    person = sign_up(api, "Jonah Whitfield")
    profile = circles_profile(
        api, person, lambda p: p["display_name"] == "Jonah Whitfield", "user.registered applied in circles"
    )
    assert profile["user_id"] == person.id
