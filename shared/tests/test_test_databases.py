"""The test plugin's one way to a database at head: migrate a template once, clone it per test."""

from __future__ import annotations

from pathlib import Path

import asyncpg

ENV = """
from sqlalchemy import MetaData
from mcm_shared.alembic_env import run_env

run_env(MetaData(schema="probe"))
"""

FIRST = """
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.execute("CREATE SCHEMA IF NOT EXISTS probe")
    op.execute("CREATE TABLE probe.things (id int PRIMARY KEY)")
"""


def _migrations(root: Path) -> Path:
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text(ENV)
    (root / "versions" / "0001_things.py").write_text(FIRST)
    return root


async def _count(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM probe.things"))
    finally:
        await connection.close()


async def test_each_copy_is_at_head_and_of_its_own(engines, tmp_path):
    folder = _migrations(tmp_path / "migrations")
    options = {"version_table": "probe_version", "schema": "probe", "prefix": "probe"}
    first = await engines.migrated_copy(folder, **options)
    second = await engines.migrated_copy(folder, **options)
    assert first != second

    connection = await asyncpg.connect(first)
    try:
        assert await connection.fetchval("SELECT version_num FROM probe.probe_version") == "0001"
        await connection.execute("INSERT INTO probe.things VALUES (1)")
    finally:
        await connection.close()
    assert await _count(first) == 1
    assert await _count(second) == 0  # a write to one copy is not seen by another


async def test_the_template_is_migrated_once_per_folder(engines, tmp_path):
    folder = _migrations(tmp_path / "migrations")
    options = {"version_table": "probe_version", "schema": "probe", "prefix": "probe"}
    template = await engines.migrated_template(folder, **options)
    await engines.migrated_copy(folder, **options)
    assert await engines.migrated_template(folder, **options) == template
    other = _migrations(tmp_path / "other")
    assert await engines.migrated_template(other, **options) != template
