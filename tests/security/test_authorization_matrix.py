"""Object- and function-level authorisation as a generated matrix, through the gateway.

Rows: every operation of every service's OpenAPI document that the gateway routes and does not
leave public (discovered from the apps themselves, so new endpoints join automatically).
Columns: anonymous, and for each of the six roles three callers —
  * stranger: a user with that role and no relation to the objects,
  * member:   the same role, and the objects are his (active member of the private circle, the
              registrant, the debtor, the goal's author, the transfer's requester),
  * facilitator: the same role, and he facilitates the circles (so he manages their events).
Real objects are created first (circles public/private, meetings, goals, a transfer request, an
event draft, a published event with a registration, a public event, an event that requires
approval with two applications, an obligation from circle dues, a payment, a requirement
template, an invitation, a member for staff to move, the private circle's message thread with a
member's message, event types, a stored Stripe event).

Expected outcome per cell comes from ONE table, POLICY, written from ARCHITECTURE.md §§4, 7, 11 and
the permission modules (auth roles/permissions.py and invitations/authority.py, circles
permissions.py and events/access.py, payments roles.py, messaging conversations/service.py) and
docs/*.md. A row the code does not meet yet states the policy and carries `known_gap` (a strict
expected failure). Asserted: never 5xx; anonymous → 401; an object the
caller may not see → 404 that looks exactly like a non-existent id; a function his roles lack →
403; an allowed call → success (or a state conflict for calls that change state). List
endpoints must not leak hidden objects. An operation without a POLICY row still gets the
generic checks (401 without a token, never 5xx) and is reported by
`test_every_routed_operation_has_a_policy`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from seckit import (
    ROLES,
    USER_PASSWORD,
    Accounts,
    User,
    bearer,
    client,
    describe,
    routed_operations,
    service_documents,
    stripe_event,
    stripe_signature,
    unique_email,
    wait_for,
)

# ---------------------------------------------------------------------------------------------
# Callers and the predicates the policy is written in
# ---------------------------------------------------------------------------------------------
STRANGER, MEMBER, FACILITATOR = "stranger", "member", "facilitator"
RELATIONS = (STRANGER, MEMBER, FACILITATOR)


@dataclass(frozen=True)
class Caller:
    role: str | None  # None: anonymous
    rel: str = STRANGER

    @property
    def roles(self) -> frozenset[str]:
        return frozenset({"member", self.role}) if self.role else frozenset()

    @property
    def label(self) -> str:
        return "anonymous" if self.role is None else f"{self.role}/{self.rel}"


class P:
    """A predicate over a caller, composable with | and &."""

    def __init__(self, test: Callable[[Caller], bool], name: str) -> None:
        self.test, self.name = test, name

    def __call__(self, caller: Caller) -> bool:
        return self.test(caller)

    def __or__(self, other: P) -> P:
        return P(lambda c: self(c) or other(c), f"{self.name} | {other.name}")

    def __and__(self, other: P) -> P:
        return P(lambda c: self(c) and other(c), f"{self.name} & {other.name}")

    def __repr__(self) -> str:
        return self.name


def ROLE(*names: str) -> P:
    return P(lambda c: not c.roles.isdisjoint(names), "|".join(names))


ANYONE = P(lambda c: True, "anyone")
NOBODY = P(lambda c: False, "nobody")
# Relations to the objects of the world the caller acts on.
IN_CIRCLE = P(lambda c: c.rel in (MEMBER, FACILITATOR), "in-circle")  # an active membership of the circles
FAC = P(lambda c: c.rel == FACILITATOR, "circle-facilitator")  # runs the circles, manages their events
OWNER = P(lambda c: c.rel == MEMBER, "owner")  # the member, registrant, debtor, author, requester
# Global fact: the member/facilitator callers are the same user, who facilitates his own circles.
FACILITATES_SOMEWHERE = P(lambda c: c.rel != STRANGER, "facilitates-some-circle")

# Role groups, as the permission modules define them.
STAFF = ROLE("ptm", "support", "leadership", "admin")  # circles: sees every circle and event
ADMIN = ROLE("admin")
CIRCLE_CREATORS = ROLE("facilitator", "admin")
FOLLOW_UP = ROLE("support", "leadership", "admin")  # members flagged for overdue dues
EVENTS_ALL = ROLE("ptm", "admin")  # manage every event
TEMPLATE_USERS = EVENTS_ALL | FACILITATES_SOMEWHERE  # whoever may create events; the token role alone is not enough
PAYMENT_STAFF = ROLE("support", "admin")  # payments:interventions — interventions, refunds, audit
OVERVIEW = ROLE("leadership", "admin")  # payments:overview
USERS_READ = ROLE("support", "leadership", "admin")  # users:read, users:audit:read
USERS_WRITE = ROLE("admin")  # users:roles:write, users:disable
USERS_ASSIST = ROLE("support", "admin")  # users:overview, users:assist (leadership sees aggregates only)
USERS_PRIVACY = ROLE("admin")  # users:privacy: export and erase on a member's behalf
# The directory: facilitators (by token role or by facilitating a circle), ptm and the staff above.
DIRECTORY = ROLE("facilitator") | STAFF | FACILITATES_SOMEWHERE
MOVE_STAFF = ROLE("ptm", "support", "admin")  # move a member between circles anywhere (leadership: no)
EVENT_STAFF_INVITERS = ROLE("ptm", "admin")  # invite onto an event's staff
REPORTS = ROLE("leadership", "admin")  # reports:read
IMPORTERS = ROLE("admin")  # bulk import of circles and members
# Messaging (docs/messaging.md): announcements to everyone or a role, to an event's registrants.
BROADCASTERS = ROLE("leadership", "admin")
EVENT_ANNOUNCERS = ROLE("ptm", "leadership", "admin")

ALLOW, FORBIDDEN, HIDDEN, UNAUTHENTICATED = "allow", 403, 404, 401


# ---------------------------------------------------------------------------------------------
# The policy table
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """One variant of one operation.

    see: who may see the object(s) in the path (else 404); do: who may call the function on a
    visible object (else 403); gate_first: the function check comes before the visibility check
    (role-gated staff endpoints answer 403 even for objects that do not exist).
    """

    see: P = ANYONE
    do: P = ANYONE
    gate_first: bool = False
    params: dict[str, str] = field(default_factory=dict)  # path parameter → object key
    query: dict[str, str] = field(default_factory=dict)
    query_from: Callable[[Ctx], dict[str, str]] | None = None  # query values taken from the caller's world
    body: Callable[[Ctx], Any] | None = None
    csv: Callable[[Ctx], str] | None = None  # a text/csv body instead of JSON
    phase: int = 0  # reads 0, creates 1, changes 2, consuming changes 3, destruction 4
    variant: str = ""
    ok: tuple[int, ...] = ()  # extra statuses that count as "allowed" (besides 2xx and, for writes, 409)
    ok_404: tuple[str, ...] = ()  # problem types of a 404 an allowed caller may get (a missing sub-object)
    relations: tuple[str, ...] = RELATIONS
    fresh_session: bool = False  # call with a new session of the caller (the call ends it)
    relogin_after: bool = False  # the call ends every session of the caller
    throwaway: bool = False  # call as a new user with the caller's role (the call erases him)
    lists: str | None = None  # a list endpoint: objects of this kind must appear only when visible
    generic: bool = False  # no policy row yet: only "401 without a token" and "never 5xx" are checked
    # The code does not do what the policy says yet: the row states the policy and is expected to
    # fail (strictly: once the code is fixed the row passes, and the mark must go).
    known_gap: str = ""


def R(**kwargs: Any) -> Rule:
    return Rule(**kwargs)


def circle_body(ctx: Ctx) -> dict[str, Any]:
    return {
        "name": f"Matrix circle {uuid.uuid4().hex[:8]}",
        "schedule": {"weekday": "tuesday", "time": "19:30", "timezone": "Europe/Berlin"},
        "location": {"city": "Leipzig"},
    }


def event_body(ctx: Ctx) -> dict[str, Any]:
    return ctx.event_payload(f"Matrix event {uuid.uuid4().hex[:8]}", circle_ids=[ctx.obj("priv")], visibility="circles")


def import_csv(ctx: Ctx) -> str:
    """One circle, checked only (dry run)."""
    return (
        "kind,key,name,city,weekday,time,timezone,capacity_max\r\n"
        f"circle,matrix-{uuid.uuid4().hex[:8]},Matrix import,Leipzig,monday,19:30,Europe/Berlin,8\r\n"
    )


def _in(days: int, minutes: int = 0) -> str:
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=days, minutes=minutes)
    return moment.isoformat()


C, E, PAY, AU = "/api/v1/circles", "/api/v1/events", "/api/v1/payments", "/api/v1/auth"
PRIV = {"circle_id": "priv"}
PUB = {"circle_id": "pub"}
SEE_PRIV = IN_CIRCLE | STAFF
SEE_DRAFT = STAFF | FAC
SEE_LIVE = STAFF | IN_CIRCLE  # published, visibility "circles", attached to the private circle
MANAGE_CIRCLE = FAC | ADMIN
MANAGE_EVENT = EVENTS_ALL | FAC
SEE_TRANSFER = FAC | OWNER | STAFF
# Only the member who owes it and payment staff read an individual obligation; leadership sees
# money in aggregate (payments:overview), as auth's role table grants it.
SEE_OBLIGATION = OWNER | PAYMENT_STAFF
# An invitation is its sender's (in the facilitator world the caller sent it) and admins'.
SEE_INVITATION = FAC | ADMIN
INVITATION = {"invitation_id": "invitation"}
# A circle's thread is its current members' and facilitators' only: staff do not read it (404).
SEE_THREAD = IN_CIRCLE
THREAD = {"conversation_id": "thread"}
MESSAGE = {"conversation_id": "thread", "message_id": "message"}
WRITE = (409,)

POLICY: dict[str, tuple[Rule, ...]] = {
    # -- auth: the caller's own account (any signed-in user, only himself) ----------------------
    f"GET {AU}/me": (R(relations=(STRANGER,)),),
    f"PATCH {AU}/me": (
        R(
            body=lambda ctx: {"display_name": ctx.user.display_name if ctx.user else "Anon"},
            phase=1,
            relations=(STRANGER,),
        ),
    ),
    f"GET {AU}/me/export": (R(relations=(STRANGER,)),),
    f"DELETE {AU}/me": (
        R(body=lambda ctx: {"password": USER_PASSWORD}, phase=3, throwaway=True, relations=(STRANGER,)),
    ),
    f"POST {AU}/logout": (R(phase=3, fresh_session=True, relations=(STRANGER,)),),
    f"POST {AU}/logout-all": (R(phase=3, relogin_after=True, relations=(STRANGER,)),),
    f"GET {AU}/sessions": (R(relations=(STRANGER,)),),
    f"DELETE {AU}/sessions/{{session_id}}": (
        R(params={"session_id": "own_session"}, phase=3, variant="own", relations=(STRANGER,)),
        # Another user's session is not his to see or end: 404 for everyone, admins included.
        R(
            params={"session_id": "foreign_session"},
            see=NOBODY,
            phase=3,
            variant="someone else's",
            relations=(STRANGER,),
        ),
    ),
    f"POST {AU}/password": (
        R(
            body=lambda ctx: {"current_password": USER_PASSWORD, "new_password": USER_PASSWORD},
            phase=3,
            relations=(STRANGER,),
        ),
    ),
    f"POST {AU}/verify-email": (R(body=lambda ctx: {"code": "000000"}, phase=1, ok=(422,), relations=(STRANGER,)),),
    f"POST {AU}/verify-email/resend": (R(phase=1, ok=(429,), relations=(STRANGER,)),),
    f"POST {AU}/phone": (R(body=lambda ctx: {"phone": "+4915112345678"}, phase=1, ok=(429,), relations=(STRANGER,)),),
    f"POST {AU}/verify-phone": (R(body=lambda ctx: {"code": "000000"}, phase=1, ok=(422,), relations=(STRANGER,)),),
    f"GET {AU}/me/notification-preferences": (R(relations=(STRANGER,)),),
    f"PUT {AU}/me/notification-preferences": (
        R(
            body=lambda ctx: {"topics": [{"topic": "events", "email": True, "sms": False}]},
            phase=1,
            relations=(STRANGER,),
        ),
    ),
    # -- auth: invitations (issue 13) ---------------------------------------------------------
    "GET /api/v1/invitations": (R(lists="invitations"),),
    "POST /api/v1/invitations": (
        # Into a circle: its facilitators and admins; refused alike whether or not the circle exists.
        R(
            do=MANAGE_CIRCLE,
            phase=1,
            ok=(429,),
            variant="into the private circle",
            body=lambda ctx: {"email": unique_email("invitee"), "circle_id": ctx.obj("priv")},
        ),
        R(
            do=EVENT_STAFF_INVITERS,
            phase=1,
            ok=(429,),
            variant="onto an event's staff",
            relations=(STRANGER, FACILITATOR),
            body=lambda ctx: {"email": unique_email("invitee"), "event_id": ctx.obj("live")},
        ),
        R(
            do=ADMIN,
            phase=1,
            ok=(429,),
            variant="into the organisation with roles",
            relations=(STRANGER,),
            body=lambda ctx: {"email": unique_email("invitee"), "roles": ["support"]},
        ),
    ),
    "DELETE /api/v1/invitations/{invitation_id}": (R(see=SEE_INVITATION, params=INVITATION, phase=4),),
    "POST /api/v1/invitations/{invitation_id}/resend": (R(see=SEE_INVITATION, params=INVITATION, phase=2, ok=(429,)),),
    # Anyone signed in may accept a circle or event invitation (the token is the proof); a token
    # that matches nothing is the same 404 for everyone.
    "POST /api/v1/invitations/accept": (
        R(
            phase=1,
            relations=(STRANGER,),
            ok_404=("invalid-invitation",),
            body=lambda ctx: {"token": uuid.uuid4().hex + uuid.uuid4().hex},
        ),
    ),
    # -- auth: bulk import (admins; a dry run, so nothing is created) -------------------------
    "POST /api/v1/imports": (
        R(do=IMPORTERS, gate_first=True, phase=1, relations=(STRANGER,), query={"dry_run": "true"}, csv=import_csv),
    ),
    # -- auth: user administration (permission checked first: 403 whatever the id) ------------
    "GET /api/v1/users": (R(do=USERS_READ, gate_first=True, relations=(STRANGER,)),),
    "PUT /api/v1/users/{user_id}/roles": (
        R(
            do=USERS_WRITE,
            gate_first=True,
            params={"user_id": "subject"},
            phase=2,
            relations=(STRANGER,),
            body=lambda ctx: {"roles": ["member"], "reason": "authorisation matrix"},
        ),
    ),
    "GET /api/v1/users/{user_id}/audit": (
        R(do=USERS_READ, gate_first=True, params={"user_id": "subject"}, relations=(STRANGER,)),
    ),
    "POST /api/v1/users/{user_id}/disable": (
        R(
            do=USERS_WRITE,
            gate_first=True,
            params={"user_id": "subject"},
            phase=2,
            relations=(STRANGER,),
            body=lambda ctx: {"reason": "authorisation matrix"},
        ),
    ),
    "POST /api/v1/users/{user_id}/enable": (
        R(
            do=USERS_WRITE,
            gate_first=True,
            params={"user_id": "subject"},
            phase=2,
            relations=(STRANGER,),
            body=lambda ctx: {"reason": "authorisation matrix"},
        ),
    ),
    # -- auth: staff acting for one member (issue 15; permission checked first) ----------------
    "GET /api/v1/users/{user_id}/overview": (
        R(do=USERS_ASSIST, gate_first=True, params={"user_id": "subject"}, relations=(STRANGER,)),
    ),
    "POST /api/v1/users/{user_id}/verification/resend": (
        # 429: his own resend cooldown, when a second allowed caller asks right after the first.
        R(do=USERS_ASSIST, gate_first=True, params={"user_id": "subject"}, phase=2, relations=(STRANGER,), ok=(429,)),
    ),
    "POST /api/v1/users/{user_id}/password-reset": (
        R(do=USERS_ASSIST, gate_first=True, params={"user_id": "subject"}, phase=2, relations=(STRANGER,), ok=(429,)),
    ),
    "GET /api/v1/users/{user_id}/export": (
        R(
            do=USERS_PRIVACY,
            gate_first=True,
            params={"user_id": "subject"},
            query={"reason": "authorisation matrix"},
            relations=(STRANGER,),
        ),
    ),
    "POST /api/v1/users/{user_id}/erase": (
        R(
            do=USERS_PRIVACY,
            gate_first=True,
            params={"user_id": "subject"},
            phase=4,
            relations=(STRANGER,),
            body=lambda ctx: {"reason": "authorisation matrix"},
        ),
    ),
    # -- circles -----------------------------------------------------------------------------
    f"GET {C}": (R(lists="circles"),),
    f"POST {C}": (R(do=CIRCLE_CREATORS, body=circle_body, phase=1, relations=(STRANGER,)),),
    f"GET {C}/{{circle_id}}": (R(see=SEE_PRIV, params=PRIV, variant="private"), R(params=PUB, variant="public")),
    f"PATCH {C}/{{circle_id}}": (
        R(
            see=SEE_PRIV,
            do=MANAGE_CIRCLE,
            params=PRIV,
            phase=1,
            body=lambda ctx: {"description": "changed by the matrix"},
        ),
    ),
    # Archiving uses a circle of its own (same relations), so it cannot disturb other rows.
    f"DELETE {C}/{{circle_id}}": (R(see=SEE_PRIV, do=MANAGE_CIRCLE, params={"circle_id": "priv_b"}, phase=6),),
    f"POST {C}/{{circle_id}}/join": (
        R(params=PUB, phase=2, variant="public"),
        R(see=SEE_PRIV, params=PRIV, phase=2, variant="private"),
    ),
    f"GET {C}/{{circle_id}}/members": (
        R(see=SEE_PRIV, do=IN_CIRCLE | STAFF, params=PRIV, variant="private"),
        # The owner is not in the public circle; only its members and staff see who is.
        R(do=FAC | STAFF, params=PUB, variant="public"),
        R(do=FAC | STAFF, params=PUB, query={"status": "pending"}, variant="public, pending requests"),
    ),
    # The meeting place is for the circle's active members and staff, not for whoever sees the circle.
    f"GET {C}/{{circle_id}}/location": (
        R(see=SEE_PRIV, do=IN_CIRCLE | STAFF, params=PRIV, variant="private"),
        R(do=FAC | STAFF, params=PUB, variant="public"),
    ),
    f"POST {C}/{{circle_id}}/members": (
        R(see=SEE_PRIV, do=MANAGE_CIRCLE, params=PRIV, phase=2, body=lambda ctx: {"user_id": ctx.obj("spare")}),
    ),
    f"POST {C}/{{circle_id}}/members/{{user_id}}/approve": (
        R(do=MANAGE_CIRCLE, params={**PUB, "user_id": "applicant"}, phase=2, ok_404=("membership-not-found",)),
    ),
    f"POST {C}/{{circle_id}}/members/{{user_id}}/decline": (
        R(
            do=MANAGE_CIRCLE,
            params={**PUB, "user_id": "applicant"},
            phase=3,
            ok_404=("membership-not-found",),
            body=lambda ctx: {"reason": "matrix"},
        ),
    ),
    f"PUT {C}/{{circle_id}}/members/{{user_id}}/role": (
        R(
            see=SEE_PRIV,
            do=MANAGE_CIRCLE,
            params={**PRIV, "user_id": "member_user"},
            phase=2,
            body=lambda ctx: {"role": "member"},
        ),
    ),
    f"DELETE {C}/{{circle_id}}/members/{{user_id}}": (
        # Leaving is his own business; removing someone else is the facilitators' (and admins').
        R(
            see=SEE_PRIV,
            do=OWNER | MANAGE_CIRCLE,
            params={**PRIV, "user_id": "member_user"},
            phase=5,
            ok_404=("membership-not-found",),
            body=lambda ctx: {"reason": "authorisation matrix"},
        ),
    ),
    # A staff move: ptm, support, admin anywhere; a facilitator between two circles he facilitates.
    f"POST {C}/{{circle_id}}/members/{{user_id}}/move": (
        R(
            see=SEE_PRIV,
            do=MOVE_STAFF | FAC,
            params={**PRIV, "user_id": "mover"},
            phase=3,
            ok_404=("membership-not-found",),
            body=lambda ctx: {"to_circle_id": ctx.obj("pub"), "reason": "authorisation matrix"},
        ),
    ),
    f"GET {C}/{{circle_id}}/flagged-members": (R(see=SEE_PRIV, do=FAC | FOLLOW_UP, params=PRIV),),
    "GET /api/v1/members/flagged": (R(do=FOLLOW_UP | FACILITATES_SOMEWHERE),),
    "GET /api/v1/members/me/memberships": (R(relations=(STRANGER, MEMBER)),),
    "GET /api/v1/members/me": (R(relations=(STRANGER,)),),
    "PATCH /api/v1/members/me": (R(phase=1, relations=(STRANGER,), body=lambda ctx: {"directory_visible": True}),),
    # Who may search; the circles listed with each person must not include private circles the
    # caller may not see (the search is for the member of the private circle, by name).
    "GET /api/v1/directory": (R(do=DIRECTORY, lists="directory"),),
    f"POST {C}/{{circle_id}}/transfer-requests": (
        # Only an active (non-facilitator) member transfers out.
        R(see=SEE_PRIV, do=OWNER, params=PRIV, phase=2, body=lambda ctx: {"to_circle_id": ctx.obj("pub")}),
    ),
    f"GET {C}/{{circle_id}}/transfer-requests": (
        R(see=SEE_PRIV, do=FAC | STAFF, params=PRIV, query={"direction": "outgoing"}, variant="private, outgoing"),
        R(do=FAC | STAFF, params=PUB, variant="public, incoming"),
    ),
    "GET /api/v1/transfer-requests/{transfer_id}": (R(see=SEE_TRANSFER, params={"transfer_id": "transfer"}),),
    "POST /api/v1/transfer-requests/{transfer_id}/cancel": (
        # Those who may see the request but are not its requester are refused with 403.
        R(see=SEE_TRANSFER, do=OWNER, params={"transfer_id": "transfer"}, phase=3),
    ),
    "POST /api/v1/transfer-requests/{transfer_id}/decline": (
        R(
            see=SEE_TRANSFER,
            do=FAC | ADMIN,
            params={"transfer_id": "transfer"},
            phase=3,
            body=lambda ctx: {"note": "matrix"},
        ),
    ),
    "POST /api/v1/transfer-requests/{transfer_id}/approve": (
        R(see=SEE_TRANSFER, do=FAC | ADMIN, params={"transfer_id": "transfer"}, phase=3),
    ),
    f"GET {C}/{{circle_id}}/meetings": (R(see=SEE_PRIV, do=IN_CIRCLE | STAFF, params=PRIV),),
    f"POST {C}/{{circle_id}}/meetings": (
        R(
            see=SEE_PRIV,
            do=MANAGE_CIRCLE,
            params=PRIV,
            phase=1,
            body=lambda ctx: {"starts_at": _in(20, int(uuid.uuid4().int % 5000)), "duration_minutes": 60},
        ),
    ),
    f"PATCH {C}/{{circle_id}}/meetings/{{meeting_id}}": (
        R(
            see=SEE_PRIV,
            do=MANAGE_CIRCLE,
            params={**PRIV, "meeting_id": "meeting"},
            phase=1,
            body=lambda ctx: {"note": "matrix"},
        ),
    ),
    f"POST {C}/{{circle_id}}/meetings/{{meeting_id}}/cancel": (
        R(
            see=SEE_PRIV,
            do=MANAGE_CIRCLE,
            params={**PRIV, "meeting_id": "meeting"},
            phase=4,
            body=lambda ctx: {"reason": "matrix"},
        ),
    ),
    f"PUT {C}/{{circle_id}}/meetings/{{meeting_id}}/attendance": (
        R(
            see=SEE_PRIV,
            do=MANAGE_CIRCLE,
            params={**PRIV, "meeting_id": "meeting"},
            phase=2,
            body=lambda ctx: {"records": [{"user_id": ctx.obj("member_user"), "status": "present"}]},
        ),
    ),
    f"GET {C}/{{circle_id}}/meetings/{{meeting_id}}/attendance": (
        R(see=SEE_PRIV, do=FAC | STAFF, params={**PRIV, "meeting_id": "meeting"}),
    ),
    f"GET {C}/{{circle_id}}/attendance": (R(see=SEE_PRIV, do=FAC | STAFF, params=PRIV),),
    f"GET {C}/{{circle_id}}/attendance/me": (R(see=SEE_PRIV, params=PRIV),),
    f"POST {C}/{{circle_id}}/goals": (
        R(
            see=SEE_PRIV,
            do=IN_CIRCLE,
            params=PRIV,
            phase=1,
            body=lambda ctx: {
                "title": "Matrix goal",
                "period_start": dt.date.today().isoformat(),
                "period_end": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            },
        ),
    ),
    f"GET {C}/{{circle_id}}/goals/me": (R(see=SEE_PRIV, params=PRIV),),
    f"GET {C}/{{circle_id}}/goals/summary": (R(see=SEE_PRIV, do=FAC | STAFF, params=PRIV),),
    # A goal is its author's own business: nobody else sees it (404), staff included.
    f"PATCH {C}/{{circle_id}}/goals/{{goal_id}}": (
        R(see=OWNER, params={**PRIV, "goal_id": "goal"}, phase=1, body=lambda ctx: {"title": "Changed goal"}),
    ),
    f"POST {C}/{{circle_id}}/goals/{{goal_id}}/done": (R(see=OWNER, params={**PRIV, "goal_id": "goal"}, phase=2),),
    f"DELETE {C}/{{circle_id}}/goals/{{goal_id}}": (R(see=OWNER, params={**PRIV, "goal_id": "goal"}, phase=4),),
    # -- events ------------------------------------------------------------------------------
    f"GET {E}/types": (R(relations=(STRANGER,)),),
    # -- event types: a lookup table every signed-in user reads and only admins change ----------
    "GET /api/v1/event-types": (R(relations=(STRANGER,)),),
    "POST /api/v1/event-types": (
        R(
            do=ADMIN,
            gate_first=True,
            phase=1,
            relations=(STRANGER,),
            body=lambda ctx: {"code": f"matrix_{uuid.uuid4().hex[:8]}", "label": "Matrix type"},
        ),
    ),
    "PATCH /api/v1/event-types/{code}": (
        R(
            do=ADMIN,
            gate_first=True,
            params={"code": "event_type"},
            phase=2,
            relations=(STRANGER,),
            body=lambda ctx: {"label": "Matrix type, relabelled"},
        ),
    ),
    "DELETE /api/v1/event-types/{code}": (
        R(do=ADMIN, gate_first=True, params={"code": "unused_event_type"}, phase=4, relations=(STRANGER,)),
    ),
    f"GET {E}/requirement-templates": (R(do=TEMPLATE_USERS, gate_first=True, relations=(STRANGER, FACILITATOR)),),
    # Phase 0 although it creates: in phase 1 POST /circles makes the stranger facilitator the
    # facilitator of a new circle, and templates follow facilitation (a template touches nothing else).
    f"POST {E}/requirement-templates": (
        R(
            do=TEMPLATE_USERS,
            gate_first=True,
            phase=0,
            relations=(STRANGER, FACILITATOR),
            body=lambda ctx: {"name": f"Matrix {uuid.uuid4().hex[:8]}", "requirements": [{"kind": "verified_email"}]},
        ),
    ),
    f"GET {E}/requirement-templates/{{template_id}}": (
        R(do=TEMPLATE_USERS, gate_first=True, params={"template_id": "template"}, relations=(STRANGER, FACILITATOR)),
    ),
    f"GET {E}": (R(lists="events"),),
    f"POST {E}": (R(do=MANAGE_EVENT, phase=1, body=event_body),),
    f"GET {E}/{{event_id}}": (
        R(see=SEE_DRAFT, params={"event_id": "draft"}, variant="draft"),
        R(see=SEE_LIVE | OWNER, params={"event_id": "live"}, variant="published, circles only"),
        R(params={"event_id": "open"}, variant="published, public"),
    ),
    f"PATCH {E}/{{event_id}}": (
        R(
            see=SEE_DRAFT,
            do=MANAGE_EVENT,
            params={"event_id": "draft"},
            phase=1,
            variant="draft",
            body=lambda ctx: {"description": "changed by the matrix"},
        ),
        R(
            do=EVENTS_ALL,
            params={"event_id": "open"},
            phase=1,
            variant="published, public",
            body=lambda ctx: {"description": "changed by the matrix"},
        ),
    ),
    f"POST {E}/{{event_id}}/publish": (R(see=SEE_DRAFT, do=MANAGE_EVENT, params={"event_id": "draft"}, phase=4),),
    f"POST {E}/{{event_id}}/cancel": (
        R(do=EVENTS_ALL, params={"event_id": "open"}, phase=4, body=lambda ctx: {"reason": "matrix"}),
    ),
    f"POST {E}/{{event_id}}/complete": (R(see=SEE_LIVE, do=MANAGE_EVENT, params={"event_id": "live"}, phase=4),),
    f"POST {E}/{{event_id}}/registrations": (
        R(see=SEE_LIVE, params={"event_id": "live"}, phase=2, variant="published, circles only"),
        R(see=SEE_DRAFT, params={"event_id": "draft"}, phase=2, variant="draft"),
        # With user_id: the event's managers register a member on his behalf.
        R(
            see=SEE_LIVE,
            do=MANAGE_EVENT,
            params={"event_id": "live"},
            phase=2,
            variant="on a member's behalf",
            body=lambda ctx: {"user_id": ctx.obj("spare"), "reason": "authorisation matrix"},
        ),
    ),
    # The event's managers cancel a member's registration on his behalf.
    f"DELETE {E}/{{event_id}}/registrations/{{user_id}}": (
        R(
            see=SEE_LIVE,
            do=MANAGE_EVENT,
            params={"event_id": "live", "user_id": "member_user"},
            query={"reason": "authorisation matrix"},
            phase=4,
            ok_404=("registration-not-found",),
        ),
    ),
    # Applications to an event that requires approval (public, attached to the private circle, so
    # its facilitators manage it): the event's managers decide; everyone sees the event.
    f"POST {E}/{{event_id}}/registrations/{{registration_id}}/approve": (
        R(do=MANAGE_EVENT, params={"event_id": "vetted", "registration_id": "application"}, phase=2),
    ),
    f"POST {E}/{{event_id}}/registrations/{{registration_id}}/decline": (
        R(
            do=MANAGE_EVENT,
            params={"event_id": "vetted", "registration_id": "application_b"},
            phase=2,
            body=lambda ctx: {"reason": "authorisation matrix"},
        ),
    ),
    f"GET {E}/{{event_id}}/registrations/me": (
        R(see=SEE_LIVE, params={"event_id": "live"}, ok_404=("registration-not-found",)),
    ),
    f"DELETE {E}/{{event_id}}/registrations/me": (
        R(see=SEE_LIVE, params={"event_id": "live"}, phase=4, ok_404=("registration-not-found",)),
    ),
    # The participant list is for the event's own staff (managers and assigned staff).
    f"GET {E}/{{event_id}}/registrations": (
        R(see=SEE_LIVE, do=MANAGE_EVENT, params={"event_id": "live"}, variant="published, circles only"),
        R(do=EVENTS_ALL, params={"event_id": "open"}, variant="published, public"),
    ),
    f"GET {E}/{{event_id}}/waitlist": (R(see=SEE_LIVE, do=MANAGE_EVENT, params={"event_id": "live"}),),
    f"POST {E}/{{event_id}}/waitlist/{{registration_id}}/move": (
        R(
            see=SEE_LIVE,
            do=MANAGE_EVENT,
            params={"event_id": "live", "registration_id": "registration"},
            phase=2,
            body=lambda ctx: {"position": 1},
        ),
    ),
    f"POST {E}/{{event_id}}/registrations/{{registration_id}}/promote": (
        R(see=SEE_LIVE, do=MANAGE_EVENT, params={"event_id": "live", "registration_id": "registration"}, phase=2),
    ),
    f"PUT {E}/{{event_id}}/registrations/{{registration_id}}/care-team": (
        R(
            see=SEE_LIVE,
            do=MANAGE_EVENT,
            params={"event_id": "live", "registration_id": "registration"},
            phase=2,
            body=lambda ctx: {"user_id": ctx.obj("staffer")},
        ),
    ),
    f"POST {E}/{{event_id}}/registrations/{{registration_id}}/check-in": (
        R(see=SEE_LIVE, do=MANAGE_EVENT, params={"event_id": "live", "registration_id": "registration"}, phase=2),
    ),
    f"DELETE {E}/{{event_id}}/registrations/{{registration_id}}/check-in": (
        R(see=SEE_LIVE, do=MANAGE_EVENT, params={"event_id": "live", "registration_id": "registration"}, phase=3),
    ),
    f"GET {E}/{{event_id}}/staff": (R(see=SEE_LIVE, do=MANAGE_EVENT, params={"event_id": "live"}),),
    f"POST {E}/{{event_id}}/staff": (
        R(
            see=SEE_LIVE,
            do=MANAGE_EVENT,
            params={"event_id": "live"},
            phase=2,
            body=lambda ctx: {"user_id": ctx.obj("spare"), "role": "ptm"},
        ),
    ),
    f"DELETE {E}/{{event_id}}/staff/{{user_id}}": (
        R(
            see=SEE_LIVE,
            do=MANAGE_EVENT,
            params={"event_id": "live", "user_id": "staffer"},
            query={"role": "care_team"},
            phase=4,
            ok_404=("staff-member-not-found",),
        ),
    ),
    # -- reports: leadership and admins (reports:read), served by the service owning the data -----
    **{
        f"GET /api/v1/reports/{name}": (R(do=REPORTS, gate_first=True, relations=(STRANGER,)),)
        for name in ("retention", "attendance", "goals", "events", "dues", "revenue")
    },
    # -- messaging ---------------------------------------------------------------------------
    "GET /api/v1/conversations": (
        R(lists="conversations"),
        R(
            see=SEE_THREAD,
            query_from=lambda ctx: {"circle_id": ctx.obj("priv")},
            variant="the private circle's thread",
        ),
        # An event's thread: its confirmed registrants (the member registered for it) and staff.
        R(
            see=STAFF | OWNER,
            query_from=lambda ctx: {"event_id": ctx.obj("live")},
            variant="an event's thread",
            known_gap=(
                "circles does not publish registration.confirmed, so messaging never learns who is"
                " registered: a confirmed registrant gets 404 on his event's thread (docs/messaging.md)"
            ),
        ),
    ),
    "POST /api/v1/conversations": (
        # A member and the facilitators of his circles; staff with anyone. The mover is a member of
        # every world's private circle, so whoever facilitates one of them may write to him.
        R(
            do=STAFF | FACILITATES_SOMEWHERE,
            phase=1,
            variant="direct, to a member",
            body=lambda ctx: {"kind": "direct", "user_id": ctx.obj("mover")},
        ),
        R(
            do=BROADCASTERS,
            phase=1,
            relations=(STRANGER,),
            variant="announcement to everyone",
            body=lambda ctx: {"kind": "announcement", "audience": {"scope": "everyone"}, "title": "Matrix"},
        ),
        R(
            do=BROADCASTERS | FAC,
            phase=1,
            variant="announcement to the private circle",
            body=lambda ctx: {
                "kind": "announcement",
                "audience": {"scope": "circle", "circle_id": ctx.obj("priv")},
                "title": "Matrix",
            },
        ),
        R(
            do=EVENT_ANNOUNCERS,
            phase=1,
            relations=(STRANGER,),
            variant="announcement to an event's registrants",
            body=lambda ctx: {
                "kind": "announcement",
                "audience": {"scope": "event", "event_id": ctx.obj("live")},
                "title": "Matrix",
            },
        ),
    ),
    "GET /api/v1/conversations/{conversation_id}": (R(see=SEE_THREAD, params=THREAD),),
    "GET /api/v1/conversations/{conversation_id}/messages": (R(see=SEE_THREAD, params=THREAD),),
    "POST /api/v1/conversations/{conversation_id}/messages": (
        R(see=SEE_THREAD, params=THREAD, phase=1, body=lambda ctx: {"body": "From the matrix"}),
    ),
    # Only the author edits or deletes his message (the member of the private circle wrote it).
    "PATCH /api/v1/conversations/{conversation_id}/messages/{message_id}": (
        R(see=SEE_THREAD, do=OWNER, params=MESSAGE, phase=2, body=lambda ctx: {"body": "Edited by the matrix"}),
    ),
    "DELETE /api/v1/conversations/{conversation_id}/messages/{message_id}": (
        R(see=SEE_THREAD, do=OWNER, params=MESSAGE, phase=4),
    ),
    "POST /api/v1/conversations/{conversation_id}/read": (
        R(see=SEE_THREAD, params=THREAD, phase=2, body=lambda ctx: {"up_to": ctx.obj("message")}),
    ),
    "GET /api/v1/conversations/{conversation_id}/receipts": (R(see=SEE_THREAD, params=THREAD),),
    "GET /api/v1/notifications": (R(relations=(STRANGER,)),),
    "POST /api/v1/notifications/read": (R(phase=1, relations=(STRANGER,), body=lambda ctx: {"all": True}),),
    "POST /api/v1/realtime/tickets": (R(phase=1, relations=(STRANGER,)),),
    # -- payments ----------------------------------------------------------------------------
    f"GET {PAY}/obligations": (R(relations=(STRANGER, MEMBER)),),
    # An obligation is seen by the member who owes it and payment staff (see SEE_OBLIGATION).
    f"GET {PAY}/obligations/{{obligation_id}}": (R(see=SEE_OBLIGATION, params={"obligation_id": "obligation"}),),
    f"GET {PAY}/obligations/{{obligation_id}}/audit": (
        R(do=PAYMENT_STAFF, gate_first=True, params={"obligation_id": "obligation"}),
    ),
    f"GET {PAY}/interventions": (R(do=PAYMENT_STAFF, gate_first=True, relations=(STRANGER,)),),
    f"POST {PAY}/obligations/{{obligation_id}}/notes": (
        R(
            do=PAYMENT_STAFF,
            gate_first=True,
            params={"obligation_id": "obligation"},
            phase=1,
            body=lambda ctx: {"text": "matrix"},
        ),
    ),
    f"POST {PAY}/obligations/{{obligation_id}}/reminders": (
        R(do=PAYMENT_STAFF, gate_first=True, params={"obligation_id": "obligation"}, phase=1, ok=(429,)),
    ),
    f"POST {PAY}/obligations/{{obligation_id}}/resolve": (
        R(
            do=PAYMENT_STAFF,
            gate_first=True,
            params={"obligation_id": "obligation"},
            phase=1,
            body=lambda ctx: {"note": "matrix"},
        ),
    ),
    f"POST {PAY}/obligations/{{obligation_id}}/offline-payment": (
        R(
            do=PAYMENT_STAFF,
            gate_first=True,
            params={"obligation_id": "obligation"},
            phase=2,
            body=lambda ctx: {"amount": 1, "method": "cash", "note": "matrix"},
        ),
    ),
    f"POST {PAY}/obligations/{{obligation_id}}/pause": (
        R(
            do=PAYMENT_STAFF,
            gate_first=True,
            params={"obligation_id": "obligation"},
            phase=2,
            body=lambda ctx: {"until": _in(10), "reason": "matrix"},
        ),
    ),
    f"POST {PAY}/obligations/{{obligation_id}}/resume": (
        R(
            do=PAYMENT_STAFF,
            gate_first=True,
            params={"obligation_id": "obligation"},
            phase=2,
            body=lambda ctx: {"reason": "matrix"},
        ),
    ),
    f"POST {PAY}/obligations/{{obligation_id}}/waive": (
        R(
            do=PAYMENT_STAFF,
            gate_first=True,
            params={"obligation_id": "obligation"},
            phase=4,
            body=lambda ctx: {"reason": "matrix"},
        ),
    ),
    f"POST {PAY}/checkout": (
        # Only the debtor pays; to everyone else the obligation does not exist.
        R(see=OWNER, phase=2, body=lambda ctx: {"obligation_id": ctx.obj("obligation")}, ok=(502, 503)),
    ),
    f"GET {PAY}/history": (R(relations=(STRANGER, MEMBER)),),
    f"GET {PAY}/overview": (R(do=OVERVIEW, gate_first=True, relations=(STRANGER,)),),
    f"GET {PAY}/webhooks/flagged": (R(do=PAYMENT_STAFF, gate_first=True, relations=(STRANGER,)),),
    f"POST {PAY}/webhooks/flagged/{{event_id}}/retry": (
        R(
            do=PAYMENT_STAFF,
            gate_first=True,
            params={"event_id": "stripe_event"},
            phase=2,
            relations=(STRANGER,),
            body=lambda ctx: {"reason": "authorisation matrix"},
        ),
    ),
    # His own billing portal: any signed-in member; without a Stripe customer yet, 409.
    f"POST {PAY}/portal": (R(phase=1, relations=(STRANGER, MEMBER), ok=(502, 503)),),
    f"POST {PAY}/{{payment_id}}/refunds": (
        R(
            do=PAYMENT_STAFF,
            gate_first=True,
            params={"payment_id": "payment"},
            phase=2,
            relations=(STRANGER,),
            body=lambda ctx: {"amount": 1, "reason": "matrix"},
        ),
    ),
    f"GET {PAY}/{{payment_id}}/refunds": (
        R(do=PAYMENT_STAFF, gate_first=True, params={"payment_id": "payment"}, relations=(STRANGER,)),
    ),
}

# The "not visible" problem type of each path parameter's object.
HIDDEN_TYPES = {
    "circle_id": "circle-not-found",
    "event_id": "event-not-found",
    "meeting_id": "meeting-not-found",
    "goal_id": "goal-not-found",
    "transfer_id": "transfer-request-not-found",
    "obligation_id": "obligation-not-found",
    "payment_id": "payment-not-found",
    "registration_id": "registration-not-found",
    "template_id": "requirement-template-not-found",
    "session_id": "session-not-found",
    "user_id": "user-not-found",
    "invitation_id": "invitation-not-found",
    "code": "event-type-not-found",
    "conversation_id": "conversation-not-found",
    "message_id": "message-not-found",
}


# ---------------------------------------------------------------------------------------------
# Which operations exist: the services' own OpenAPI documents, minus what the gateway keeps public
# ---------------------------------------------------------------------------------------------
try:
    DOCUMENTS = service_documents()
    OPERATIONS = [(method, path) for _, method, path in routed_operations(DOCUMENTS)]
    DISCOVERY_ERROR: str | None = None
except Exception as exc:  # a service being edited may not import; the policy rows still run
    DOCUMENTS, DISCOVERY_ERROR = {}, f"{type(exc).__name__}: {exc}"
    OPERATIONS = [tuple(key.split(" ", 1)) for key in POLICY]  # type: ignore[misc]

GENERIC = Rule(variant="no policy row: generic checks only", relations=(STRANGER,), generic=True)


def _cases() -> list[Any]:
    cases = []
    for method, path in OPERATIONS:
        rules = POLICY.get(f"{method} {path}") or (GENERIC,)
        for rule in rules:
            label = f"{method} {path}" + (f" [{rule.variant}]" if rule.variant else "")
            marks = [pytest.mark.xfail(reason=rule.known_gap, strict=True)] if rule.known_gap else []
            cases.append((rule.phase, len(cases), pytest.param(method, path, rule, id=label, marks=marks)))
    return [case for _, _, case in sorted(cases, key=lambda item: (item[0], item[1]))]


# ---------------------------------------------------------------------------------------------
# The objects
# ---------------------------------------------------------------------------------------------
@dataclass
class World:
    """The objects one caller is related to (as member or as facilitator)."""

    rel: str
    ids: dict[str, str] = field(default_factory=dict)


@dataclass
class Fixture:
    platform: Any
    accounts: Accounts
    host: User
    peer: User
    applicant: User
    spare: User
    staffer: User
    subject: User
    mover: User
    owners: dict[str, User]
    outsiders: dict[str, User]
    worlds: dict[tuple[str, str], World]
    shared: dict[str, str]
    connection: httpx.Client | None = None

    @property
    def gateway(self) -> str:
        return self.platform.url("gateway")

    @contextmanager
    def http(self) -> Iterator[httpx.Client]:
        """One keep-alive client for the whole matrix (the gateway's general per-address budget
        is lifted for this suite; credential endpoints count per signed-in user)."""
        if self.connection is None:
            self.connection = client(self.gateway)
        yield self.connection


@dataclass
class Ctx:
    fixture: Fixture
    world: World
    user: User | None

    def obj(self, key: str) -> str:
        if key in self.world.ids:
            return self.world.ids[key]
        return self.fixture.shared[key]

    def event_payload(self, title: str, *, circle_ids: list[str], visibility: str) -> dict[str, Any]:
        return event_payload(title, circle_ids=circle_ids, visibility=visibility)


def event_payload(title: str, *, circle_ids: list[str], visibility: str) -> dict[str, Any]:
    return {
        "type": "workshop",
        "title": title,
        "starts_at": _in(30),
        "ends_at": _in(30, 180),
        "timezone": "Europe/Berlin",
        "location": {"city": "Leipzig"},
        "capacity": 20,
        "visibility": visibility,
        "circle_ids": circle_ids,
    }


def _ok(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in (statuses or (200, 201)), describe(response)
    return response.json() if response.content else {}


def _circle(http: httpx.Client, host: User, *, visibility: str, dues: bool) -> str:
    body = {
        "name": f"Matrix {visibility} {uuid.uuid4().hex[:8]}",
        "schedule": {"weekday": "monday", "time": "19:30", "timezone": "Europe/Berlin"},
        "location": {"city": "Leipzig"},
        "visibility": visibility,
        "join_policy": "approval",
        "dues": {"amount": 1500, "currency": "EUR"} if dues else None,
    }
    return _ok(http.post(C, json=body, headers=host.headers), 201)["id"]


def _add(http: httpx.Client, host: User, circle_id: str, user: User, role: str = "member") -> None:
    _ok(http.post(f"{C}/{circle_id}/members", json={"user_id": user.id, "role": role}, headers=host.headers), 201)


def _event(
    http: httpx.Client, host: User, *, circle_ids: list[str], visibility: str, publish: bool, approval: bool = False
) -> str:
    payload = event_payload(f"Matrix {visibility}", circle_ids=circle_ids, visibility=visibility)
    if approval:
        payload["requires_approval"] = True
    event_id = _ok(http.post(E, json=payload, headers=host.headers), 201)["id"]
    if publish:
        _ok(http.post(f"{E}/{event_id}/publish", headers=host.headers))
    return event_id


def _obligation_of(http: httpx.Client, user: User, circle_id: str) -> str:
    def found() -> str | None:
        response = http.get(f"{PAY}/obligations", params={"limit": 100}, headers=user.headers)
        _ok(response)
        return next((item["id"] for item in response.json()["items"] if item.get("circle_id") == circle_id), None)

    return wait_for(found, timeout=60, what=f"the dues obligation of {user.email} in circle {circle_id}")


def _own_session_id(http: httpx.Client, token: str) -> str:
    sessions = _ok(http.get(f"{AU}/sessions", headers=bearer(token)))
    return next(item["id"] for item in sessions if item["current"])


def build_world(fx: Fixture, http: httpx.Client, role: str, rel: str) -> World:
    host, owner = fx.host, fx.owners[role]
    member_user = owner if rel == MEMBER else fx.peer
    world = World(rel)
    ids = world.ids
    ids["priv"] = _circle(http, host, visibility="private", dues=True)
    ids["pub"] = _circle(http, host, visibility="public", dues=False)
    if rel == FACILITATOR:
        _add(http, host, ids["priv"], owner, "facilitator")
        _add(http, host, ids["pub"], owner, "facilitator")
    _add(http, host, ids["priv"], member_user)
    ids["member_user"] = member_user.id
    ids["member_name"] = member_user.display_name
    ids["priv_b"] = _circle(http, host, visibility="private", dues=False)
    _add(http, host, ids["priv_b"], member_user)
    if rel == FACILITATOR:
        _add(http, host, ids["priv_b"], owner, "facilitator")
    _ok(http.post(f"{C}/{ids['pub']}/join", headers=fx.applicant.headers), 201)
    ids["transfer"] = _ok(
        http.post(
            f"{C}/{ids['priv']}/transfer-requests", json={"to_circle_id": ids["pub"]}, headers=member_user.headers
        ),
        201,
    )["id"]
    meetings = _ok(
        http.post(
            f"{C}/{ids['priv']}/meetings", json={"starts_at": _in(3), "duration_minutes": 60}, headers=host.headers
        ),
        201,
    )
    ids["meeting"] = meetings["items"][0]["id"]
    ids["goal"] = _ok(
        http.post(
            f"{C}/{ids['priv']}/goals",
            json={
                "title": "Read a book",
                "period_start": dt.date.today().isoformat(),
                "period_end": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            },
            headers=member_user.headers,
        ),
        201,
    )["id"]
    ids["draft"] = _event(http, host, circle_ids=[ids["priv"]], visibility="circles", publish=False)
    ids["live"] = _event(http, host, circle_ids=[ids["priv"]], visibility="circles", publish=True)
    ids["open"] = _event(http, host, circle_ids=[], visibility="public", publish=True)
    ids["registration"] = _ok(http.post(f"{E}/{ids['live']}/registrations", json={}, headers=member_user.headers), 201)[
        "id"
    ]
    _ok(
        http.post(
            f"{E}/{ids['live']}/staff", json={"user_id": fx.staffer.id, "role": "care_team"}, headers=host.headers
        ),
        201,
    )
    # Applications wait for a decision on an event that requires approval.
    ids["vetted"] = _event(http, host, circle_ids=[ids["priv"]], visibility="public", publish=True, approval=True)
    for key, applicant in (("application", member_user), ("application_b", fx.applicant)):
        application = _ok(http.post(f"{E}/{ids['vetted']}/registrations", json={}, headers=applicant.headers), 201)
        assert application["status"] == "pending_approval", application
        ids[key] = application["id"]
    _add(http, host, ids["priv"], fx.mover)  # the member staff move to the public circle
    # The owner sends the invitation when he facilitates the circle; otherwise someone else did.
    inviter = owner if rel == FACILITATOR else host
    ids["invitation"] = _ok(
        http.post(
            "/api/v1/invitations",
            json={"email": unique_email("invitee"), "circle_id": ids["priv"]},
            headers=inviter.headers,
        ),
        201,
    )["id"]
    ids["obligation"] = _obligation_of(http, member_user, ids["priv"])
    # Messaging learns memberships from circles' stream: wait until it knows the circle's people.
    ids["thread"] = wait_for(
        lambda: _thread_of(http, host, ids["priv"]), timeout=60, what="the private circle's thread"
    )
    ids["message"] = wait_for(
        lambda: _message_in(http, member_user, ids["thread"]), timeout=60, what="a message in the thread"
    )
    return world


def _thread_of(http: httpx.Client, user: User, circle_id: str) -> str | None:
    response = http.get("/api/v1/conversations", params={"circle_id": circle_id}, headers=user.headers)
    return str(response.json()["items"][0]["id"]) if response.status_code == 200 else None


def _message_in(http: httpx.Client, user: User, conversation_id: str) -> str | None:
    response = http.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"body": "Hello circle"}, headers=user.headers
    )
    return str(response.json()["id"]) if response.status_code == 201 else None


def _stored_stripe_event(http: httpx.Client) -> str:
    """A genuine (signed) Stripe event the payments service stored, for staff to retry."""
    event = stripe_event()
    body = json.dumps(event, separators=(",", ":")).encode()
    headers = {"Stripe-Signature": stripe_signature(body), "Content-Type": "application/json"}
    _ok(http.post(f"{PAY}/webhooks/stripe", content=body, headers=headers), 200)
    return str(event["id"])


def _event_type(http: httpx.Client, admin: User) -> str:
    code = f"matrix_{uuid.uuid4().hex[:8]}"
    _ok(http.post("/api/v1/event-types", json={"code": code, "label": "Matrix"}, headers=admin.headers), 201)
    return code


@pytest.fixture(scope="module")
def matrix(platform, accounts: Accounts) -> Iterator[Fixture]:
    host = accounts.create("facilitator", "ptm", prefix="host", name="Host")
    people = {
        name: accounts.create(prefix=name, name=name.title())
        for name in ("peer", "applicant", "spare", "staffer", "subject", "mover", "payer")
    }
    owners = {role: accounts.create(role, prefix=f"owner-{role}", name=f"Owner {role}") for role in ROLES}
    outsiders = {role: accounts.create(role, prefix=f"outsider-{role}", name=f"Outsider {role}") for role in ROLES}
    fx = Fixture(
        platform,
        accounts,
        host,
        people["peer"],
        people["applicant"],
        people["spare"],
        people["staffer"],
        people["subject"],
        people["mover"],
        owners,
        outsiders,
        {},
        {},
    )
    with fx.http() as http:
        # Every user gets his circles profile now (the service also makes it from user.registered).
        for user in [host, *people.values(), *owners.values(), *outsiders.values()]:
            _ok(http.get("/api/v1/members/me", headers=user.headers))
        for role in ROLES:
            for rel in (MEMBER, FACILITATOR):
                fx.worlds[(role, rel)] = build_world(fx, http, role, rel)
        shared = fx.shared
        shared.update(
            {
                "spare": fx.spare.id,
                "staffer": fx.staffer.id,
                "applicant": fx.applicant.id,
                "subject": fx.subject.id,
                "mover": fx.mover.id,
            }
        )
        shared["event_type"] = _event_type(http, accounts.admin)
        shared["unused_event_type"] = _event_type(http, accounts.admin)
        shared["stripe_event"] = _stored_stripe_event(http)
        shared["template"] = _ok(
            http.post(
                f"{E}/requirement-templates",
                json={"name": f"Matrix {uuid.uuid4().hex[:8]}", "requirements": [{"kind": "verified_email"}]},
                headers=host.headers,
            ),
            201,
        )["id"]
        ledger = _circle(http, host, visibility="public", dues=True)
        _add(http, host, ledger, people["payer"])
        obligation = _obligation_of(http, people["payer"], ledger)
        paid = _ok(
            http.post(
                f"{PAY}/obligations/{obligation}/offline-payment",
                json={"amount": 1500, "method": "cash"},
                headers={**accounts.admin.headers, "Idempotency-Key": uuid.uuid4().hex},
            ),
            201,
        )
        shared["payment"] = paid["payment"]["id"]
        shared["foreign_session"] = _own_session_id(http, host.token)
    yield fx
    if fx.connection is not None:
        fx.connection.close()


# ---------------------------------------------------------------------------------------------
# Running one cell
# ---------------------------------------------------------------------------------------------
def callers(rule: Rule) -> Iterator[Caller]:
    yield Caller(None)
    for role in ROLES:
        for rel in rule.relations:
            yield Caller(role, rel)


def expected(rule: Rule, caller: Caller) -> int | str:
    if caller.role is None:
        return UNAUTHENTICATED
    visible, allowed = rule.see(caller), rule.do(caller)
    if rule.gate_first and not allowed:
        return FORBIDDEN
    if not visible:
        return HIDDEN
    return ALLOW if allowed else FORBIDDEN


def _placement(fx: Fixture, caller: Caller) -> tuple[User | None, World]:
    role = caller.role or "member"
    if caller.rel == STRANGER:
        return (fx.outsiders[role] if caller.role else None), fx.worlds[(role, MEMBER)]
    return fx.owners[role], fx.worlds[(role, caller.rel)]


def _resolve_param(ctx: Ctx, name: str, key: str | None) -> str:
    if key is None:
        return str(uuid.uuid4())  # an operation without a policy row: any id
    if key == "own_session":
        if ctx.user is None:
            return str(uuid.uuid4())
        token = ctx.fixture.accounts.login(User(ctx.user.email, ctx.user.password)).token
        with ctx.fixture.http() as http:
            return _own_session_id(http, token)
    return ctx.obj(key)


@dataclass
class Outcome:
    caller: Caller
    expected: int | str
    response: httpx.Response
    twin: httpx.Response | None = None  # the same request for a non-existent id

    def problem_type(self, response: httpx.Response | None = None) -> str:
        response = response or self.response
        try:
            body = response.json()
        except ValueError:
            return ""
        return str(body.get("type", "")).rsplit("/", 1)[-1] if isinstance(body, dict) else ""


def run_cell(fx: Fixture, method: str, path: str, rule: Rule, caller: Caller) -> Outcome:
    user, world = _placement(fx, caller)
    if rule.throwaway and caller.role:
        user = fx.accounts.create(caller.role, prefix=f"throwaway-{caller.role}")
    ctx = Ctx(fx, world, user)
    names = [segment[1:-1] for segment in path.split("/") if segment.startswith("{")]
    values = {name: _resolve_param(ctx, name, rule.params.get(name)) for name in names}
    token = user.token if user else None
    if user and rule.fresh_session:
        token = fx.accounts.login(User(user.email, user.password)).token
    body = rule.body(ctx) if rule.body else None
    csv_body = rule.csv(ctx) if rule.csv else None
    query = {**rule.query, **(rule.query_from(ctx) if rule.query_from else {})}
    want = expected(rule, caller)

    def send(path_values: dict[str, str]) -> httpx.Response:
        headers = bearer(token) if token else {}
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        kwargs: dict[str, Any] = {"headers": headers, "params": query}
        if csv_body is not None:
            kwargs["content"] = csv_body.encode()
            headers["Content-Type"] = "text/csv"
        elif body is not None:
            kwargs["json"] = body
        elif method in ("POST", "PUT", "PATCH") and rule.generic:
            kwargs["json"] = {}
        with fx.http() as http:
            try:
                return http.request(method, path.format(**path_values), **kwargs)
            except (httpx.RemoteProtocolError, httpx.ReadError):
                # The gateway closes a connection after refusing a request whose body it did not read,
                # without saying so (see test_input_hardening): send once more on a new connection.
                return http.request(method, path.format(**path_values), **kwargs)

    outcome = Outcome(caller, want, send(values))
    if want == HIDDEN and names and outcome.response.status_code == 404:
        # The hidden object must look exactly like one that does not exist.
        for name in reversed(names):
            twin = send({**values, name: str(uuid.uuid4())})
            outcome.twin = twin
            if _same_problem(outcome.response, twin):
                break
    if user and rule.relogin_after:
        fx.accounts.login(user)
    return outcome


def _same_problem(a: httpx.Response, b: httpx.Response) -> bool:
    try:
        left, right = a.json(), b.json()
    except ValueError:
        return False
    if not (isinstance(left, dict) and isinstance(right, dict)):
        return False
    return a.status_code == b.status_code and (left.get("type"), left.get("detail")) == (
        right.get("type"),
        right.get("detail"),
    )


def judge(rule: Rule, method: str, path: str, outcome: Outcome) -> str | None:
    """None when the cell behaves as the policy says, else what went wrong."""
    response, want = outcome.response, outcome.expected
    status = response.status_code
    got = f"{status} {outcome.problem_type() or response.text[:80]!r}"
    if status >= 500 and status not in rule.ok:
        return f"server error {got}"
    is_problem = response.headers.get("content-type", "").startswith("application/problem+json")
    if want in (UNAUTHENTICATED, FORBIDDEN, HIDDEN):
        if status != want:
            return f"expected {want}, got {got}"
        if not is_problem:
            return f"{status} without application/problem+json"
        if want == HIDDEN and outcome.twin is not None and not _same_problem(response, outcome.twin):
            return (
                f"hidden object distinguishable from a non-existent one: {got} vs "
                f"{outcome.twin.status_code} {outcome.problem_type(outcome.twin)!r}"
            )
        return None
    if rule.generic:
        return None  # whatever the function does, it answered without a server error
    # Allowed.
    if status in (401, 403):
        return f"allowed by policy, got {got}"
    if status == 404:
        if outcome.problem_type() in rule.ok_404:
            return None
        return f"allowed by policy, got {got} (the object should be visible to this caller)"
    if 200 <= status < 300 or status in rule.ok:
        return None
    if method != "GET" and status in WRITE:
        return None
    return f"allowed by policy, got {got}"


def _leaks(fx: Fixture, rule: Rule, caller: Caller, response: httpx.Response) -> str | None:
    """A list answer must not contain objects the caller may not see."""
    if rule.lists is None or caller.role is None or response.status_code != 200:
        return None
    _, world = _placement(fx, caller)
    listed = {item.get("id") for item in response.json().get("items", [])}
    hidden = []
    if rule.lists == "circles" and not SEE_PRIV(caller):
        hidden = [world.ids["priv"]]
    if rule.lists == "events":
        if not SEE_DRAFT(caller):
            hidden.append(world.ids["draft"])
        if not (SEE_LIVE | OWNER)(caller):
            hidden.append(world.ids["live"])
    if rule.lists == "directory":
        listed = {circle.get("id") for item in response.json().get("items", []) for circle in item.get("circles", [])}
        if not SEE_PRIV(caller):
            hidden = [world.ids["priv"], world.ids["priv_b"]]
    if rule.lists == "conversations" and not SEE_THREAD(caller):
        hidden.append(world.ids["thread"])
    if rule.lists == "invitations" and not SEE_INVITATION(caller):
        hidden.append(world.ids["invitation"])
    leaked = listed.intersection(hidden)
    return f"list shows objects the caller may not see: {sorted(leaked)}" if leaked else None


def _list_query(fx: Fixture, rule: Rule, caller: Caller) -> dict[str, str]:
    if rule.lists is None:
        return {}
    _, world = _placement(fx, caller)
    if rule.lists == "events":
        return {"circle_id": world.ids["priv"], "limit": "100"}
    if rule.lists in ("invitations", "conversations"):
        return {"limit": "100"}
    if rule.lists == "directory":
        return {"q": world.ids["member_name"], "limit": "100"}
    return {"limit": "100", "facilitator": fx.host.id}


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------
def test_operations_were_discovered_from_the_services():
    assert DISCOVERY_ERROR is None, f"could not read the services' OpenAPI documents: {DISCOVERY_ERROR}"
    assert len(OPERATIONS) > 50, OPERATIONS


def test_every_routed_operation_has_a_policy():
    missing = sorted(f"{method} {path}" for method, path in OPERATIONS if f"{method} {path}" not in POLICY)
    assert not missing, "operations without a row in POLICY (add who may see / do them):\n" + "\n".join(missing)


def test_policy_rows_match_existing_operations():
    stale = sorted(set(POLICY) - {f"{method} {path}" for method, path in OPERATIONS})
    assert not stale, "POLICY rows for operations the services no longer have:\n" + "\n".join(stale)


@pytest.mark.parametrize(("method", "path", "rule"), _cases())
def test_authorisation(matrix: Fixture, method: str, path: str, rule: Rule):
    problems = []
    for caller in callers(rule):
        rule_here = replace(rule, query={**rule.query, **_list_query(matrix, rule, caller)}) if rule.lists else rule
        outcome = run_cell(matrix, method, path, rule_here, caller)
        verdict = judge(rule_here, method, path, outcome) or _leaks(matrix, rule_here, caller, outcome.response)
        if verdict:
            problems.append(f"  {caller.label:<24} expected {outcome.expected}: {verdict}")
    assert not problems, f"{method} {path} [{rule.variant or 'default'}]\n" + "\n".join(problems)


# A child object addressed under a parent it does not belong to is not found, even by someone who
# manages that parent (ids from another world are swapped in one at a time).
CROSS_PARENT = [
    ("PATCH", "/api/v1/circles/{priv}/meetings/{meeting}", {"note": "x"}, "meeting"),
    ("PUT", "/api/v1/circles/{priv}/meetings/{meeting}/attendance", {"records": []}, "meeting"),
    ("GET", "/api/v1/circles/{priv}/meetings/{meeting}/attendance", None, "meeting"),
    ("POST", "/api/v1/events/{live}/registrations/{registration}/check-in", None, "registration"),
    ("PUT", "/api/v1/events/{live}/registrations/{registration}/care-team", {"user_id": None}, "registration"),
    ("POST", "/api/v1/events/{live}/registrations/{registration}/promote", None, "registration"),
    ("POST", "/api/v1/events/{live}/waitlist/{registration}/move", {"position": 1}, "registration"),
    ("PUT", "/api/v1/circles/{priv}/members/{member_user}/role", {"role": "member"}, "member_user"),
    ("DELETE", "/api/v1/circles/{priv}/members/{member_user}", {"reason": "cross-parent"}, "member_user"),
]


@pytest.mark.parametrize(
    ("method", "template", "body", "foreign"), CROSS_PARENT, ids=[f"{m} {t}" for m, t, _, _ in CROSS_PARENT]
)
def test_children_of_another_parent_are_not_found(matrix: Fixture, method: str, template: str, body: Any, foreign: str):
    manager = matrix.owners["facilitator"]  # facilitates his facilitator world's circles and events
    own = matrix.worlds[("facilitator", FACILITATOR)].ids
    other = matrix.worlds[("member", MEMBER)].ids  # a world he has nothing to do with
    values = {
        key: (other if key == foreign else own)[key]
        for key in ("priv", "live", "meeting", "registration", "member_user")
    }
    path = template.format(**values)
    with matrix.http() as http:
        response = http.request(method, path, json=body, headers=manager.headers)
    assert response.status_code == 404, describe(response)
