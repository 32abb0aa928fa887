"""Realistic data, written straight into the services' tables with COPY (asyncpg).

Volumes: 10,000 circles and 100,000 memberships (facilitators, seated members, pending requests
and ended history), one profile per person (circles DB) and one account per person (credentials
DB), 1,000 events with registrations and waitlists, plus the few events the contention scenario
uses. Denormalised counters are derived from the rows generated, and checked in SQL afterwards:
`circles.member_count` = active members with role `member`; an event's `seats_taken`,
`confirmed_count`, `waitlist_count` = its confirmed + pending_payment, confirmed, waitlisted
registrations, with dense waitlist positions.

The tables are introspected first: a NOT NULL column without default that this seeder does not
know raises `NotAvailable` naming it, so a schema change shows up as a clear message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any

import asyncpg
import bcrypt

from benchkit.report import NotAvailable

CIRCLES = 10_000
MEMBERSHIPS = 100_000
PEOPLE = 90_000
EVENTS = 1_000
MEMBER_PASSWORD = "bench member password, long enough"

CITIES = {
    "Berlin": "Europe/Berlin",
    "Hamburg": "Europe/Berlin",
    "Munich": "Europe/Berlin",
    "Cologne": "Europe/Berlin",
    "Vienna": "Europe/Vienna",
    "Zurich": "Europe/Zurich",
    "Amsterdam": "Europe/Amsterdam",
    "London": "Europe/London",
    "Dublin": "Europe/Dublin",
    "Copenhagen": "Europe/Copenhagen",
    "Stockholm": "Europe/Stockholm",
    "Oslo": "Europe/Oslo",
    "Lisbon": "Europe/Lisbon",
    "Madrid": "Europe/Madrid",
    "Barcelona": "Europe/Madrid",
    "Paris": "Europe/Paris",
    "Lyon": "Europe/Paris",
    "Brussels": "Europe/Brussels",
    "Prague": "Europe/Prague",
    "Warsaw": "Europe/Warsaw",
}
FIRST_NAMES = (
    "Adam",
    "Ben",
    "Carl",
    "David",
    "Erik",
    "Felix",
    "Georg",
    "Henrik",
    "Ivan",
    "Jonas",
    "Karl",
    "Lars",
    "Mark",
    "Nils",
    "Oscar",
    "Paul",
    "Quentin",
    "Rafael",
    "Simon",
    "Tom",
    "Umar",
    "Viktor",
    "Walter",
    "Xaver",
    "Yusuf",
    "Zeno",
    "Ali",
    "Bruno",
    "Chris",
    "Daniel",
    "Emil",
    "Frank",
    "Gustav",
    "Hugo",
    "Jan",
    "Kevin",
    "Luis",
    "Max",
    "Noah",
    "Peter",
)
TREES = ("Oak", "Birch", "Cedar", "Maple", "Willow", "Pine", "Ash", "Elm", "Linden", "Rowan", "Alder", "Juniper")
WORDS = (
    "Tuesday",
    "Evening",
    "Morning",
    "River",
    "Mountain",
    "Harbour",
    "Hearth",
    "Fireside",
    "North",
    "South",
    "Open",
    "Quiet",
)
TOPICS = (
    "fatherhood",
    "career change",
    "grief",
    "purpose",
    "relationships",
    "leadership",
    "health",
    "anger",
    "trust",
    "new beginnings",
    "retirement",
    "creativity",
    "addiction recovery",
    "faith",
    "loneliness",
    "burnout",
)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
EVENT_KINDS = (  # type, weight, (capacity range), (price range in cents; 0 = free), duration
    ("movie_night", 25, (20, 60), (0, 0), timedelta(hours=3)),
    ("workshop", 30, (12, 40), (2500, 9000), timedelta(hours=4)),
    ("day_retreat", 20, (15, 50), (4000, 15000), timedelta(hours=8)),
    ("multi_day_retreat", 10, (10, 30), (20000, 90000), timedelta(days=3)),
    ("meetup", 15, (20, 100), (0, 0), timedelta(hours=2)),
)
CONTENTION_CAPACITY = 100


def prehash(pepper: str, password: str) -> bytes:
    """auth's scheme: bcrypt over base64(HMAC-SHA256(pepper, password)); the service's own code
    when it is importable, so a change there cannot make seeded accounts unusable unnoticed."""
    try:
        from mcm_auth.security.passwords import PasswordHasher

        hasher = object.__new__(PasswordHasher)  # skip __init__ (it spends a bcrypt hash)
        hasher._pepper = pepper.encode()  # type: ignore[attr-defined]
        return hasher._prehash(password)  # type: ignore[attr-defined]
    except Exception:
        return base64.b64encode(hmac.new(pepper.encode(), password.encode(), hashlib.sha256).digest())


def password_hash(pepper: str, password: str, rounds: int) -> str:
    return bcrypt.hashpw(prehash(pepper, password), bcrypt.gensalt(rounds)).decode()


@dataclass
class Person:
    id: uuid.UUID
    email: str
    name: str
    created_at: datetime
    facilitator: bool = False
    circles: list[uuid.UUID] = field(default_factory=list)


@dataclass
class SeedResult:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    member_emails: list[str] = field(default_factory=list)  # people with a seat in a circle
    registration_emails: list[str] = field(default_factory=list)
    login_emails: list[str] = field(default_factory=list)  # cost-12 hashes
    contention_events: list[dict[str, Any]] = field(default_factory=list)
    circle_ids: list[uuid.UUID] = field(default_factory=list)
    consistency: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- introspection and COPY ---------------------------------------------------------------------
async def _columns(conn: asyncpg.Connection, schema: str, table: str) -> dict[str, dict[str, Any]]:
    rows = await conn.fetch(
        """SELECT column_name, is_nullable, column_default, is_generated, is_identity
             FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2""",
        schema,
        table,
    )
    return {row["column_name"]: dict(row) for row in rows}


async def copy_rows(
    conn: asyncpg.Connection, schema: str, table: str, columns: list[str], rows: list[tuple[Any, ...]]
) -> int:
    existing = await _columns(conn, schema, table)
    if not existing:
        raise NotAvailable(f"table {schema}.{table} does not exist (migration not written yet?)")
    required = {
        name
        for name, c in existing.items()
        if c["is_nullable"] == "NO"
        and c["column_default"] is None
        and c["is_generated"] == "NEVER"
        and c["is_identity"] == "NO"
    }
    unknown = sorted(required - set(columns))
    if unknown:
        raise NotAvailable(f"{schema}.{table} has required column(s) {', '.join(unknown)} the seeder does not fill")
    keep = [i for i, name in enumerate(columns) if name in existing and existing[name]["is_generated"] == "NEVER"]
    if len(keep) != len(columns):
        columns = [columns[i] for i in keep]
        rows = [tuple(row[i] for i in keep) for row in rows]
    if rows:
        await conn.copy_records_to_table(table, schema_name=schema, columns=columns, records=rows)
    return len(rows)


# -- generation ---------------------------------------------------------------------------------
class Generator:
    def __init__(self, seed: int = 20261127) -> None:
        self.rng = random.Random(seed)
        self.now = datetime.now(UTC).replace(microsecond=0)

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def past(self, min_days: float, max_days: float) -> datetime:
        return self.now - timedelta(seconds=self.rng.uniform(min_days, max_days) * 86_400)

    def people(self, count: int) -> list[Person]:
        people = []
        for i in range(count):
            name = f"{self.rng.choice(FIRST_NAMES)} {chr(65 + self.rng.randrange(26))}."
            people.append(Person(self.uuid(), f"member{i:06d}@bench.example", name, self.past(30, 1000)))
        return people

    def circles(
        self, people: list[Person]
    ) -> tuple[list[tuple], list[tuple], list[uuid.UUID], dict[uuid.UUID, list[uuid.UUID]]]:
        """Circle rows, membership rows, ids, and each open circle's seated members."""
        rng = self.rng
        order = list(range(len(people)))
        rng.shuffle(order)
        cursor = 0
        circle_rows: list[tuple] = []
        membership_rows: list[tuple] = []
        current_by_circle: dict[uuid.UUID, set[uuid.UUID]] = {}
        seated: dict[uuid.UUID, list[uuid.UUID]] = {}
        created_of: dict[uuid.UUID, datetime] = {}
        ids: list[uuid.UUID] = []

        def next_person() -> Person:
            nonlocal cursor
            person = people[order[cursor % len(order)]]
            cursor += 1
            return person

        for n in range(CIRCLES):
            circle_id = self.uuid()
            ids.append(circle_id)
            created = self.past(20, 900)
            created_of[circle_id] = created
            city = rng.choice(list(CITIES))
            online = rng.random() < 0.15
            capacity_max = rng.choice((6, 7, 8, 8, 9, 10, 10, 10))
            capacity_min = min(capacity_max, rng.choice((2, 3, 3, 4, 4, 5)))
            archived_at = self.past(1, 19) if rng.random() < 0.01 else None
            has_dues = rng.random() < 0.6
            approval = rng.random() < 0.4
            tree, word = rng.choice(TREES), rng.choice(WORDS)
            topic_a, topic_b = rng.sample(TOPICS, 2)
            name = f"{word} {tree} Circle {city if not online else 'Online'} {n + 1}"
            description = (
                f"A circle of men meeting {rng.choice(('weekly', 'every other week', 'monthly'))} to talk honestly "
                f"about {topic_a} and {topic_b}. Confidential, facilitated, no advice unless asked."
            )
            current: set[uuid.UUID] = set()

            def take(count: int, current: set[uuid.UUID] = current) -> list[Person]:
                chosen: list[Person] = []
                for _ in range(count * 3):  # the pool may wrap onto someone already here
                    if len(chosen) == count:
                        break
                    person = next_person()
                    if person.id not in current:
                        current.add(person.id)
                        chosen.append(person)
                return chosen

            facilitators = take(2 if rng.random() < 0.1 else 1)
            members = [] if archived_at else take(max(0, min(capacity_max, round(rng.gauss(capacity_max * 0.72, 2)))))
            pending = (
                [] if archived_at or not approval or len(members) >= capacity_max else take(rng.choice((0, 0, 1, 2)))
            )
            current_by_circle[circle_id] = current
            for person in facilitators:
                person.facilitator = True
            dues_amount = rng.choice((2000, 3000, 4000, 5000)) if has_dues else None
            circle_rows.append(
                (
                    circle_id,
                    name,
                    description,
                    capacity_max,
                    capacity_min,
                    rng.choice(WEEKDAYS),
                    dtime(rng.choice((18, 19, 19, 20)), rng.choice((0, 30))),
                    CITIES[city],
                    rng.choices(("weekly", "biweekly", "monthly"), (70, 20, 10))[0],
                    None if online and rng.random() < 0.5 else city,
                    online,
                    "public" if rng.random() < 0.85 else "private",
                    "approval" if approval else "open",
                    dues_amount,
                    "EUR" if has_dues else None,
                    0 if archived_at else len(members),
                    archived_at,
                    facilitators[0].id,
                    created,
                    archived_at or created + timedelta(days=rng.uniform(0, 10)),
                )
            )
            for person in facilitators:
                if archived_at:
                    membership_rows.append(
                        self._ended(circle_id, person.id, "facilitator", created, archived_at, "circle_archived")
                    )
                else:
                    membership_rows.append(
                        self._membership(circle_id, person.id, "facilitator", "active", "not_required", created, None)
                    )
                    person.circles.append(circle_id)
            for person in members:
                joined = created + timedelta(days=rng.uniform(0, max(1.0, (self.now - created).days - 1)))
                if has_dues:
                    payment = rng.choices(("current", "overdue", "pending", "paused"), (88, 5, 5, 2))[0]
                else:
                    payment = "not_required"
                membership_rows.append(
                    self._membership(circle_id, person.id, "member", "active", payment, joined, None)
                )
                person.circles.append(circle_id)
            seated[circle_id] = [p.id for p in members]
            for person in pending:
                membership_rows.append(
                    self._membership(circle_id, person.id, "member", "pending", "not_required", None, self.past(0, 10))
                )

        # Ended history (left, transferred, removed, declined) fills the rest up to MEMBERSHIPS.
        remaining = MEMBERSHIPS - len(membership_rows)
        for _ in range(max(0, remaining)):
            circle_id = ids[rng.randrange(len(ids))]
            person = people[rng.randrange(len(people))]
            while person.id in current_by_circle[circle_id]:
                person = people[rng.randrange(len(people))]
            start = created_of[circle_id] + timedelta(days=rng.uniform(0, 10))
            end = start + timedelta(days=rng.uniform(1, max(2.0, (self.now - start).days)))
            end = min(end, self.now - timedelta(hours=1))
            reason = rng.choices(("left", "transferred", "removed", "declined"), (60, 20, 8, 12))[0]
            membership_rows.append(self._ended(circle_id, person.id, "member", start, end, reason))
        return circle_rows, membership_rows[:MEMBERSHIPS], ids, seated

    def _membership(self, circle_id, user_id, role, status, payment, joined, requested) -> tuple:
        created = joined or requested or self.now
        payment_at = joined + timedelta(days=1) if payment not in ("not_required",) and joined else None
        flagged = payment_at + timedelta(days=30) if payment == "overdue" and payment_at else None
        return (
            self.uuid(),
            circle_id,
            user_id,
            role,
            status,
            payment,
            payment_at,
            flagged,
            joined,
            None,
            None,
            None,
            None if role == "facilitator" else user_id,
            None,
            created,
            created,
        )

    def _ended(self, circle_id, user_id, role, start, end, reason) -> tuple:
        declined = reason == "declined"
        return (
            self.uuid(),
            circle_id,
            user_id,
            role,
            "declined" if declined else "ended",
            "not_required",
            None,
            None,
            None if declined else start,
            end,
            reason,
            None,
            user_id,
            None,
            start,
            end,
        )

    def events(
        self,
        people: list[Person],
        circle_ids: list[uuid.UUID],
        seated: dict[uuid.UUID, list[uuid.UUID]],
        creator: uuid.UUID,
    ) -> tuple[list[tuple], list[tuple], list[tuple], list[tuple]]:
        rng = self.rng
        events, links, invitations, registrations = [], [], [], []
        weights = [kind[1] for kind in EVENT_KINDS]
        for _ in range(EVENTS):
            event_type, _, (cap_lo, cap_hi), (price_lo, price_hi), duration = rng.choices(EVENT_KINDS, weights)[0]
            event_id = self.uuid()
            starts = (self.now + timedelta(days=rng.uniform(-200, 300))).replace(minute=0, second=0)
            ends = starts + duration
            capacity = rng.randint(cap_lo, cap_hi)
            price = 0 if price_hi == 0 else rng.randrange(price_lo, price_hi, 500)
            instalments = rng.choice((2, 3, 4)) if event_type == "multi_day_retreat" and rng.random() < 0.5 else None
            city = rng.choice(list(CITIES))
            online = event_type in ("movie_night", "meetup") and rng.random() < 0.3
            visibility = rng.choices(("public", "circles", "invited"), (80, 15, 5))[0]
            past = ends < self.now
            if past:
                status = "completed" if rng.random() < 0.9 else "cancelled"
            else:
                status = rng.choices(("published", "draft", "cancelled"), (85, 10, 5))[0]
            created = min(starts - timedelta(days=rng.uniform(20, 90)), self.now - timedelta(days=1))
            published = created + timedelta(days=1) if status != "draft" else None
            cancelled = (published or created) + timedelta(days=2) if status == "cancelled" else None
            opens = created + timedelta(days=1) if rng.random() < 0.5 else None
            closes = starts - timedelta(days=1) if rng.random() < 0.5 else None
            if opens and closes and opens >= closes:
                opens = None
            attached = rng.sample(circle_ids, rng.randint(1, 3)) if visibility == "circles" else []
            for circle_id in attached:
                links.append((event_id, circle_id))
            audience: list[uuid.UUID]
            if visibility == "circles":
                audience = list(dict.fromkeys(u for c in attached for u in seated.get(c, [])))
            elif visibility == "invited":
                audience = [people[rng.randrange(len(people))].id for _ in range(rng.randint(5, 20))]
                audience = list(dict.fromkeys(audience))
                invitations.extend((event_id, user_id) for user_id in audience)
            else:
                audience = [people[i].id for i in rng.sample(range(len(people)), min(len(people), capacity + 20))]
            confirmed = waitlisted = 0
            if status in ("published", "completed") and audience:
                wanted = min(len(audience), round(capacity * rng.uniform(0.2, 1.15)))
                chosen = rng.sample(audience, wanted)
                confirmed = min(capacity, len(chosen))
                waitlisted = len(chosen) - confirmed if status == "published" else 0
                for index, user_id in enumerate(chosen[: confirmed + waitlisted]):
                    at = (published or created) + timedelta(hours=rng.uniform(1, 24 * 10))
                    at = min(at, self.now - timedelta(minutes=5))
                    if index < confirmed:
                        registrations.append(
                            self._registration(
                                event_id, user_id, "confirmed", None, price, instalments, at, paid=price > 0
                            )
                        )
                    else:
                        registrations.append(
                            self._registration(
                                event_id,
                                user_id,
                                "waitlisted",
                                index - confirmed + 1,
                                price,
                                instalments,
                                at,
                                paid=False,
                            )
                        )
            place = city if not online else "online"
            title = f"{event_type.replace('_', ' ').title()}: {rng.choice(TOPICS).title()} ({place})"
            events.append(
                self._event(
                    event_id,
                    event_type,
                    title,
                    f"A {event_type.replace('_', ' ')} about {rng.choice(TOPICS)} for members and guests.",
                    starts,
                    ends,
                    CITIES[city],
                    None if online else city,
                    online,
                    f"https://meet.bench.example/{event_id.hex[:10]}" if online else None,
                    capacity,
                    price,
                    instalments,
                    opens,
                    closes,
                    visibility,
                    status,
                    confirmed,
                    confirmed,
                    waitlisted,
                    creator,
                    published,
                    cancelled,
                    created,
                )
            )
        return events, links, invitations, registrations

    def _event(
        self,
        event_id,
        event_type,
        title,
        description,
        starts,
        ends,
        tz,
        city,
        online,
        url,
        capacity,
        price,
        instalments,
        opens,
        closes,
        visibility,
        status,
        seats,
        confirmed,
        waitlisted,
        creator,
        published,
        cancelled,
        created,
    ) -> tuple:
        return (
            event_id,
            event_type,
            title,
            description,
            starts,
            ends,
            tz,
            city,
            online,
            url,
            capacity,
            price,
            "EUR",
            instalments,
            opens,
            closes,
            visibility,
            status,
            seats,
            confirmed,
            waitlisted,
            creator,
            published,
            cancelled,
            "Cancelled by the organisers." if cancelled else None,
            created,
            cancelled or published or created,
        )

    def _registration(self, event_id, user_id, status, position, price, instalments, at, *, paid) -> tuple:
        return (
            self.uuid(),
            event_id,
            user_id,
            status,
            position,
            None,
            price,
            "EUR",
            instalments or 1,
            "{}",
            at if status == "confirmed" else None,
            at if paid else None,
            at,
            at,
        )


