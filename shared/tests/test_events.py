"""Event bus behaviour against real PostgreSQL and Redis: outbox, relay, consumer, inbox, faults.

Each test gets its own database (tables built by the Alembic helper) and its own stream/group
names. Fault tests start their own Redis or PostgreSQL so they can stop and restart it.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from time import monotonic

import pytest
import redis.exceptions
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Mapped, mapped_column

from mcm_devstack.engines import EmbeddedPostgres, EmbeddedRedis
from mcm_shared.db import Database, make_base
from mcm_shared.events import (
    Envelope,
    EventConsumer,
    EventWriter,
    OutboxRelay,
    create_event_tables,
    drop_event_tables,
    event_tables,
)
from mcm_shared.logging import request_id_var
from mcm_shared.redis import make_redis

Base = make_base("svc")
EVENTS = event_tables(Base)


class Applied(Base):
    """A stand-in for a consumer's domain table: one row per time a handler ran to commit."""

    __tablename__ = "applied"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID]
    note: Mapped[str]


def _migrate(connection) -> None:
    connection.execute(text("CREATE SCHEMA svc"))
    create_event_tables(Operations(MigrationContext.configure(connection)), "svc")
    Applied.__table__.create(connection)


@dataclass
class Bus:
    db: Database
    redis: object
    stream: str
    group: str
    writer: EventWriter

    async def emit(self, event_type: str, payload: dict, *, commit: bool = True) -> Envelope:
        async with self.db.session() as session:
            envelope = await self.writer.publish(session, event_type, payload, key="k1")
            await (session.commit() if commit else session.rollback())
        return envelope

    def relay(self, **options) -> OutboxRelay:
        return OutboxRelay(self.db.sessionmaker, self.redis, EVENTS, **options)

    def consumer(self, handlers: dict, **options) -> EventConsumer:
        options = {"block": 0.05, "claim_idle": 0.05, "backoff_max": 0.2, "redis": self.redis, **options}
        redis_client = options.pop("redis")
        streams = options.pop("streams", [self.stream])
        return EventConsumer(
            self.db.sessionmaker, redis_client, EVENTS, group=self.group, streams=streams, handlers=handlers, **options
        )

    async def scalar(self, statement):
        async with self.db.session() as session:
            return (await session.execute(statement)).scalar_one()

    async def applied(self, event_id: uuid.UUID) -> int:
        return await self.scalar(select(func.count()).select_from(Applied).where(Applied.event_id == event_id))

    async def inbox_rows(self) -> int:
        return await self.scalar(select(func.count()).select_from(EVENTS.inbox))

    async def pending(self, stream: str | None = None) -> int:
        return (await self.redis.xpending(stream or self.stream, self.group))["pending"]


async def record(session, envelope: Envelope) -> None:
    session.add(Applied(event_id=envelope.id, note=envelope.payload.get("note", "")))


async def eventually(check, timeout: float = 20.0):  # noqa: ASYNC109  # polling budget
    deadline = monotonic() + timeout
    while not (result := await check()):
        assert monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)
    return result


async def new_bus(database_url: str, redis_url: str) -> Bus:
    db = Database(database_url)
    async with db.engine.begin() as connection:
        await connection.run_sync(_migrate)
    suffix = uuid.uuid4().hex[:8]
    stream = f"events:test-{suffix}"
    return Bus(db, make_redis(redis_url), stream, f"group-{suffix}", EventWriter(EVENTS, producer="svc", stream=stream))


@pytest.fixture
async def bus(engines, redis_url):
    created = await new_bus(await engines.create_database("events"), redis_url)
    yield created
    await created.redis.aclose()
    await created.db.dispose()


# -- tables and writer -----------------------------------------------------------------------
async def test_migration_helper_builds_exactly_the_tables_the_models_declare(bus):
    def diff(connection):
        context = MigrationContext.configure(
            connection,
            opts={"include_schemas": True, "include_name": lambda name, kind, _: kind != "schema" or name == "svc"},
        )
        return compare_metadata(context, Base.metadata)

    async with bus.db.engine.begin() as connection:
        assert await connection.run_sync(diff) == []
        await connection.run_sync(lambda c: drop_event_tables(Operations(MigrationContext.configure(c)), "svc"))
        left = await connection.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'svc'"))
        assert left.scalar_one() == 1  # only `applied` remains


async def test_publish_refuses_payloads_a_consumer_could_not_read(bus):
    async with bus.db.session() as session:
        with pytest.raises(TypeError):
            await bus.writer.publish(session, "test.money", {"amount": Decimal("1.10")})
        with pytest.raises(TypeError):
            await bus.writer.publish(session, "test.when", {"at": datetime(2025, 1, 1)})
        with pytest.raises(ValueError):
            await bus.writer.publish(session, "", {})


