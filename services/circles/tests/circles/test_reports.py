"""Circles' reports against a small fixture computed by hand (docs/reports.md has the formulas).

The period is January and February 2026. Rows outside it, cancelled meetings, draft and
cancelled events, facilitators and pending memberships are in the fixture to prove they are left out.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import text

from mcm_circles.reports.models import VIEWS
from mcm_circles.reports.schemas import AttendanceReport, EventsReport, GoalsReport, RetentionReport
from mcm_shared.reports import refresh_views

from .support import Api, make_user

PERIOD = {"from": "2026-01-01", "to": "2026-03-01"}
A, B = uuid.UUID(int=0xA), uuid.UUID(int=0xB)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text + "+00:00") if "T" in text else datetime.fromisoformat(text + "T00:00:00+00:00")


async def execute(api: Api, sql: str, **params: Any) -> None:
    async with api.db.session() as session:
        await session.execute(text(sql), params)
        await session.commit()


async def circle(api: Api, circle_id: uuid.UUID, name: str, creator: uuid.UUID) -> None:
    await execute(
        api,
        """INSERT INTO circles.circles (id, name, capacity_max, capacity_min, schedule_weekday, schedule_time,
               schedule_timezone, schedule_frequency, location_online, visibility, join_policy, created_by)
           VALUES (:id, :name, 10, 2, 'monday', '19:00', 'UTC', 'weekly', true, 'public', 'open', :by)""",
        id=circle_id,
        name=name,
        by=creator,
    )


async def membership(
    api: Api, circle_id: uuid.UUID, joined: str | None, ended: str | None = None, *, role: str = "member"
) -> tuple[uuid.UUID, uuid.UUID]:
    user = await make_user(api)
    membership_id = uuid.uuid4()
    status = "pending" if joined is None else ("ended" if ended else "active")
    await execute(
        api,
        """INSERT INTO circles.memberships (id, circle_id, user_id, role, status, joined_at, ended_at, end_reason)
           VALUES (:id, :circle, :user, :role, :status, :joined, :ended, :reason)""",
        id=membership_id,
        circle=circle_id,
        user=user.id,
        role=role,
        status=status,
        joined=t(joined) if joined else None,
        ended=t(ended) if ended else None,
        reason="left" if ended else None,
    )
    return membership_id, user.id


async def meeting(api: Api, circle_id: uuid.UUID, starts: str, marks: dict, *, cancelled: bool = False) -> None:
    meeting_id = uuid.uuid4()
    await execute(
        api,
        """INSERT INTO circles.meetings (id, circle_id, starts_at, duration_minutes, status, created_by)
           VALUES (:id, :circle, :starts, 90, :status, :by)""",
        id=meeting_id,
        circle=circle_id,
        starts=t(starts),
        status="cancelled" if cancelled else "scheduled",
        by=uuid.uuid4(),
    )
    for (membership_id, user_id), status in marks.items():
        await execute(
            api,
            """INSERT INTO circles.attendance (meeting_id, user_id, circle_id, membership_id, status, recorded_by)
               VALUES (:meeting, :user, :circle, :membership, :status, :by)""",
            meeting=meeting_id,
            user=user_id,
            circle=circle_id,
            membership=membership_id,
            status=status,
            by=uuid.uuid4(),
        )


async def goal(api: Api, circle_id: uuid.UUID, member: tuple, start: str, end: str, *, done: bool) -> None:
    await execute(
        api,
        """INSERT INTO circles.goals (id, circle_id, user_id, membership_id, title, period_start, period_end, done_at)
           VALUES (:id, :circle, :user, :membership, 'A goal', :start, :end, :done)""",
        id=uuid.uuid4(),
        circle=circle_id,
        user=member[1],
        membership=member[0],
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
        done=t(end) if done else None,
    )


async def event(api: Api, title: str, starts: str, capacity: int, status: str) -> uuid.UUID:
    event_id = uuid.uuid4()
    await execute(
        api,
        """INSERT INTO circles.events (id, type, title, description, starts_at, ends_at, timezone, online, capacity,
               price_amount, price_currency, visibility, status, seats_taken, confirmed_count, waitlist_count,
               created_by)
           VALUES (:id, 'workshop', :title, '', :starts, :ends, 'UTC', true, :capacity,
               0, 'EUR', 'public', :status, 0, 0, 0, :by)""",
        id=event_id,
        title=title,
        starts=t(starts),
        ends=t(starts.replace("T10:", "T12:")),
        capacity=capacity,
        status=status,
        by=uuid.uuid4(),
    )
    return event_id


async def registration(api: Api, event_id: uuid.UUID, status: str, position: int | None = None) -> uuid.UUID:
    registration_id = uuid.uuid4()
    await execute(
        api,
        """INSERT INTO circles.event_registrations (id, event_id, user_id, status, waitlist_position, amount,
               currency, instalments, answers, confirmed_at, hold_expires_at, cancelled_at)
           VALUES (:id, :event, :user, CAST(:status AS text), :position, 0, 'EUR', 1, '{}',
               CASE WHEN CAST(:status AS text) IN ('confirmed', 'cancelled') THEN now() END,
               CASE WHEN CAST(:status AS text) = 'pending_payment' THEN now() END,
               CASE WHEN CAST(:status AS text) = 'cancelled' THEN now() END)""",
        id=registration_id,
        event=event_id,
        user=uuid.uuid4(),
        status=status,
        position=position,
    )
    return registration_id


async def move(api: Api, registration_id: uuid.UUID, status: str) -> None:
    """What the seat code does when a registration leaves the waitlist (the trigger notes it)."""
    await execute(
        api,
        """UPDATE circles.event_registrations
              SET status = CAST(:status AS text), waitlist_position = NULL,
                  confirmed_at = CASE WHEN CAST(:status AS text) = 'confirmed' THEN now() ELSE confirmed_at END,
                  hold_expires_at = CASE WHEN CAST(:status AS text) = 'pending_payment' THEN now() END
            WHERE id = :id""",
        id=registration_id,
        status=status,
    )


@pytest.fixture
async def fixture(api: Api) -> Api:
    creator = uuid.uuid4()
    await circle(api, A, "Alpha", creator)
    await circle(api, B, "Beta", creator)
    m1 = await membership(api, A, "2025-12-01")
    m2 = await membership(api, A, "2025-11-01", "2026-01-20")
    m3 = await membership(api, A, "2026-01-10")
    m4 = await membership(api, A, "2026-02-05", "2026-02-25")
    m5 = await membership(api, A, "2025-10-01", "2026-03-10")
    await membership(api, A, "2025-01-01", role="facilitator")  # holds no seat: not counted
    await membership(api, A, None)  # pending: never joined
    await membership(api, B, "2025-12-15", "2025-12-31")  # gone before the period
    m7 = await membership(api, B, "2026-02-01")  # joined at the very start of February

    await meeting(api, A, "2026-01-10T19:00:00", {m1: "present", m3: "late", m5: "absent", m2: "excused"})
    await meeting(api, A, "2026-01-24T19:00:00", {m1: "present"}, cancelled=True)
    await meeting(api, A, "2026-02-07T19:00:00", {m1: "present", m3: "present", m5: "late", m4: "absent"})
    await meeting(api, B, "2026-02-14T19:00:00", {m7: "present"})
    await meeting(api, A, "2026-03-07T19:00:00", {m1: "absent"})

    await goal(api, A, m1, "2026-01-01", "2026-01-31", done=True)
    await goal(api, A, m3, "2026-01-10", "2026-01-31", done=False)
    await goal(api, A, m1, "2026-02-01", "2026-02-28", done=True)
    await goal(api, A, m5, "2026-01-15", "2026-02-15", done=False)
    await goal(api, A, m1, "2026-03-01", "2026-03-31", done=True)
    await goal(api, B, m7, "2026-02-01", "2026-02-28", done=True)

    e1 = await event(api, "January workshop", "2026-01-15T10:00:00", 4, "published")
    await registration(api, e1, "confirmed")
    r2 = await registration(api, e1, "waitlisted", 1)
    await registration(api, e1, "waitlisted", 2)
    r4 = await registration(api, e1, "waitlisted", 3)
    await registration(api, e1, "cancelled")
    await move(api, r2, "confirmed")  # promoted and confirmed: converted
    await move(api, r4, "pending_payment")  # promoted, never paid: not converted
    await execute(api, "UPDATE circles.event_registrations SET status = 'expired' WHERE id = :id", id=r4)
    e2 = await event(api, "February retreat", "2026-02-20T10:00:00", 2, "completed")
    await registration(api, e2, "confirmed")
    await registration(api, e2, "confirmed")
    e3 = await event(api, "Cancelled", "2026-02-25T10:00:00", 5, "cancelled")
    await registration(api, e3, "confirmed")
    await event(api, "Draft", "2026-01-20T10:00:00", 5, "draft")
    e5 = await event(api, "March", "2026-03-05T10:00:00", 5, "published")
    await registration(api, e5, "confirmed")

    await refresh_views(api.db.session, "circles", VIEWS, interval_seconds=900, force=True)
    return api


@pytest.fixture
async def leader(api: Api):
    return await make_user(api, "member", "leadership")


async def as_csv(api: Api, user, path: str, params: dict, accept: str = "text/csv"):
    return await api.client.get(path, params=params, headers={**user.headers, "Accept": accept})


async def report(api: Api, user, name: str, **params: str) -> dict:
    response = await api.get(user, f"/api/v1/reports/{name}", params={**PERIOD, **params})
    assert response.status_code == 200, response.text
    return response.json()


async def test_retention_per_circle_and_month(fixture: Api, leader) -> None:
    body = await report(fixture, leader, "retention")
    assert body["from"] == "2026-01-01" and body["to"] == "2026-03-01"
    assert body["circles"] == [
        {"circle_id": str(A), "circle_name": "Alpha", "members_at_start": 3, "joined": 2, "left": 2,
         "members_at_end": 3, "retained": 2, "retention_rate": 0.6667},
        {"circle_id": str(B), "circle_name": "Beta", "members_at_start": 0, "joined": 1, "left": 0,
         "members_at_end": 1, "retained": 0, "retention_rate": None},
    ]  # fmt: skip
    assert body["months"] == [
        {"month": "2026-01", "members_at_start": 3, "joined": 1, "left": 1, "members_at_end": 3, "retained": 2,
         "retention_rate": 0.6667},
        {"month": "2026-02", "members_at_start": 3, "joined": 2, "left": 1, "members_at_end": 4, "retained": 3,
         "retention_rate": 1.0},
    ]  # fmt: skip


async def test_attendance_across_circles(fixture: Api, leader) -> None:
    body = await report(fixture, leader, "attendance")
    assert body["months"] == [
        {"month": "2026-01", "marked": 4, "present": 1, "late": 1, "excused": 1, "absent": 1, "attendance_rate": 0.5},
        {"month": "2026-02", "marked": 5, "present": 3, "late": 1, "excused": 0, "absent": 1, "attendance_rate": 0.8},
    ]
    assert body["circles"] == [
        {"circle_id": str(A), "circle_name": "Alpha", "marked": 8, "present": 3, "late": 2, "excused": 1,
         "absent": 2, "attendance_rate": 0.625},
        {"circle_id": str(B), "circle_name": "Beta", "marked": 1, "present": 1, "late": 0, "excused": 0,
         "absent": 0, "attendance_rate": 1.0},
    ]  # fmt: skip


async def test_goal_completion_by_target_month(fixture: Api, leader) -> None:
    body = await report(fixture, leader, "goals")
    assert body["months"] == [
        {"month": "2026-01", "goals_set": 2, "completed": 1, "completion_rate": 0.5},
        {"month": "2026-02", "goals_set": 3, "completed": 2, "completion_rate": 0.6667},
    ]
    assert body["circles"] == [
        {"circle_id": str(A), "circle_name": "Alpha", "goals_set": 4, "completed": 2, "completion_rate": 0.5},
        {"circle_id": str(B), "circle_name": "Beta", "goals_set": 1, "completed": 1, "completion_rate": 1.0},
    ]


async def test_event_fill_and_waitlist_conversion(fixture: Api, leader) -> None:
    body = await report(fixture, leader, "events")
    events = [{k: v for k, v in row.items() if k not in ("event_id", "starts_at")} for row in body["events"]]
    assert events == [
        {"title": "January workshop", "month": "2026-01", "capacity": 4, "confirmed": 2, "fill_rate": 0.5,
         "waitlisted": 3, "converted": 1, "conversion_rate": 0.3333},
        {"title": "February retreat", "month": "2026-02", "capacity": 2, "confirmed": 2, "fill_rate": 1.0,
         "waitlisted": 0, "converted": 0, "conversion_rate": None},
    ]  # fmt: skip
    assert body["months"] == [
        {"month": "2026-01", "events": 1, "capacity": 4, "confirmed": 2, "fill_rate": 0.5, "waitlisted": 3,
         "converted": 1, "conversion_rate": 0.3333},
        {"month": "2026-02", "events": 1, "capacity": 2, "confirmed": 2, "fill_rate": 1.0, "waitlisted": 0,
         "converted": 0, "conversion_rate": None},
    ]  # fmt: skip


async def test_period_filtering_moves_to_whole_months(fixture: Api, leader) -> None:
    body = await report(fixture, leader, "attendance", **{"from": "2026-02-10", "to": "2026-02-15"})
    assert (body["from"], body["to"]) == ("2026-02-01", "2026-03-01")
    assert [row["month"] for row in body["months"]] == ["2026-02"]
    assert body["circles"][0]["marked"] == 4  # Alpha's February meeting only
    march = await report(fixture, leader, "goals", **{"from": "2026-03-01", "to": "2026-04-01"})
    assert march["months"] == [{"month": "2026-03", "goals_set": 1, "completed": 1, "completion_rate": 1.0}]


async def test_bad_periods_are_422(api: Api, leader) -> None:
    for params in ({"from": "2026-03-01", "to": "2026-03-01"}, {"from": "2020-01-01", "to": "2026-03-01"}):
        response = await api.get(leader, "/api/v1/reports/goals", params=params)
        assert response.status_code == 422, params
    response = await api.get(leader, "/api/v1/reports/goals", params={"from": "yesterday"})
    assert response.status_code == 422


async def test_default_period_is_the_last_twelve_months(api: Api, leader) -> None:
    body = (await api.get(leader, "/api/v1/reports/goals")).json()
    assert len(body["months"]) == 12
    today = date.today()
    assert body["months"][-1]["month"] == f"{today.year:04d}-{today.month:02d}"


async def test_freshness_is_stated(fixture: Api, leader) -> None:
    body = await report(fixture, leader, "retention")
    freshness = body["freshness"]
    refreshed = datetime.fromisoformat(freshness["refreshed_at"])
    assert freshness["refresh_interval_seconds"] == fixture.settings.reports_refresh_interval_seconds
    stale_after = datetime.fromisoformat(freshness["stale_after"])
    assert (stale_after - refreshed).total_seconds() == freshness["refresh_interval_seconds"]


async def test_figures_change_only_when_the_views_are_refreshed(fixture: Api, leader) -> None:
    before = (await report(fixture, leader, "goals"))["months"][0]
    member = await membership(fixture, B, "2026-01-01")
    await goal(fixture, B, member, "2026-01-01", "2026-01-31", done=True)
    assert (await report(fixture, leader, "goals"))["months"][0] == before  # not refreshed yet
    refreshed = await refresh_views(fixture.db.session, "circles", VIEWS, interval_seconds=900)
    assert refreshed == []  # refreshed moments ago: not due
    await refresh_views(fixture.db.session, "circles", VIEWS, interval_seconds=0)
    after = (await report(fixture, leader, "goals"))["months"][0]
    assert (after["goals_set"], after["completed"]) == (3, 2)


async def test_csv_is_one_table_with_a_header_row(fixture: Api, leader) -> None:
    response = await as_csv(fixture, leader, "/api/v1/reports/retention", {**PERIOD, "table": "months"}, "text/csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        response.headers["content-disposition"] == 'attachment; filename="retention-months-2026-01-01-2026-03-01.csv"'
    )
    assert response.text.startswith("month,members_at_start,joined,left,members_at_end,retained,retention_rate\r\n")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[1] == {"month": "2026-02", "members_at_start": "3", "joined": "2", "left": "1",
                       "members_at_end": "4", "retained": "3", "retention_rate": "1.0"}  # fmt: skip
    default = await as_csv(fixture, leader, "/api/v1/reports/retention", PERIOD, "text/csv")
    beta = list(csv.DictReader(io.StringIO(default.text)))[1]
    assert beta["circle_name"] == "Beta" and beta["retention_rate"] == ""  # null is an empty field


async def test_csv_quotes_what_needs_quoting(api: Api, leader) -> None:
    await circle(api, A, 'Men, "brothers"\nand friends', uuid.uuid4())
    await membership(api, A, "2026-01-05")
    await refresh_views(api.db.session, "circles", VIEWS, interval_seconds=900, force=True)
    response = await as_csv(api, leader, "/api/v1/reports/retention", PERIOD, "text/csv")
    assert '"Men, ""brothers""\nand friends"' in response.text
    [row] = csv.DictReader(io.StringIO(response.text))
    assert row["circle_name"] == 'Men, "brothers"\nand friends'


async def test_json_wins_unless_csv_is_preferred(fixture: Api, leader) -> None:
    for accept in ("*/*", "application/json, text/csv", "text/csv;q=0.5, application/json"):
        response = await as_csv(fixture, leader, "/api/v1/reports/goals", PERIOD, accept)
        assert response.headers["content-type"] == "application/json", accept
    response = await as_csv(fixture, leader, "/api/v1/reports/goals", {**PERIOD, "table": "nope"}, "text/csv")
    assert response.status_code == 422


@pytest.mark.parametrize("name", ["retention", "attendance", "goals", "events"])
@pytest.mark.parametrize(
    ("roles", "status"),
    [
        (("member",), 403),
        (("member", "facilitator"), 403),
        (("member", "ptm"), 403),
        (("member", "support"), 403),
        (("member", "leadership"), 200),
        (("member", "admin"), 200),
    ],
)
async def test_only_leadership_and_admin_read_reports(api: Api, name: str, roles: tuple, status: int) -> None:
    user = await make_user(api, *roles)
    assert (await api.get(user, f"/api/v1/reports/{name}")).status_code == status
    assert (await api.client.get(f"/api/v1/reports/{name}")).status_code == 401


async def test_the_waitlist_history_is_kept_by_the_database(api: Api) -> None:
    event_id = await event(api, "E", "2026-01-15T10:00:00", 1, "published")
    waiting = await registration(api, event_id, "waitlisted", 1)
    row = (await api.rows("SELECT * FROM circles.event_registrations WHERE id = :id", id=waiting))[0]
    assert row["waitlisted_at"] is not None and row["promoted_at"] is None
    await move(api, waiting, "confirmed")
    row = (await api.rows("SELECT * FROM circles.event_registrations WHERE id = :id", id=waiting))[0]
    assert row["promoted_at"] is not None and row["waitlisted_at"] is not None
    direct = await registration(api, event_id, "confirmed")
    row = (await api.rows("SELECT * FROM circles.event_registrations WHERE id = :id", id=direct))[0]
    assert row["waitlisted_at"] is None and row["promoted_at"] is None


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("retention", RetentionReport),
        ("attendance", AttendanceReport),
        ("goals", GoalsReport),
        ("events", EventsReport),
    ],
)
async def test_the_json_the_database_renders_is_what_openapi_documents(fixture: Api, leader, name, model) -> None:
    body = await report(fixture, leader, name)
    parsed = model.model_validate(body)
    assert list(body) == list(parsed.model_dump(by_alias=True))  # no key missing, none extra, same order
    for table, field in model.model_fields.items():
        if field.annotation is not None and getattr(field.annotation, "__origin__", None) is list:
            row_model = field.annotation.__args__[0]
            assert body[table], table
            assert all(list(row) == list(row_model.model_fields) for row in body[table]), table


async def test_replicas_refreshing_at_once_refresh_each_view_once(api: Api) -> None:
    await execute(api, "TRUNCATE circles.report_refreshes")  # every view due
    refreshed = await asyncio.gather(
        *(refresh_views(api.db.session, "circles", VIEWS, interval_seconds=900) for _ in range(3))
    )
    done = [view for views in refreshed for view in views]
    # The app's own refresher is one more replica and may take a view first: never twice, though.
    assert done and len(done) == len(set(done))
    assert await api.scalar("SELECT count(*) FROM circles.report_refreshes") == len(VIEWS)
