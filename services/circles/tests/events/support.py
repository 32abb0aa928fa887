"""Small factories and helpers for the events tests (people, circles, attendance, events, outbox)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from mcm_circles.circles.models import Circle
from mcm_circles.clock import ManualClock
from mcm_circles.config import EventsSettings
from mcm_circles.meetings.models import Attendance, Meeting
from mcm_circles.memberships.models import Membership
from mcm_circles.outbox import EVENTS
from mcm_circles.profiles.models import Profile
from mcm_shared.db import Database
from mcm_testing.issuer import TestIssuer

START = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


@dataclass
class Person:
    user_id: uuid.UUID
    name: str
    headers: dict[str, str]


@dataclass
class World:
    client: httpx.AsyncClient
    app: FastAPI
    issuer: TestIssuer
    clock: ManualClock
    db: Database
    settings: EventsSettings

    async def person(
        self,
        *roles: str,
        name: str | None = None,
        verified_email: bool = False,
        verified_phone: bool = False,
        profile: bool = True,
    ) -> Person:
        user_id = uuid.uuid4()
        name = name or f"Member {user_id.hex[:6]}"
        if profile:
            async with self.db.session() as session:
                session.add(
                    Profile(
                        user_id=user_id, display_name=name, verified_email=verified_email, verified_phone=verified_phone
                    )
                )
                await session.commit()
        return Person(user_id, name, self.issuer.headers(user_id, roles=roles or ("member",)))

    async def circle(self, facilitator: Person, *members: Person) -> uuid.UUID:
        now = datetime.now(UTC)
        async with self.db.session() as session:
            circle = Circle(
                name=f"Circle {uuid.uuid4().hex[:6]}",
                description="",
                capacity_max=10,
                capacity_min=2,
                schedule_weekday="monday",
                schedule_time=time(19, 0),
                schedule_timezone="Europe/Berlin",
                schedule_frequency="weekly",
                location_city="Berlin",
                location_online=False,
                visibility="public",
                join_policy="open",
                member_count=len(members),
                created_by=facilitator.user_id,
            )
            session.add(circle)
            await session.flush()
            session.add(
                Membership(
                    circle_id=circle.id, user_id=facilitator.user_id, role="facilitator", status="active", joined_at=now
                )
            )
            for member in members:
                session.add(
                    Membership(
                        circle_id=circle.id, user_id=member.user_id, role="member", status="active", joined_at=now
                    )
                )
            await session.commit()
            return circle.id

    async def attended(self, circle_id: uuid.UUID, person: Person, meetings: int) -> None:
        async with self.db.session() as session:
            membership = await session.scalar(
                select(Membership).where(Membership.circle_id == circle_id, Membership.user_id == person.user_id)
            )
            for n in range(meetings):
                meeting = Meeting(
                    circle_id=circle_id,
                    starts_at=START - timedelta(days=7 * (n + 1)),
                    duration_minutes=90,
                    status="scheduled",
                    created_by=person.user_id,
                )
                session.add(meeting)
                await session.flush()
                session.add(
                    Attendance(
                        meeting_id=meeting.id,
                        user_id=person.user_id,
                        circle_id=circle_id,
                        membership_id=membership.id,
                        status="present",
                        recorded_by=person.user_id,
                    )
                )
            await session.commit()

    async def create_event(self, actor: Person, **overrides: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/events", json=event_body(**overrides), headers=actor.headers)
        assert response.status_code == 201, response.text
        return response.json()

    async def published_event(self, actor: Person, **overrides: Any) -> dict[str, Any]:
        event = await self.create_event(actor, **overrides)
        response = await self.client.post(f"/api/v1/events/{event['id']}/publish", headers=actor.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def register(self, person: Person, event_id: str, expect: int = 201, **body: Any) -> dict[str, Any]:
        response = await self.client.post(f"/api/v1/events/{event_id}/registrations", json=body, headers=person.headers)
        assert response.status_code == expect, response.text
        return response.json()

    async def get(self, path: str, person: Person, expect: int = 200) -> Any:
        response = await self.client.get(path, headers=person.headers)
        assert response.status_code == expect, response.text
        return response.json()

    async def post(self, path: str, person: Person, expect: int = 200, json: Any = None) -> Any:
        response = await self.client.post(path, headers=person.headers, json=json)
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    async def outbox(self, event_type: str, **match: Any) -> list[dict[str, Any]]:
        """Payloads of outbox rows of `event_type` whose payload contains `match` (values as str)."""
        outbox = EVENTS.outbox
        async with self.db.session() as session:
            rows = await session.execute(
                select(outbox.c.payload).where(outbox.c.event_type == event_type).order_by(outbox.c.position)
            )
            payloads = [row.payload for row in rows]
        wanted = {key: str(value) for key, value in match.items()}
        return [p for p in payloads if all(str(p.get(key)) == value for key, value in wanted.items())]


def event_body(**overrides: Any) -> dict[str, Any]:
    starts = overrides.pop("starts_at", START + timedelta(days=30))
    body: dict[str, Any] = {
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
    for key, value in overrides.items():
        body[key] = value.isoformat() if isinstance(value, datetime) else value
    return body