# -- relay -----------------------------------------------------------------------------------
async def test_rolled_back_transaction_publishes_nothing(bus):
    await bus.emit("test.happened", {"note": "never"}, commit=False)
    assert await bus.relay().publish_batch() == 0
    assert await bus.redis.xlen(bus.stream) == 0
    assert await bus.scalar(select(func.count()).select_from(EVENTS.outbox)) == 0


async def test_relay_publishes_committed_event_with_its_envelope_and_marks_it(bus):
    token = request_id_var.set("req-1234567890")
    try:
        subject = uuid.uuid4()
        sent = await bus.emit("test.happened", {"subject": subject, "at": datetime(2025, 1, 1, tzinfo=UTC)})
    finally:
        request_id_var.reset(token)
    relay = bus.relay()
    assert await relay.publish_batch() == 1
    assert await relay.publish_batch() == 0
    [(_, fields)] = await bus.redis.xrange(bus.stream)
    received = Envelope.from_fields(fields)
    assert fields[b"type"] == b"test.happened"
    assert received == sent
    assert received.to_dict()["payload"] == {"subject": str(subject), "at": "2025-01-01T00:00:00+00:00"}
    assert (received.producer, received.request_id, received.key) == ("svc", "req-1234567890", "k1")
    assert received.occurred_at.utcoffset() == timedelta(0)
    published_at = await bus.scalar(select(EVENTS.outbox.c.published_at).where(EVENTS.outbox.c.id == sent.id))
    assert published_at is not None


async def test_idle_relay_poll_is_one_autocommitted_probe_without_a_transaction(bus):
    """The idle poll runs ten times a second in every service: with nothing to publish it must
    not open the locking transaction (BEGIN, SELECT … FOR UPDATE, COMMIT through a session)."""
    from sqlalchemy import event as sa_event

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split(None, 1)[0].upper())

    probes: list[bool] = []

    def in_transaction(connection, record):
        probes.append(connection.driver_connection.is_in_transaction())

    relay = bus.relay()
    assert await relay.publish_batch() == 0  # warms the engine up
    engine = bus.db.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", count)
    sa_event.listen(engine, "checkin", in_transaction)
    try:
        assert [await relay.publish_batch() for _ in range(3)] == [0, 0, 0]
        assert statements == [] and probes == [False, False, False]
        # A committed row is still found and published by the next poll.
        sent = await bus.emit("test.happened", {"n": 1})
        statements.clear()
        assert await relay.publish_batch() == 1
        assert statements[0] == "SELECT" and "UPDATE" in statements
    finally:
        sa_event.remove(engine, "before_cursor_execute", count)
        sa_event.remove(engine, "checkin", in_transaction)
    [(_, fields)] = await bus.redis.xrange(bus.stream)
    assert Envelope.from_fields(fields) == sent


async def test_events_of_one_transaction_are_published_in_write_order(bus):
    async with bus.db.session() as session:
        sent = [await bus.writer.publish(session, "test.step", {"n": n}) for n in range(5)]
        await session.commit()
    await bus.relay(batch_size=2).publish_batch()
    await bus.relay(batch_size=2).publish_batch()
    await bus.relay(batch_size=2).publish_batch()
    received = [Envelope.from_fields(fields).id for _, fields in await bus.redis.xrange(bus.stream)]
    assert received == [envelope.id for envelope in sent]


async def test_concurrent_relays_publish_every_row_exactly_once(bus):
    async with bus.db.session() as session:
        for n in range(300):
            await bus.writer.publish(session, "test.bulk", {"n": n})
        await session.commit()

    async def drain(relay: OutboxRelay) -> None:
        while await relay.publish_batch():
            pass

    await asyncio.gather(*(drain(bus.relay(batch_size=25)) for _ in range(3)))
    ids = [Envelope.from_fields(fields).id for _, fields in await bus.redis.xrange(bus.stream)]
    assert len(ids) == len(set(ids)) == 300
    assert (
        await bus.scalar(select(func.count()).select_from(EVENTS.outbox).where(EVENTS.outbox.c.published_at.is_(None)))
        == 0
    )


async def test_running_relay_publishes_after_commit_and_purges_old_published_rows(bus):
    relay = bus.relay(retention=timedelta(0), purge_interval=0.0)
    relay.start()
    try:
        await bus.emit("test.happened", {})
        await eventually(lambda: bus.redis.xlen(bus.stream))
        # Published rows past retention (zero here) are deleted by the running relay.
        await eventually(lambda: bus.scalar(select(func.count() == 0).select_from(EVENTS.outbox)))
    finally:
        await asyncio.wait_for(relay.stop(), 10)
    assert not relay.running