EVENT_COLUMNS = [
    "id",
    "type",
    "title",
    "description",
    "starts_at",
    "ends_at",
    "timezone",
    "city",
    "online",
    "url",
    "capacity",
    "price_amount",
    "price_currency",
    "instalments",
    "registration_opens_at",
    "registration_closes_at",
    "visibility",
    "status",
    "seats_taken",
    "confirmed_count",
    "waitlist_count",
    "created_by",
    "published_at",
    "cancelled_at",
    "cancel_reason",
    "created_at",
    "updated_at",
]
REGISTRATION_COLUMNS = [
    "id",
    "event_id",
    "user_id",
    "status",
    "waitlist_position",
    "hold_expires_at",
    "amount",
    "currency",
    "instalments",
    "answers",
    "confirmed_at",
    "paid_at",
    "created_at",
    "updated_at",
]
CIRCLE_COLUMNS = [
    "id",
    "name",
    "description",
    "capacity_max",
    "capacity_min",
    "schedule_weekday",
    "schedule_time",
    "schedule_timezone",
    "schedule_frequency",
    "location_city",
    "location_online",
    "visibility",
    "join_policy",
    "dues_amount",
    "dues_currency",
    "member_count",
    "archived_at",
    "created_by",
    "created_at",
    "updated_at",
]
MEMBERSHIP_COLUMNS = [
    "id",
    "circle_id",
    "user_id",
    "role",
    "status",
    "payment_status",
    "payment_status_at",
    "flagged_at",
    "joined_at",
    "ended_at",
    "end_reason",
    "end_note",
    "added_by",
    "decided_by",
    "created_at",
    "updated_at",
]


