"""Who the client is: the one rule every hop of the platform applies to `X-Forwarded-For`.

A proxy appends the address it received the request from, so the right-most entries were
written by the hops nearest to us and the left-most by whoever the client was (or claimed to
be). The rule: start at our peer; while the current address is a trusted proxy, believe its
claim and step back one entry (right to left); the first address we do not trust is the client.
If every hop is trusted, the left-most entry is the client. A malformed entry stops the walk:
what a trusted hop claimed is not believed beyond a value that is not an address, so the client
is then the last address we reached (the trusted hop that passed it on).

The ingress appends its peer, the gateway appends the ingress, so behind ingress → gateway →
auth, auth sees `client, ingress` from the gateway and, trusting both, finds the real client.

Trusted proxies are IP addresses or CIDR networks (IPv4 or IPv6), parsed and validated when a
service starts (`parse_trusted_proxies` raises `ValueError` naming the bad entry). `*` trusts
every address: only for a hop whose every sender rewrites the header (a test rig); then the
left-most entry is the client.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ANY = "*"
# Longer than any textual IPv6 address (45 characters, with an embedded IPv4 tail); a longer
# entry is malformed without being parsed.
_MAX_ADDRESS_LENGTH = 64
_MAX_HOPS = 32  # a header with more entries than any real chain of proxies is not walked further


def parse_trusted_proxies(entries: Iterable[str | IPNetwork] | str) -> tuple[bool, tuple[IPNetwork, ...]]:
    """(trust everyone?, networks) from `"10.0.0.0/8, 192.0.2.7, ::1"` or a list of entries.

    A bare address is a network of one. Raises `ValueError` naming the first bad entry.
    """
    if isinstance(entries, str):
        entries = entries.split(",")
    anyone = False
    networks: list[IPNetwork] = []
    for entry in entries:
        if isinstance(entry, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            networks.append(entry)
            continue
        text = str(entry).strip()
        if not text:
            continue
        if text == ANY:
            anyone = True
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {text!r}") from None
    return anyone, tuple(networks)


def parse_address(text: str) -> IPAddress | None:
    """An IP address written alone (surrounding spaces allowed), else None."""
    text = text.strip()
    if not text or len(text) > _MAX_ADDRESS_LENGTH:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class TrustedProxies:
    """The proxies whose `X-Forwarded-For` claims are believed, and the walk that uses them.

    What is learnt about an address string (its canonical form, whether it is trusted) is cached,
    because the same few proxies and clients come back on every request; the cache is bounded
    and simply starts over when full, so a client sending endless distinct values costs memory
    for at most `cache_size` of them.
    """

    def __init__(self, entries: Iterable[str | IPNetwork] | str = (), *, cache_size: int = 10_000) -> None:
        self.trust_any, self.networks = parse_trusted_proxies(entries)
        self.cache_size = cache_size
        # text as received -> (canonical address or None when malformed, trusted?)
        self._verdicts: dict[str, tuple[str | None, bool]] = {}

    @property
    def configured(self) -> bool:
        return self.trust_any or bool(self.networks)

    def is_trusted(self, address: str) -> bool:
        """Whether `address` (text) is one of the trusted proxies; malformed text never is."""
        if not self.configured:
            return False
        return self._verdict(address)[1]

    def _verdict(self, text: str) -> tuple[str | None, bool]:
        verdict = self._verdicts.get(text)
        if verdict is None:
            verdict = self._judge(text)
            if len(self._verdicts) >= self.cache_size:
                self._verdicts.clear()
            self._verdicts[text] = verdict
        return verdict

    def _judge(self, text: str) -> tuple[str | None, bool]:
        parsed = parse_address(text)
        if parsed is None:
            return None, False
        # Canonical text, so "2001:DB8::1" and "2001:db8:0::1" are one client, not two.
        canonical = str(parsed)
        if self.trust_any:
            return canonical, True
        if parsed.version == 6 and parsed.ipv4_mapped is not None:
            parsed = parsed.ipv4_mapped  # "::ffff:10.0.0.1" is the IPv4 peer of a dual-stack socket
        return canonical, any(parsed in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address for a request from `peer` carrying `forwarded_for` (or None)."""
        current = peer
        if not forwarded_for or not self.is_trusted(peer):
            return current
        entries = forwarded_for.split(",")
        for hops, entry in enumerate(reversed(entries)):
            if hops >= _MAX_HOPS:
                break
            claimed, trusted = self._verdict(entry)
            if claimed is None:
                break  # a trusted hop passed on something that is not an address: believe no further
            current = claimed
            if not trusted:
                break
        return current
