"""Materialized views behind the reports, the job that refreshes them, and how fresh they are.

Each service keeps a `report_refreshes` table (view name → when it was last refreshed) next to
its views. Refreshing is safe with several replicas: each view is refreshed in its own
transaction under a transaction-scoped advisory lock named after it, and only when the row says
it is due, re-read under that lock, so replicas neither wait on each other nor refresh twice.
`REFRESH MATERIALIZED VIEW CONCURRENTLY` (every view has a unique index) lets reports keep
reading the previous contents meanwhile.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_shared.events.worker import BackgroundWorker

logger = logging.getLogger("mcm.reports")

# How often the job looks whether a view is due (it refreshes only views older than the interval).
CHECK_SECONDS_MAX = 60.0


_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def _name(identifier: str) -> str:
    """Schema and view names are the services' constants, never input; refuse anything else."""
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a plain SQL identifier: {identifier!r}")
    return identifier


class Freshness(BaseModel):
    refreshed_at: datetime | None = Field(description="When the figures were computed (null: not yet)")
    refresh_interval_seconds: int = Field(description="How often they are recomputed")
    stale_after: datetime | None = Field(description="refreshed_at + the interval: a newer refresh is due by then")


async def freshness_of(session: AsyncSession, schema: str, views: Sequence[str], interval_seconds: int) -> Freshness:
    """The oldest refresh among `views` (a report is as fresh as its stalest source)."""
    rows = await session.execute(
        text(f"SELECT count(*), min(refreshed_at) FROM {_name(schema)}.report_refreshes WHERE view = ANY(:views)"),  # noqa: S608
        {"views": list(views)},
    )
    count, oldest = rows.one()
    refreshed_at = oldest if count == len(views) else None
    stale_after = refreshed_at + timedelta(seconds=interval_seconds) if refreshed_at else None
    return Freshness(refreshed_at=refreshed_at, refresh_interval_seconds=interval_seconds, stale_after=stale_after)


async def refresh_views(
    sessionmaker: Callable[[], AsyncSession],
    schema: str,
    views: Sequence[str],
    *,
    interval_seconds: float,
    force: bool = False,
) -> list[str]:
    """Refresh each view that is due (all of them with `force`); returns those refreshed here."""
    refreshed: list[str] = []
    schema = _name(schema)
    due_sql = f"SELECT coalesce(max(refreshed_at) < now() - make_interval(secs => :secs), true) FROM {schema}.report_refreshes WHERE view = :view"  # noqa: S608, E501
    for view in map(_name, views):
        async with sessionmaker() as session, session.begin():
            key = {"key": f"mcm-report:{schema}.{view}"}
            if force:  # wait for a refresh in progress elsewhere, then refresh again
                await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), key)
            elif not await session.scalar(text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"), key):
                continue  # another replica is refreshing it right now
            due = force or await session.scalar(text(due_sql), {"secs": interval_seconds, "view": view})
            if not due:
                continue
            await session.execute(text(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {schema}.{view}"))
            await session.execute(
                text(
                    f"INSERT INTO {schema}.report_refreshes (view, refreshed_at) VALUES (:view, clock_timestamp()) "  # noqa: S608
                    "ON CONFLICT (view) DO UPDATE SET refreshed_at = excluded.refreshed_at"
                ),
                {"view": view},
            )
            refreshed.append(view)
    return refreshed


class ViewRefresher(BackgroundWorker):
    """The periodic job: refresh the views that are due, then wait."""

    kind = "report-refresher"

    def __init__(
        self,
        sessionmaker: Callable[[], AsyncSession],
        schema: str,
        views: Sequence[str],
        *,
        interval_seconds: float,
    ) -> None:
        super().__init__(backoff_initial=1.0, backoff_max=60.0)
        self.sessionmaker = sessionmaker
        self.schema = schema
        self.views = tuple(views)
        self.interval_seconds = interval_seconds

    async def _cycle(self) -> None:
        refreshed = await refresh_views(
            self.sessionmaker, self.schema, self.views, interval_seconds=self.interval_seconds
        )
        if refreshed:
            logger.info("refreshed report views", extra={"views": refreshed})
        await self._pause(min(self.interval_seconds, CHECK_SECONDS_MAX))
