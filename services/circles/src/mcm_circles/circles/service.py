"""Circle use cases: create, read, list, update, archive. Each commits once.

A list request costs two statements whatever the page size: the filtered page, then the
facilitators of every circle on it (plus, once per viewer while the listing cache keeps it, the
viewer's private circles). Pages already rendered come from the listing cache.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.circles.errors import CapacityBelowMembers, CircleNotFound, InvalidCapacity
from mcm_circles.circles.models import Circle
from mcm_circles.circles.repository import CircleRepository
from mcm_circles.circles.schemas import Circle as CircleOut
from mcm_circles.circles.schemas import (
    CircleCreate,
    CircleImport,
    CircleImportResult,
    CircleQuery,
    CircleUpdate,
    Facilitator,
    Frequency,
    ImportedCircle,
    MeetingPlace,
    Money,
    PublicLocation,
    Schedule,
    Weekday,
)
from mcm_circles.integrity import maps_conflicts
from mcm_circles.listing_cache import STAFF_SCOPE, ListingCache, Scope
from mcm_circles.memberships import lifecycle
from mcm_circles.permissions import ensure_can_create_circle, is_staff, load_access
from mcm_circles.profiles.service import ensure_profile
from mcm_shared.pagination import Page, make_cursor, parse_datetime, parse_int, parse_str, read_cursor
from mcm_shared.security import Principal
from mcm_shared.wiring import OpenSession

CURSOR_PARSERS = {"name": parse_str, "created_at": parse_datetime, "open_seats": parse_int}


def to_out(circle: Circle, facilitators: list[tuple[uuid.UUID, str]]) -> CircleOut:
    dues = None
    if circle.dues_amount is not None and circle.dues_currency is not None:
        dues = Money.model_construct(amount=circle.dues_amount, currency=circle.dues_currency)
    return CircleOut(
        id=circle.id,
        name=circle.name,
        description=circle.description,
        capacity_max=circle.capacity_max,
        capacity_min=circle.capacity_min,
        schedule=Schedule.model_construct(
            # The table's CHECK constraints hold these columns to the API's literals.
            weekday=cast(Weekday, circle.schedule_weekday),
            time=circle.schedule_time,
            timezone=circle.schedule_timezone,
            frequency=cast(Frequency, circle.schedule_frequency),
        ),
        location=PublicLocation.model_construct(city=circle.location_city, online=circle.location_online),
        visibility=circle.visibility,
        join_policy=circle.join_policy,
        dues=dues,
        status=circle.status,
        member_count=circle.member_count,
        open_seats=circle.open_seats,
        facilitators=[Facilitator(user_id=user_id, display_name=name) for user_id, name in facilitators],
        created_at=circle.created_at,
        updated_at=circle.updated_at,
    )


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    """API shape (nested schedule/location/dues) → table columns."""
    columns: dict[str, Any] = {
        key: values[key]
        for key in ("name", "description", "capacity_max", "capacity_min", "visibility", "join_policy")
        if key in values
    }
    if "schedule" in values:
        schedule = values["schedule"]
        columns.update(
            schedule_weekday=schedule["weekday"],
            schedule_time=schedule["time"],
            schedule_timezone=schedule["timezone"],
            schedule_frequency=schedule["frequency"],
        )
    if "location" in values:
        location = values["location"]
        video_url = location.get("video_url")
        columns.update(
            location_city=location.get("city"),
            location_online=location["online"],
            location_address=location.get("address"),
            location_video_url=str(video_url) if video_url is not None else None,
        )
    if "dues" in values:
        dues = values["dues"]
        columns.update(dues_amount=dues["amount"] if dues else None, dues_currency=dues["currency"] if dues else None)
    return columns


async def _out(session: AsyncSession, circle: Circle) -> CircleOut:
    facilitators = await CircleRepository(session).facilitators([circle.id])
    return to_out(circle, facilitators.get(circle.id, []))


async def create_circle(session: AsyncSession, principal: Principal, data: CircleCreate) -> CircleOut:
    user_id = ensure_can_create_circle(principal)
    await ensure_profile(session, principal)
    circle = Circle(id=uuid.uuid4(), created_by=user_id, member_count=0, **_columns(data.model_dump()))
    await CircleRepository(session).add(circle)
    await lifecycle.start(session, circle, user_id, role="facilitator", added_by=user_id)
    result = await _out(session, circle)
    await session.commit()
    return result


def _problems(error: ValidationError) -> list[str]:
    return [f"{'.'.join(str(part) for part in item['loc']) or 'circle'}: {item['msg']}" for item in error.errors()]


async def import_circles(session: AsyncSession, request: CircleImport) -> CircleImportResult:
    """Bulk import (auth's, over the internal route): every row checked against the same rules as
    POST /api/v1/circles; with no invalid row and no dry run, the circles whose key is not known yet
    are created (no facilitator: they come by invitation), in one transaction. A key already
    imported is matched, never updated. Concurrent imports of one key: the unique key decides and
    the loser matches the winner's circle."""
    repository = CircleRepository(session)
    existing = await repository.by_import_keys([row.key for row in request.circles] + list(request.refer))
    checked: list[tuple[ImportedCircle, CircleCreate | None]] = []
    for row in request.circles:
        found = existing.get(row.key)
        if found is not None:
            checked.append((_imported(row.key, "existing", found), None))
            continue
        try:
            valid = CircleCreate.model_validate(row.circle)
        except ValidationError as error:
            checked.append((ImportedCircle(key=row.key, outcome="invalid", problems=_problems(error)), None))
            continue
        checked.append((ImportedCircle(key=row.key, outcome="new", capacity_max=valid.capacity_max), valid))
    known = [_imported(key, "existing", existing[key]) for key in dict.fromkeys(request.refer) if key in existing]
    if request.dry_run or any(item.outcome == "invalid" for item, _ in checked):
        await session.rollback()
        return CircleImportResult(circles=[item for item, _ in checked], known=known)
    for item, creating in checked:
        if creating is None:
            continue
        columns = _columns(creating.model_dump())
        circle_id = await session.scalar(
            insert(Circle)
            .values(id=uuid.uuid4(), created_by=request.created_by, member_count=0, import_key=item.key, **columns)
            .on_conflict_do_nothing(index_elements=[Circle.import_key])
            .returning(Circle.id)
        )
        if circle_id is None:  # imported by a concurrent run a moment ago
            winner = (await repository.by_import_keys([item.key]))[item.key]
            item.outcome, item.id = "existing", winner.id
        else:
            item.outcome, item.id = "created", circle_id
    await session.commit()
    return CircleImportResult(circles=[item for item, _ in checked], known=known)


def _imported(key: str, outcome: str, circle: Circle) -> ImportedCircle:
    return ImportedCircle(key=key, outcome=cast(Any, outcome), id=circle.id, capacity_max=circle.capacity_max)


async def get_circle(
    open_session: OpenSession, principal: Principal, circle_id: uuid.UUID, cache: ListingCache
) -> bytes:
    """One circle as JSON bytes; from the listing cache when it has it, with the same visibility
    rule as `load_access` (public, a current membership — the viewer's scope — or staff)."""
    generation = cache.generation
    scope = _known_scope(principal, cache)
    cached = cache.page(("circle", circle_id)) if scope is not None else None
    if cached is not None and scope is not None:
        visibility: str
        body: bytes
        visibility, body = cached
        if visibility == "public" or scope == STAFF_SCOPE or circle_id in scope:
            return body
        raise CircleNotFound()
    async with open_session() as session:
        access = (await load_access(session, principal, circle_id)).ensure_visible()
        out = await _out(session, access.circle)
    body = out.model_dump_json().encode()
    cache.store_page(("circle", circle_id), (access.circle.visibility, body), generation)
    return body


async def list_circles(
    open_session: OpenSession, principal: Principal, query: CircleQuery, cache: ListingCache
) -> bytes:
    """The page as JSON bytes, from the listing cache when it has it (see listing_cache.py);
    a database session is opened only for what the cache does not know."""
    generation = cache.generation  # before any read: a change heard after this voids the result
    scope = _known_scope(principal, cache)
    if scope is None:
        user_id = principal.user_id
        if user_id is None:  # _known_scope answers () to a caller without a user id
            raise RuntimeError("no scope for a caller without a user id")
        async with open_session() as session:
            scope = await CircleRepository(session).private_circles_of(user_id)
        cache.store_scope(user_id, scope, generation)

    async def render() -> bytes:
        async with open_session() as session:
            page = await _list_page(session, principal, query)
        return page.model_dump_json().encode()

    return await cache.page_or_render(
        (tuple(getattr(query, name) for name in LIST_QUERY_FIELDS), scope), generation, render
    )


LIST_QUERY_FIELDS = tuple(CircleQuery.model_fields)


def _known_scope(principal: Principal, cache: ListingCache) -> Scope | None:
    """What decides which circles the caller may see — everything (staff), or the private
    circles he belongs to — when it is known without asking the database."""
    if is_staff(principal):
        return STAFF_SCOPE
    if principal.user_id is None or not cache.active:
        return ()  # nothing will be cached; the list query applies visibility itself
    return cache.scope(principal.user_id)


async def _list_page(session: AsyncSession, principal: Principal, query: CircleQuery) -> Page[CircleOut]:
    sort_field = query.sort.lstrip("-")
    after = read_cursor(query.cursor, query.sort, CURSOR_PARSERS[sort_field])
    repo = CircleRepository(session)
    filters = query.model_dump(include={"q", "city", "online", "weekday", "has_open_seats", "facilitator", "status"})
    rows = await repo.list(
        viewer_id=principal.user_id,
        see_private=is_staff(principal),
        filters=filters,
        sort=query.sort,
        after=after,
        limit=query.limit,
    )
    page = rows[: query.limit]
    facilitators = await repo.facilitators(circle.id for circle in page)
    next_cursor = None
    if len(rows) > query.limit:
        last = page[-1]
        next_cursor = make_cursor(query.sort, getattr(last, sort_field), last.id)
    return Page[CircleOut](
        items=[to_out(circle, facilitators.get(circle.id, [])) for circle in page], next_cursor=next_cursor
    )


@maps_conflicts({"ck_circles_member_count_within_capacity": CapacityBelowMembers})
async def update_circle(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, data: CircleUpdate
) -> CircleOut:
    access = (await load_access(session, principal, circle_id, lock=True)).ensure_manage()
    circle = access.circle
    lifecycle.ensure_open(circle)
    values = data.model_dump(exclude_unset=True)
    # exclude_unset also drops defaults *inside* a nested object that was sent, so a sent
    # schedule/location/dues is taken whole.
    for nested in ("schedule", "location", "dues"):
        if nested in values and getattr(data, nested) is not None:
            values[nested] = getattr(data, nested).model_dump()
    columns = _columns(values)
    capacity_max = columns.get("capacity_max", circle.capacity_max)
    capacity_min = columns.get("capacity_min", circle.capacity_min)
    if capacity_min > capacity_max:
        raise InvalidCapacity(
            "capacity_min must not exceed capacity_max.",
            errors=[{"loc": ["body", "capacity_min"], "msg": "must not exceed capacity_max", "type": "value_error"}],
        )
    if capacity_max < circle.member_count:
        raise CapacityBelowMembers(f"The circle has {circle.member_count} members; capacity_max cannot go below that.")
    for name, value in columns.items():
        setattr(circle, name, value)
    await session.flush()
    result = await _out(session, circle)
    await session.commit()
    return result


def meeting_place(circle: Circle) -> MeetingPlace:
    return MeetingPlace(
        city=circle.location_city,
        online=circle.location_online,
        address=circle.location_address,
        video_url=circle.location_video_url,
    )


async def get_meeting_place(session: AsyncSession, principal: Principal, circle_id: uuid.UUID) -> MeetingPlace:
    """The address and video link: active members (facilitators included) and staff; anyone else
    who sees the circle gets 403, anyone who does not 404."""
    access = await load_access(session, principal, circle_id)
    access.ensure(access.can_read_members, "Only this circle's members and staff see where it meets.")
    return meeting_place(access.circle)
