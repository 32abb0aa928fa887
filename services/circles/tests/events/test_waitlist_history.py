"""The event report's waitlist conversion, through the real registration paths: the one-statement
admission puts people on the waitlist, a cancellation promotes the first of them (docs/reports.md)."""

from __future__ import annotations

from sqlalchemy import text

from mcm_circles.reports.models import VIEWS
from mcm_shared.reports import refresh_views

from .support import World


async def test_a_promoted_and_confirmed_registration_counts_as_converted(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1)
    seated, first, second = await world.person(), await world.person(), await world.person()
    await world.register(seated, event["id"])
    assert (await world.register(first, event["id"]))["status"] == "waitlisted"
    assert (await world.register(second, event["id"]))["status"] == "waitlisted"
    response = await world.client.delete(f"/api/v1/events/{event['id']}/registrations/me", headers=seated.headers)
    assert response.json()["status"] == "cancelled"

    await refresh_views(world.db.sessionmaker, "circles", VIEWS, interval_seconds=900, force=True)
    async with world.db.session() as session:
        row = (
            await session.execute(
                text("SELECT confirmed, waitlisted, converted FROM circles.report_event_fill WHERE event_id = :id"),
                {"id": event["id"]},
            )
        ).one()
    assert tuple(row) == (1, 2, 1)