# -- consumer ---------------------------------------------------------------------------------
async def test_consumer_applies_event_once_records_inbox_and_reads_several_streams(bus):
    other = EventWriter(EVENTS, producer="other", stream=bus.stream + "-b")
    async with bus.db.session() as session:
        first = await bus.writer.publish(session, "test.happened", {"note": "a"})
        second = await other.publish(session, "test.happened", {"note": "b"})
        await session.commit()
    await bus.relay().publish_batch()
    seen_request_ids = []

    async def handler(session, envelope):
        seen_request_ids.append(request_id_var.get())
        await record(session, envelope)

    consumer = bus.consumer({"test.happened": handler}, streams=[bus.stream, other.stream])
    await consumer.ensure_groups()
    assert await consumer.poll() == 2
    assert (await bus.applied(first.id), await bus.applied(second.id), await bus.inbox_rows()) == (1, 1, 2)
    assert (await bus.pending(), await bus.pending(other.stream)) == (0, 0)
    assert seen_request_ids == [None, None]


async def test_same_event_delivered_twice_is_applied_once(bus):
    sent = await bus.emit("test.happened", {})
    await bus.relay().publish_batch()
    # The relay's crash window: XADD done, "published" never committed → sent again.
    async with bus.db.session() as session:
        await session.execute(update(EVENTS.outbox).values(published_at=None))
        await session.commit()
    await bus.relay().publish_batch()
    assert await bus.redis.xlen(bus.stream) == 2
    consumer = bus.consumer({"test.happened": record})
    await consumer.ensure_groups()
    assert await consumer.poll() == 2
    assert (await bus.applied(sent.id), await bus.inbox_rows(), await bus.pending()) == (1, 1, 0)


async def test_event_held_by_a_crashed_consumer_is_reclaimed_and_applied_once(bus):
    sent = await bus.emit("test.happened", {})
    await bus.relay().publish_batch()
    consumer = bus.consumer({"test.happened": record})
    await consumer.ensure_groups()
    # The dead consumer read the entry and vanished before applying or acking it.
    await bus.redis.xreadgroup(bus.group, "dead", {bus.stream: ">"})
    assert await consumer.poll() == 0
    await asyncio.sleep(0.1)
    assert await consumer.reclaim() == 1
    await asyncio.sleep(0.1)
    assert await consumer.reclaim() == 0
    assert (await bus.applied(sent.id), await bus.pending()) == (1, 0)


async def test_consumer_that_crashed_between_commit_and_ack_is_not_applied_twice(bus, redis_url):
    sent = await bus.emit("test.happened", {})
    await bus.relay().publish_batch()
    crashing = make_redis(redis_url)

    async def crash(*args, **kwargs):
        raise redis.exceptions.ConnectionError("process died before XACK")

    crashing.xack = crash
    try:
        first = bus.consumer({"test.happened": record}, redis=crashing, name="first")
        await first.ensure_groups()
        with pytest.raises(redis.exceptions.ConnectionError):
            await first.poll()
    finally:
        await crashing.aclose()
    assert (await bus.applied(sent.id), await bus.pending()) == (1, 1)
    await asyncio.sleep(0.1)
    assert await bus.consumer({"test.happened": record}, name="second").reclaim() == 1
    assert (await bus.applied(sent.id), await bus.inbox_rows(), await bus.pending()) == (1, 1, 0)


