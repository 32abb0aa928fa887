"""Servers the devstack, the tests and the benchmark start: their ports and their data."""
from __future__ import annotations

from mcm_shared.devstack.engines import _ephemeral_range, free_port


def test_free_ports_for_servers_avoid_the_ephemeral_range():
    """Outgoing connections take ephemeral ports; a server's chosen port must not be one of them."""
    low, high = _ephemeral_range()
    ports = {free_port() for _ in range(20)}
    assert all(port < low or low <= 10_000 for port in ports), (low, high, sorted(ports))


def test_test_engines_remove_their_data_when_stopped(tmp_path):
    """A full `make test` writes GBs of PostgreSQL data; it must not stay behind in /tmp."""
    from mcm_shared.testing.engines import TestEngines

    root = tmp_path / "mcm-test-x"
    (root / "pg").mkdir(parents=True)
    (root / "pg" / "base").write_bytes(b"\0" * 1024)
    TestEngines(server_url="postgresql://u@127.0.0.1:1/postgres", redis_url="redis://127.0.0.1:1", root=root).stop()
    assert not root.exists()
