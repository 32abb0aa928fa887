"""The gateway's ClientAddresses applies the platform's one client-address rule
(mcm_shared.client_address) and keeps its interface: resolve(peer, xff) -> (client, xff to
forward, via trusted proxy)."""

from __future__ import annotations

import ipaddress

from mcm_gateway.headers import ClientAddresses


def _addresses(*networks: str) -> ClientAddresses:
    return ClientAddresses([ipaddress.ip_network(network) for network in networks])


def test_an_untrusted_peer_is_the_client_and_its_header_is_replaced():
    assert _addresses("10.0.0.0/8").resolve("203.0.113.5", b"1.2.3.4") == ("203.0.113.5", b"203.0.113.5", False)


def test_a_trusted_peer_is_walked_past_and_appended():
    client, forwarded, via = _addresses("10.0.0.0/8").resolve("10.0.0.7", b"6.6.6.6, 198.51.100.7, 10.0.3.2")
    assert (client, forwarded, via) == ("198.51.100.7", b"6.6.6.6, 198.51.100.7, 10.0.3.2, 10.0.0.7", True)


def test_a_malformed_entry_is_not_walked_past():
    client, _, _ = _addresses("10.0.0.0/8").resolve("10.0.0.7", b"198.51.100.7, unknown")
    assert client == "10.0.0.7"


def test_ipv6_clients_come_out_canonical():
    client, _, _ = _addresses("::1/128").resolve("::1", b"2001:DB8:0::1")
    assert client == "2001:db8::1"


def test_nothing_is_trusted_without_configuration():
    addresses = ClientAddresses()
    assert not addresses.is_trusted("127.0.0.1")
    assert addresses.resolve("127.0.0.1", b"198.51.100.7") == ("127.0.0.1", b"127.0.0.1", False)
