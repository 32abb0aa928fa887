"""The trust settings of the manifests, held to the platform's client-address rule: behind
ingress → gateway → auth, auth must find the real client (not the ingress, which would make
every client share one sign-in counter), and must not believe an address the client wrote."""

from __future__ import annotations

import pytest
from deploy_support import container_environment, env_example, objects, operator_value

from mcm_shared.client_address import TrustedProxies

CLIENT = "203.0.113.9"
SPOOFED = "198.51.100.66"


def _through_gateway(
    gateway_trusts: str, auth_trusts: str, *, edge: str | None, gateway: str, client_header: str | None
) -> str:
    """Send a request as the chain would and return who auth thinks the client is.

    `edge` is the proxy in front of the gateway (None when the gateway is the edge)."""
    from mcm_gateway.config import Settings as GatewaySettings
    from mcm_gateway.headers import ClientAddresses

    networks = GatewaySettings(trusted_proxies=gateway_trusts).trusted_proxies
    addresses = ClientAddresses(networks)
    if edge is None:
        peer, xff = CLIENT, client_header
    else:  # the edge proxy appends the address it saw
        peer, xff = edge, f"{client_header}, {CLIENT}" if client_header else CLIENT
    gateway_client, forwarded, _ = addresses.resolve(peer, xff.encode() if xff is not None else None)
    assert gateway_client == CLIENT, f"the gateway itself took {gateway_client} for the client"
    return TrustedProxies(auth_trusts).client(gateway, forwarded.decode())


def _env(**values: str) -> dict[str, str]:
    """`.env` as an operator would write it (the example with its empty values filled in)."""
    env = {
        entry.name: entry.value or operator_value(entry.name, "")
        for entry in env_example().values()
        if not entry.commented
    }
    return {**env, **values}


def _k8s(kind_name: str, key: str) -> str:
    return objects("ConfigMap")[kind_name]["data"][key]


@pytest.mark.parametrize("claimed", [None, SPOOFED])
def test_behind_the_kubernetes_ingress_auth_sees_the_real_client(claimed):
    seen = _through_gateway(
        _k8s("gateway-config", "TRUSTED_PROXIES"),
        _k8s("auth-config", "FORWARDED_ALLOW_IPS"),
        edge="10.2.0.15",  # an ingress-nginx pod
        gateway="10.3.1.7",  # a gateway pod
        client_header=claimed,
    )
    assert seen == CLIENT


@pytest.mark.parametrize("claimed", [None, SPOOFED])
@pytest.mark.parametrize("load_balancer", [None, "10.9.0.2"])
def test_under_compose_auth_sees_the_real_client(claimed, load_balancer):
    env = _env(TRUSTED_PROXIES=load_balancer or "")
    seen = _through_gateway(
        container_environment("gateway", env).get("TRUSTED_PROXIES", ""),
        container_environment("auth", env)["FORWARDED_ALLOW_IPS"],
        edge=load_balancer,
        gateway="172.18.0.5",  # the gateway on a Compose network
        client_header=claimed,
    )
    assert seen == CLIENT


def test_auth_never_believes_every_hop_in_the_shipped_configuration():
    assert "*" not in _k8s("auth-config", "FORWARDED_ALLOW_IPS")
    assert "*" not in container_environment("auth", _env())["FORWARDED_ALLOW_IPS"]
