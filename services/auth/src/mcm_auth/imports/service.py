"""Bulk import use case: check the whole file, then (a real run over a clean file) create its
circles in circles and invite its members, idempotently.

- Every problem is reported by line; a dry run writes nothing, and a real run over a file with
  any problem writes nothing either (ImportRefused lists them): half an organisation imported is
  harder to repair than a corrected file run again.
- Circles: created through circles' `POST /internal/v1/imports/circles` (service token), matched
  by their key when imported before (never updated: change them through the API).
- Members: invited into their circle (no account, no password: they sign up from the email); an
  invitation already open or accepted for that address and circle is not sent again, so running
  the same file twice sends nothing the second time. Runs are serialised by an advisory lock, so
  two concurrent runs cannot both send.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts.models import User
from mcm_auth.imports.errors import ImportRefused
from mcm_auth.imports.parse import KEY, ParsedFile
from mcm_auth.imports.schemas import CircleCounts, ImportProblem, ImportReport, InvitationCounts
from mcm_auth.invitations import service as invitations
from mcm_auth.ratelimit import hit
from mcm_auth.runtime import AuthRuntime

CIRCLES_IMPORT = "/internal/v1/imports/circles"
# Through the API, per admin: an import can send thousands of emails, and a dry run costs a call
# to circles per run. Enough for a migration day's corrections.
RUNS_PER_HOUR = 30
LOCK = "SELECT pg_advisory_xact_lock(hashtext('mcm_auth.imports'))"


class _Circle(BaseModel):
    key: str
    outcome: str
    id: uuid.UUID | None = None
    capacity_max: int | None = None
    problems: list[str] = []


class _CirclesAnswer(BaseModel):
    circles: list[_Circle]
    known: list[_Circle]


async def count_run(runtime: AuthRuntime, admin: User) -> None:
    """429 + Retry-After beyond RUNS_PER_HOUR runs (dry or real) per admin."""
    await hit(
        runtime.redis,
        f"auth:imports:user:{admin.id}",
        limit=RUNS_PER_HOUR,
        window_seconds=3600,
        detail="Too many imports in the last hour; try again later.",
    )


async def _ask_circles(runtime: AuthRuntime, parsed: ParsedFile, inviter: User, *, dry_run: bool) -> _CirclesAnswer:
    in_file = {row.key for row in parsed.circles}
    body: dict[str, Any] = {
        "created_by": str(inviter.id),
        "dry_run": dry_run,
        "circles": [{"key": row.key, "circle": row.fields} for row in parsed.circles],
        # A key of a shape never imported cannot exist: reported as unknown, not asked about.
        "refer": sorted({row.circle_key for row in parsed.members if KEY.match(row.circle_key)} - in_file),
    }
    return _CirclesAnswer.model_validate(await runtime.internal.post("circles", CIRCLES_IMPORT, body))


def _check_against_circles(parsed: ParsedFile, answer: _CirclesAnswer) -> dict[str, _Circle]:
    """Problems only circles' answer reveals; the circle of every usable key."""
    line_of = {row.key: row.line for row in parsed.circles}
    for circle in answer.circles:
        for problem in circle.problems:
            parsed.problem(line_of[circle.key], f"circle {circle.key!r}: {problem}")
    by_key = {circle.key: circle for circle in [*answer.circles, *answer.known]}
    seats: Counter[str] = Counter()
    for member in parsed.members:
        known = by_key.get(member.circle_key)
        if known is None:
            parsed.problem(member.line, f"unknown circle key {member.circle_key!r} (not in the file, never imported)")
            continue
        capacity = known.capacity_max
        if member.role != "member" or capacity is None:
            continue  # facilitators hold no seat; an invalid circle is reported on its own line
        seats[member.circle_key] += 1
        if seats[member.circle_key] == capacity + 1:
            parsed.problem(
                member.line,
                f"circle {member.circle_key!r} takes at most {capacity} members; this row is one too many",
            )
    return by_key


async def run(
    session: AsyncSession, runtime: AuthRuntime, inviter: User, parsed: ParsedFile, *, dry_run: bool
) -> ImportReport:
    answer = await _ask_circles(runtime, parsed, inviter, dry_run=True)
    by_key = _check_against_circles(parsed, answer)
    problems = sorted(parsed.problems, key=lambda problem: problem.line)
    if problems and not dry_run:
        raise ImportRefused(
            f"{len(problems)} problem(s); nothing was imported. Correct the file and run it again.",
            errors=[problem.model_dump() for problem in problems],
        )
    if not dry_run:
        answer = await _ask_circles(runtime, parsed, inviter, dry_run=False)
        by_key = {circle.key: circle for circle in [*answer.circles, *answer.known]}
        await session.execute(text(LOCK))
    outcomes = Counter(circle.outcome for circle in answer.circles)
    states = await invitations.circle_invitations_of(session, sorted({member.email for member in parsed.members}))
    sent = open_ = accepted = 0
    for member in parsed.members:
        target = by_key.get(member.circle_key)
        circle_id = target.id if target is not None else None
        state = states.get((member.email, circle_id)) if circle_id is not None else None
        if state == "open":
            open_ += 1
        elif state == "accepted":
            accepted += 1
        else:
            sent += 1
            if not dry_run and circle_id is not None:
                await invitations.invite_imported(
                    session, runtime, inviter, email=member.email, circle_id=circle_id, circle_role=member.role
                )
    if dry_run:
        await session.rollback()
    else:
        await session.commit()
    return ImportReport(
        dry_run=dry_run,
        circles=CircleCounts(created=outcomes["created"] + outcomes["new"], existing=outcomes["existing"]),
        invitations=InvitationCounts(sent=sent, already_open=open_, already_accepted=accepted),
        problems=[ImportProblem(line=problem.line, message=problem.message) for problem in problems],
    )