async def test_failing_handler_is_retried_then_parked_without_blocking_the_stream(bus, caplog):
    calls = []

    async def poison(session, envelope):
        await record(session, envelope)  # rolled back with the failure
        calls.append(envelope.id)
        raise RuntimeError("cannot apply")

    bad = await bus.emit("test.poison", {})
    good = await bus.emit("test.fine", {})
    await bus.relay().publish_batch()
    consumer = bus.consumer({"test.poison": poison, "test.fine": record}, max_deliveries=3)
    await consumer.ensure_groups()
    assert await consumer.poll() == 2
    assert (await bus.applied(good.id), await bus.pending()) == (1, 1)
    for _ in range(2):
        await asyncio.sleep(0.1)
        await consumer.reclaim()
    assert len(calls) == 3
    assert (await bus.applied(bad.id), await bus.inbox_rows(), await bus.pending()) == (0, 1, 0)
    [(_, parked)] = await bus.redis.xrange(consumer.dead_letter_stream)
    assert Envelope.from_fields(parked).id == bad.id
    assert parked[b"deliveries"] == b"3" and b"cannot apply" in parked[b"reason"]
    assert any("parked" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


async def test_handler_that_fails_once_is_retried_and_applied_once(bus):
    attempts = []

    async def flaky(session, envelope):
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first time unlucky")
        await record(session, envelope)

    sent = await bus.emit("test.happened", {})
    await bus.relay().publish_batch()
    consumer = bus.consumer({"test.happened": flaky})
    await consumer.ensure_groups()
    await consumer.poll()
    await asyncio.sleep(0.1)
    assert await consumer.reclaim() == 1
    assert (len(attempts), await bus.applied(sent.id), await bus.pending()) == (2, 1, 0)
    assert await bus.redis.xlen(consumer.dead_letter_stream) == 0


async def test_handler_that_hangs_is_timed_out_and_parked(bus):
    async def hangs(session, envelope):
        await asyncio.sleep(3600)

    sent = await bus.emit("test.happened", {})
    await bus.relay().publish_batch()
    consumer = bus.consumer({"test.happened": hangs}, handler_timeout=0.1, max_deliveries=1)
    await consumer.ensure_groups()
    assert await consumer.poll() == 1
    [(_, parked)] = await bus.redis.xrange(consumer.dead_letter_stream)
    assert Envelope.from_fields(parked).id == sent.id and b"HandlerTimeout" in parked[b"reason"]
    assert (await bus.pending(), await bus.inbox_rows()) == (0, 0)


async def test_unknown_types_are_acked_and_malformed_entries_parked(bus):
    await bus.emit("test.nobody-listens", {})
    await bus.relay().publish_batch()
    await bus.redis.xadd(bus.stream, {"envelope": "{not json"})
    consumer = bus.consumer({"test.happened": record})
    await consumer.ensure_groups()
    assert await consumer.poll() == 2
    assert (await bus.pending(), await bus.inbox_rows(), await bus.redis.xlen(consumer.dead_letter_stream)) == (0, 0, 1)


async def test_entries_trimmed_before_processing_are_acked_with_an_error_log(bus, caplog):
    for _ in range(2):
        await bus.emit("test.happened", {})
    await bus.relay().publish_batch()
    consumer = bus.consumer({"test.happened": record})
    await consumer.ensure_groups()
    await bus.redis.xreadgroup(bus.group, "dead", {bus.stream: ">"})
    await bus.redis.xtrim(bus.stream, maxlen=0)  # MAXLEN overtook a consumer that fell behind
    await asyncio.sleep(0.1)
    await consumer.reclaim()
    assert (await bus.pending(), await bus.inbox_rows()) == (0, 0)
    assert sum("trimmed" in r.getMessage() for r in caplog.records) == 2


async def test_housekeeping_drops_old_inbox_rows_and_forgets_idle_empty_consumers(bus):
    await bus.emit("test.happened", {})
    await bus.emit("test.happened", {})
    await bus.relay().publish_batch()
    consumer = bus.consumer(
        {"test.happened": record}, inbox_retention=timedelta(0), forget_consumers_after=timedelta(0)
    )
    await consumer.ensure_groups()
    await bus.redis.xreadgroup(bus.group, "holder", {bus.stream: ">"}, count=1)  # keeps one pending
    assert await consumer.poll() == 1
    await bus.redis.xreadgroup(bus.group, "ghost", {bus.stream: ">"})  # reads nothing, holds nothing
    await asyncio.sleep(0.01)
    await consumer.housekeeping()
    assert await bus.inbox_rows() == 0
    names = {info["name"] for info in await bus.redis.xinfo_consumers(bus.stream, bus.group)}
    assert names == {b"holder", consumer.name.encode()}


async def test_stop_finishes_the_batch_in_hand_and_leaves_nothing_pending(bus):
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(session, envelope):
        entered.set()
        await release.wait()
        await record(session, envelope)

    first = await bus.emit("test.happened", {})
    second = await bus.emit("test.happened", {})
    await bus.relay().publish_batch()
    consumer = bus.consumer({"test.happened": slow}, claim_idle=60)
    consumer.start()
    await asyncio.wait_for(entered.wait(), 10)
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 10)
    assert not consumer.running
    # Both entries were delivered to this consumer in one read: it finishes both before stopping,
    # so nothing waits `claim_idle` for another consumer to take it over.
    assert (await bus.applied(first.id), await bus.applied(second.id)) == (1, 1)
    assert await bus.pending() == 0


