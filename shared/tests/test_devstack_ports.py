"""Ports the devstack, the tests and the benchmark give their servers."""
from __future__ import annotations

from mcm_shared.devstack.engines import _ephemeral_range, free_port


def test_free_ports_for_servers_avoid_the_ephemeral_range():
    """Outgoing connections take ephemeral ports; a server's chosen port must not be one of them."""
    low, high = _ephemeral_range()
    ports = {free_port() for _ in range(20)}
    assert all(port < low or low <= 10_000 for port in ports), (low, high, sorted(ports))