# -- the whole seed -----------------------------------------------------------------------------
async def seed(
    main_dsn: str,
    creds_dsn: str,
    *,
    pepper: str,
    registration_users: int,
    login_users: int,
    listing_users: int,
    contention_events: int,
) -> SeedResult:
    started = time.perf_counter()
    result = SeedResult()
    gen = Generator()
    people = gen.people(PEOPLE)
    circle_rows, membership_rows, circle_ids, seated = gen.circles(people)
    result.circle_ids = circle_ids
    fast_hash = password_hash(pepper, MEMBER_PASSWORD, 4)

    creds = await asyncpg.connect(creds_dsn)
    main = await asyncpg.connect(main_dsn)
    try:
        # Accounts (credentials DB): who may sign in. Cost-4 hashes keep the set-up quick; the
        # login scenario's accounts get production cost 12 below.
        try:
            async with creds.transaction():
                user_rows = [
                    (
                        p.id,
                        p.email,
                        p.name,
                        fast_hash,
                        ["member", "facilitator"] if p.facilitator else ["member"],
                        p.created_at,
                        p.created_at,
                        p.created_at,
                    )
                    for p in people
                ]
                result.counts["auth.users"] = await copy_rows(
                    creds,
                    "auth",
                    "users",
                    [
                        "id",
                        "email",
                        "display_name",
                        "password_hash",
                        "roles",
                        "email_verified_at",
                        "created_at",
                        "updated_at",
                    ],
                    user_rows,
                )
            async with main.transaction():
                profile_rows = [(p.id, p.name, True, False, gen.now, p.created_at, p.created_at) for p in people]
                result.counts["circles.profiles"] = await copy_rows(
                    main,
                    "circles",
                    "profiles",
                    [
                        "user_id",
                        "display_name",
                        "verified_email",
                        "verified_phone",
                        "synced_at",
                        "created_at",
                        "updated_at",
                    ],
                    profile_rows,
                )
                result.counts["circles.circles"] = await copy_rows(
                    main, "circles", "circles", CIRCLE_COLUMNS, circle_rows
                )
                result.counts["circles.memberships"] = await copy_rows(
                    main, "circles", "memberships", MEMBERSHIP_COLUMNS, membership_rows
                )
        except asyncpg.PostgresError as exc:
            raise NotAvailable(f"the seed no longer fits the schema: {type(exc).__name__}: {exc}") from None

        seated_people = [p for p in people if p.circles and not p.facilitator]
        gen.rng.shuffle(seated_people)
        result.member_emails = [p.email for p in seated_people[:listing_users]]
        others = seated_people[listing_users:]
        result.registration_emails = [p.email for p in others[:registration_users]]
        result.login_emails = [p.email for p in others[registration_users : registration_users + login_users]]
        slow_hash = password_hash(pepper, MEMBER_PASSWORD, 12)
        await creds.execute(
            "UPDATE auth.users SET password_hash = $1 WHERE email = ANY($2::text[])", slow_hash, result.login_emails
        )

        try:
            admin_id = await creds.fetchval(
                "SELECT id FROM auth.users WHERE 'admin' = ANY(roles) ORDER BY created_at LIMIT 1"
            )
            creator = admin_id or people[0].id
            events, links, invitations, registrations = gen.events(people, circle_ids, seated, creator)
            bench_events = []
            for n in range(contention_events):
                event_id = gen.uuid()
                price = 2500 if n == contention_events - 1 and contention_events > 1 else 0  # the last one is paid
                starts = gen.now + timedelta(days=30)
                events.append(
                    gen._event(
                        event_id,
                        "workshop",
                        f"Benchmark contention workshop {n + 1}",
                        "Limited seats; everyone registers at once.",
                        starts,
                        starts + timedelta(hours=4),
                        "Europe/Berlin",
                        "Berlin",
                        False,
                        None,
                        CONTENTION_CAPACITY,
                        price,
                        None,
                        None,
                        None,
                        "public",
                        "published",
                        0,
                        0,
                        0,
                        creator,
                        gen.now - timedelta(days=1),
                        None,
                        gen.now - timedelta(days=2),
                    )
                )
                bench_events.append({"id": str(event_id), "capacity": CONTENTION_CAPACITY, "price": price})
            counts: dict[str, int] = {}
            async with main.transaction():  # all events data or none: counters never point at missing rows
                counts["circles.events"] = await copy_rows(main, "circles", "events", EVENT_COLUMNS, events)
                counts["circles.event_circles"] = await copy_rows(
                    main, "circles", "event_circles", ["event_id", "circle_id"], links
                )
                counts["circles.event_invitations"] = await copy_rows(
                    main, "circles", "event_invitations", ["event_id", "user_id"], invitations
                )
                counts["circles.event_registrations"] = await copy_rows(
                    main, "circles", "event_registrations", REGISTRATION_COLUMNS, registrations
                )
            result.counts.update(counts)
            result.contention_events = bench_events
        except NotAvailable as exc:
            result.notes.append(f"events not seeded: {exc}")
        except asyncpg.PostgresError as exc:
            result.notes.append(f"events not seeded: the seed no longer fits the schema: {type(exc).__name__}: {exc}")
        await main.execute("ANALYZE")
        await creds.execute("ANALYZE")
        result.consistency = await check_consistency(main, events_seeded=bool(result.contention_events))
    finally:
        await creds.close()
        await main.close()
    result.seconds = time.perf_counter() - started
    return result