async def test_relay_and_consumer_deliver_a_stream_of_events_end_to_end(bus):
    relay, consumer = bus.relay(), bus.consumer({"test.happened": record}, block=0.5)
    relay.start(), consumer.start()
    try:
        sent = [await bus.emit("test.happened", {"note": str(n)}) for n in range(20)]
        await eventually(lambda: bus.scalar(select(func.count() == 20).select_from(Applied)))
        assert [await bus.applied(envelope.id) for envelope in sent] == [1] * 20
    finally:
        await asyncio.wait_for(asyncio.gather(relay.stop(), consumer.stop()), 10)


# -- faults -----------------------------------------------------------------------------------
@pytest.fixture
def own_redis():
    folder = Path(tempfile.mkdtemp(prefix="mcm-events-redis-"))
    server = EmbeddedRedis(folder, persist=False).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


async def test_relay_keeps_working_after_redis_is_stopped_and_restarted(engines, own_redis, caplog):
    bus = await new_bus(await engines.create_database("events"), own_redis.url())
    relay = bus.relay(backoff_max=0.3)
    relay.start()
    try:
        await bus.emit("test.before", {})
        await eventually(lambda: bus.redis.xlen(bus.stream))
        own_redis.stop()
        during = await bus.emit("test.during", {})
        await eventually(lambda: asyncio.sleep(0, relay.consecutive_failures >= 2))
        assert relay.running
        own_redis.start()  # empty: this Redis keeps nothing across restarts
        await eventually(lambda: bus.redis.xlen(bus.stream))
        [(_, fields)] = await bus.redis.xrange(bus.stream)
        assert Envelope.from_fields(fields).id == during.id
        assert any("outbox-relay cycle failed" in r.getMessage() for r in caplog.records)
    finally:
        await asyncio.wait_for(relay.stop(), 10)
        await bus.redis.aclose()
        await bus.db.dispose()


async def test_consumer_recreates_its_group_after_redis_loses_it(engines, own_redis, caplog):
    bus = await new_bus(await engines.create_database("events"), own_redis.url())
    consumer = bus.consumer({"test.happened": record}, backoff_max=0.3)
    consumer.start()
    try:
        await eventually(lambda: bus.redis.exists(bus.stream))  # group created before the outage
        own_redis.stop()
        await eventually(lambda: asyncio.sleep(0, consumer.consecutive_failures >= 2))
        own_redis.start()
        sent = await bus.emit("test.happened", {})
        await bus.relay().publish_batch()
        await eventually(lambda: bus.applied(sent.id))
        assert consumer.running
        assert any("consumer group missing" in r.getMessage() for r in caplog.records)
    finally:
        await asyncio.wait_for(consumer.stop(), 10)
        await bus.redis.aclose()
        await bus.db.dispose()


class RestartablePostgres(EmbeddedPostgres):
    def _prepare_user(self) -> None:
        super()._prepare_user()
        # EmbeddedPostgres leaves the data directory 0755 when run as root, which PostgreSQL
        # refuses on a second start (initdb repaired it the first time).
        self.data_dir.chmod(0o700)


async def test_relay_and_consumer_ride_out_a_postgres_outage_without_parking_events(redis_url):
    folder = Path(tempfile.mkdtemp(prefix="mcm-events-pg-"))
    postgres = RestartablePostgres(folder / "pg").start()
    try:
        postgres.create_database("events")
        bus = await new_bus(postgres.url("events"), redis_url)
        # One delivery allowed: only the outage rule keeps the event out of the dead letters.
        relay, consumer = bus.relay(backoff_max=0.3), bus.consumer({"test.happened": record}, max_deliveries=1)
        try:
            waiting = await bus.emit("test.happened", {})
            await bus.relay().publish_batch()
            postgres.stop()
            relay.start(), consumer.start()
            await eventually(
                lambda: asyncio.sleep(0, min(relay.consecutive_failures, consumer.consecutive_failures) >= 3)
            )
            assert relay.running and consumer.running
            postgres.start()
            after = await bus.emit("test.happened", {})
            await eventually(lambda: bus.applied(after.id))
            await eventually(lambda: bus.applied(waiting.id))
            assert (await bus.applied(waiting.id), await bus.applied(after.id)) == (1, 1)
            assert await bus.redis.xlen(consumer.dead_letter_stream) == 0
        finally:
            await asyncio.wait_for(asyncio.gather(relay.stop(), consumer.stop()), 10)
            await bus.redis.aclose()
            await bus.db.dispose()
    finally:
        postgres.stop(mode="immediate")
        shutil.rmtree(folder, ignore_errors=True)
