"""The client-address rule (mcm_shared.client_address): walk X-Forwarded-For right to left
while the hop is a trusted proxy; the first untrusted address is the client."""

from __future__ import annotations

import ipaddress

import pytest

from mcm_shared.client_address import TrustedProxies, parse_trusted_proxies

CLUSTER = "10.0.0.0/8"


def test_an_untrusted_peer_is_the_client_whatever_it_forwards():
    proxies = TrustedProxies(CLUSTER)
    assert proxies.client("203.0.113.5", "198.51.100.1") == "203.0.113.5"
    assert proxies.client("203.0.113.5", None) == "203.0.113.5"


def test_no_trusted_proxies_means_the_peer_is_always_the_client():
    proxies = TrustedProxies("")
    assert proxies.client("10.1.2.3", "198.51.100.1") == "10.1.2.3"
    assert not proxies.is_trusted("10.1.2.3")


def test_behind_ingress_and_gateway_the_real_client_is_found():
    # The ingress saw the client and appended it; the gateway appended the ingress.
    proxies = TrustedProxies(CLUSTER)
    assert proxies.client("10.0.5.9", "198.51.100.7, 10.0.3.2") == "198.51.100.7"


def test_what_the_client_claimed_left_of_its_own_address_is_ignored():
    proxies = TrustedProxies(CLUSTER)
    assert proxies.client("10.0.5.9", "1.2.3.4, 10.9.9.9, 198.51.100.7, 10.0.3.2") == "198.51.100.7"


def test_when_every_hop_is_trusted_the_left_most_is_the_client():
    proxies = TrustedProxies(CLUSTER)
    assert proxies.client("10.0.5.9", "10.1.1.1, 10.0.3.2") == "10.1.1.1"


def test_a_malformed_entry_stops_the_walk_at_the_last_trusted_hop():
    proxies = TrustedProxies(CLUSTER)
    # The ingress (10.0.3.2) is trusted, but what it claims is not an address: believe nothing
    # beyond it, in particular not the address further left.
    assert proxies.client("10.0.5.9", "198.51.100.7, garbage, 10.0.3.2") == "10.0.3.2"
    assert proxies.client("10.0.5.9", "198.51.100.7, , 10.0.3.2") == "10.0.3.2"
    assert proxies.client("10.0.5.9", "198.51.100.7:443") == "10.0.5.9"


def test_ipv6_addresses_and_networks_are_understood_and_canonical():
    proxies = TrustedProxies("fd00::/8, ::1")
    assert proxies.client("::1", "2001:DB8:0::1, fd00::2") == "2001:db8::1"
    assert proxies.is_trusted("fd12::5")
    assert not proxies.is_trusted("2001:db8::1")


def test_an_ipv4_mapped_peer_is_judged_as_its_ipv4_address():
    proxies = TrustedProxies(CLUSTER)
    assert proxies.is_trusted("::ffff:10.0.0.1")
    assert proxies.client("::ffff:10.0.0.1", "198.51.100.7") == "198.51.100.7"


def test_a_single_address_is_a_network_of_one():
    proxies = TrustedProxies("192.0.2.7")
    assert proxies.is_trusted("192.0.2.7")
    assert not proxies.is_trusted("192.0.2.8")


def test_star_trusts_every_hop():
    proxies = TrustedProxies("*")
    assert proxies.client("198.51.100.1", "203.0.113.2, 198.51.100.9") == "203.0.113.2"
    assert not proxies.is_trusted("not-an-address")


def test_networks_objects_are_accepted_as_parsed_by_a_settings_class():
    proxies = TrustedProxies([ipaddress.ip_network("10.0.0.0/8")])
    assert proxies.is_trusted("10.2.3.4")


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "gateway.internal", "10.0.0.1-10.0.0.9", "fd00::/129"])
def test_bad_entries_are_refused_at_start_naming_them(bad: str):
    with pytest.raises(ValueError, match="not an IP address or CIDR network"):
        parse_trusted_proxies(f"10.0.0.0/8, {bad}")


def test_verdicts_are_cached_within_a_bound():
    proxies = TrustedProxies(CLUSTER, cache_size=100)
    for n in range(1_000):
        proxies.is_trusted(f"198.51.{n // 250}.{n % 250}")
        assert len(proxies._verdicts) <= 100
    assert proxies.is_trusted("10.0.0.1")


def test_an_endless_header_is_not_walked_forever():
    proxies = TrustedProxies(CLUSTER)
    chain = ", ".join(["10.0.0.1"] * 10_000)
    assert proxies.client("10.0.0.2", "198.51.100.7, " + chain) == "10.0.0.1"
