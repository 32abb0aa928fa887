"""Driver-level statements (mcm_shared.driver): compiled once, autocommitted, and failing with
the same SQLAlchemy errors as through a session, a broken connection never going back to the pool."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from mcm_shared.db import Database
from mcm_shared.driver import DriverStatement, driver_connection
from mcm_shared.pg_notify import asyncpg_dsn

metadata = MetaData()
things = Table("things", metadata, Column("id", Integer, primary_key=True), Column("name", String(20), nullable=False))
ADD = DriverStatement(insert(things).values(id=bindparam("id"), name=bindparam("name")).returning(things.c.id))
NAMED = DriverStatement(select(things.c.name).where(things.c.id == bindparam("id"), things.c.name != "nobody"))


@pytest.fixture
async def db(engines):
    database = Database(await engines.create_database("driver"), pool_size=1, max_overflow=0)
    async with database.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield database
    await database.dispose()


def test_expanding_parameters_are_refused_at_import():
    with pytest.raises(ValueError):
        DriverStatement(select(things.c.id).where(things.c.id.in_(bindparam("ids", expanding=True))))


async def test_statements_commit_on_their_own_and_fixed_parameters_are_bound(db):
    async with driver_connection(db.engine) as connection:
        assert (await connection.fetchrow(ADD, {"id": 1, "name": "one"}))["id"] == 1
        assert not connection.driver.is_in_transaction()
    async with db.engine.connect() as other:  # another connection sees it: it was committed
        assert (await other.execute(text("SELECT name FROM things WHERE id = 1"))).scalar_one() == "one"
    async with driver_connection(db.engine) as connection:
        assert (await connection.fetchrow(NAMED, {"id": 1}))["name"] == "one"
        assert await connection.fetchrow(NAMED, {"id": 2}) is None


async def test_a_violated_constraint_is_an_integrity_error_naming_it(db):
    async with driver_connection(db.engine) as connection:
        await connection.fetchrow(ADD, {"id": 1, "name": "one"})
        with pytest.raises(IntegrityError) as raised:
            await connection.fetchrow(ADD, {"id": 1, "name": "again"})
        assert raised.value.orig.__cause__.constraint_name == "things_pkey"
        # The connection is still good: no transaction was left aborted.
        assert (await connection.fetchrow(NAMED, {"id": 1}))["name"] == "one"


async def test_a_connection_the_server_dropped_is_a_dbapi_error_and_is_invalidated(db):
    async with driver_connection(db.engine) as connection:
        pid = connection.driver.get_server_pid()
    killer = await asyncpg.connect(asyncpg_dsn(db.url))
    try:
        assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await killer.close()
    with pytest.raises(DBAPIError):
        async with driver_connection(db.engine) as connection:
            assert connection.driver.get_server_pid() == pid  # the pool (of one) handed it back
            await connection.fetchrow(NAMED, {"id": 1})
    assert connection.broken
    async with driver_connection(db.engine) as connection:  # a fresh connection, not the dead one
        assert connection.driver.get_server_pid() != pid
        assert await connection.fetchrow(NAMED, {"id": 1}) is None


async def test_a_statement_cancelled_midway_does_not_hand_its_connection_on(db):
    async with driver_connection(db.engine) as connection:
        pid = connection.driver.get_server_pid()
    sleeper = DriverStatement(select(func.pg_sleep(5)))
    task = asyncio.create_task(_run(db, sleeper))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with driver_connection(db.engine) as connection:
        assert connection.driver.get_server_pid() != pid
        assert await connection.fetchrow(NAMED, {"id": 1}) is None


async def _run(db, statement):
    async with driver_connection(db.engine) as connection:
        await connection.fetchrow(statement)
