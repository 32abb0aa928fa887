"""Servers the devstack, the tests and the benchmark start: their ports and their data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcm_devstack.engines import _ephemeral_range, free_port


def test_free_ports_for_servers_avoid_the_ephemeral_range():
    """Outgoing connections take ephemeral ports; a server's chosen port must not be one of them."""
    low, high = _ephemeral_range()
    ports = {free_port() for _ in range(20)}
    assert all(port < low or low <= 10_000 for port in ports), (low, high, sorted(ports))


def test_test_engines_remove_their_data_when_stopped(tmp_path):
    """A full `make test` writes GBs of PostgreSQL data; it must not stay behind in /tmp."""
    from mcm_testing.engines import TestEngines

    root = tmp_path / "mcm-test-x"
    (root / "pg").mkdir(parents=True)
    (root / "pg" / "base").write_bytes(b"\0" * 1024)
    TestEngines(server_url="postgresql://u@127.0.0.1:1/postgres", redis_url="redis://127.0.0.1:1", root=root).stop()
    assert not root.exists()


def test_embedded_postgres_is_durable_by_default_and_restarts_a_server_left_running_with_fast_settings(tmp_path):
    """`make run` acknowledges only what is on disk; a server an older `make run` left running
    with fsync off is not adopted as it is."""
    from mcm_devstack.engines import DURABLE_SETTINGS, FAST_SETTINGS, EmbeddedPostgres

    fast = EmbeddedPostgres(tmp_path / "pg", durable=False).start()
    try:
        assert fast.current_settings() == FAST_SETTINGS
        durable = EmbeddedPostgres(tmp_path / "pg").start()
        assert durable.port == fast.port
        assert durable.current_settings() == DURABLE_SETTINGS
    finally:
        # A new instance (as a later `make run` would be) stops the server the others left running.
        stopper = EmbeddedPostgres(tmp_path / "pg")
        pid = stopper.postmaster_pid()
        stopper.stop(mode="immediate")
    assert pid is not None
    assert not _alive(pid), "the server an earlier instance started is still running"


def _alive(pid: int) -> bool:
    """Running, as opposed to gone or a zombie waiting to be reaped (PID 1 may never reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_embedded_redis_appends_and_fsyncs_every_write(tmp_path):
    import redis

    from mcm_devstack.engines import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis").start()
    try:
        client = redis.Redis.from_url(server.url())
        config = client.config_get("append*")
        client.close()
        assert (config["appendonly"], config["appendfsync"]) == ("yes", "always")
    finally:
        server.stop()


def test_stripe_standin_signs_with_the_payments_development_webhook_secret():
    # The stand-in builds the secret itself (devtools depends on no service); the two must agree,
    # or `make run` would refuse every webhook the stand-in sends.
    from mcm_payments.config import DEV_STRIPE_WEBHOOK_SECRET
    from mcm_stripe_standin.config import DEV_WEBHOOK_SECRET

    assert DEV_WEBHOOK_SECRET == DEV_STRIPE_WEBHOOK_SECRET


def test_make_run_skips_only_migrations_it_applied_to_this_very_database(engines, tmp_path):
    from mcm_devstack.platform import SERVICES, Platform

    if engines.postgres is None:
        pytest.skip("needs the embedded PostgreSQL (TEST_DATABASE_URL is set)")
    auth, circles = (next(spec for spec in SERVICES if spec.name == name) for name in ("auth", "circles"))
    platform = Platform(data_dir=tmp_path, postgres=engines.postgres)
    assert not platform._already_migrated(auth)  # nothing recorded yet: migrate

    platform._remember_migrated("auth")
    assert platform._already_migrated(auth)
    assert not platform._already_migrated(circles)  # recorded per service

    # A record about another cluster or re-created databases vouches for nothing.
    record = json.loads((tmp_path / "migrated.json").read_text())
    (tmp_path / "migrated.json").write_text(json.dumps({**record, "database": "1:mcm_main=1"}))
    assert not Platform(data_dir=tmp_path, postgres=engines.postgres)._already_migrated(auth)

    # A database given by URL may have been changed by anyone: its migrations always run.
    (tmp_path / "migrated.json").write_text(json.dumps(record))
    assert not Platform(data_dir=tmp_path)._already_migrated(auth)