async def check_consistency(conn: asyncpg.Connection, *, events_seeded: bool) -> dict[str, int]:
    """Counts of rows whose denormalised counters disagree with the rows they summarise (0 = ok)."""
    out = {
        "circles_member_count_mismatches": await conn.fetchval(
            """SELECT count(*) FROM circles.circles c
                WHERE c.member_count <> (SELECT count(*) FROM circles.memberships m
                                          WHERE m.circle_id = c.id AND m.status = 'active' AND m.role = 'member')"""
        ),
        "circles_over_capacity": await conn.fetchval(
            "SELECT count(*) FROM circles.circles WHERE member_count > capacity_max"
        ),
    }
    if events_seeded:
        out["events_counter_mismatches"] = await conn.fetchval(
            """SELECT count(*) FROM circles.events e
                 LEFT JOIN LATERAL (
                   SELECT count(*) FILTER (WHERE r.status IN ('confirmed', 'pending_payment')) AS seats,
                          count(*) FILTER (WHERE r.status = 'confirmed') AS confirmed,
                          count(*) FILTER (WHERE r.status = 'waitlisted') AS waiting,
                          coalesce(max(r.waitlist_position), 0) AS last_position
                     FROM circles.event_registrations r WHERE r.event_id = e.id) x ON true
                WHERE e.seats_taken <> x.seats OR e.confirmed_count <> x.confirmed
                   OR e.waitlist_count <> x.waiting OR x.last_position <> x.waiting"""
        )
    return {k: int(v) for k, v in out.items()}
