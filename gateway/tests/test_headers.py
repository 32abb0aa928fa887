"""What the gateway strips, adds and keeps on the way to a service and back."""

from __future__ import annotations

import re

FORGED = {
    "X-User-Id": "00000000-0000-0000-0000-000000000001",
    "X-User-Roles": "admin",
    "X-Internal-Token": "let-me-in",
    "X-Forwarded-For": "1.2.3.4",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "X-Real-IP": "1.2.3.4",
    "Forwarded": "for=1.2.3.4",
    "Proxy-Authorization": "Basic Zm9vOmJhcg==",
    "Keep-Alive": "timeout=100",
}


async def test_forged_identity_and_internal_headers_never_reach_a_service(gateway, bearer, forwarded):
    response = await gateway.client.get("/api/v1/circles", headers={**bearer, **FORGED, "X-Custom": "kept"})
    seen = forwarded(response)
    for name in ("x-user-id", "x-user-roles", "x-internal-token", "forwarded", "proxy-authorization", "keep-alive"):
        assert name not in seen, name
    assert seen["x-forwarded-for"] == ["127.0.0.1"]
    assert seen["x-real-ip"] == ["127.0.0.1"]
    assert seen["x-forwarded-proto"] == ["http"]
    assert seen["x-forwarded-host"] == [gateway.url.removeprefix("http://")]
    assert seen["x-custom"] == ["kept"]


async def test_look_alike_identity_headers_are_dropped_too(gateway, bearer, forwarded):
    lookalikes = {
        "X-User": "admin",
        "X-User_Id": "1",
        "X-User_Roles": "admin",
        "X-Internal_Token": "t",
        "X-Username": "a",
        "X-Real_IP": "1.2.3.4",
        "X-Forwarded_For": "1.2.3.4",
    }
    response = await gateway.client.get("/api/v1/circles", headers={**bearer, **lookalikes})
    seen = forwarded(response)
    assert not {name.lower() for name in lookalikes} & set(seen)
    assert seen["x-forwarded-for"] == ["127.0.0.1"]


async def test_headers_named_in_connection_are_hop_by_hop(gateway, bearer, forwarded):
    response = await gateway.client.get(
        "/api/v1/circles", headers={**bearer, "Connection": "keep-alive, X-Secret", "X-Secret": "1"}
    )
    assert "x-secret" not in forwarded(response)


async def test_forwarded_for_from_a_trusted_proxy_is_appended_to(start_gateway, bearer, forwarded):
    gateway = await start_gateway(trusted_proxies="127.0.0.1/32")
    response = await gateway.client.get(
        "/api/v1/circles", headers={**bearer, "X-Forwarded-For": "203.0.113.9, 10.0.0.1", "X-Forwarded-Proto": "https"}
    )
    seen = forwarded(response)
    assert seen["x-forwarded-for"] == ["203.0.113.9, 10.0.0.1, 127.0.0.1"]
    assert seen["x-real-ip"] == ["10.0.0.1"]  # the nearest address we do not trust
    assert seen["x-forwarded-proto"] == ["https"]


async def test_the_client_address_skips_every_trusted_hop(start_gateway, bearer, forwarded):
    gateway = await start_gateway(trusted_proxies="127.0.0.1/32,10.0.0.0/8")
    response = await gateway.client.get(
        "/api/v1/circles", headers={**bearer, "X-Forwarded-For": "203.0.113.9, 10.0.0.1"}
    )
    assert forwarded(response)["x-real-ip"] == ["203.0.113.9"]


async def test_a_well_formed_request_id_is_kept_and_passed_on(gateway, bearer, forwarded):
    response = await gateway.client.get("/api/v1/circles", headers={**bearer, "X-Request-ID": "client-req-12345"})
    assert response.headers["x-request-id"] == "client-req-12345"
    assert forwarded(response)["x-request-id"] == ["client-req-12345"]


async def test_a_malformed_request_id_is_replaced(gateway, bearer, forwarded):
    response = await gateway.client.get("/api/v1/circles", headers={**bearer, "X-Request-ID": "bad id with spaces"})
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert forwarded(response)["x-request-id"] == [request_id]


async def test_every_answer_carries_a_request_id(gateway):
    for response in (
        await gateway.client.get("/api/v1/circles"),  # 401 from the gateway
        await gateway.client.get("/nowhere"),  # 404 from the gateway
        await gateway.client.get("/api/v1/health/live"),
    ):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_upstream_sees_its_own_host_not_the_clients(gateway, bearer, forwarded, upstreams):
    response = await gateway.client.get("/api/v1/circles", headers={**bearer, "Host": "api.example"})
    seen = forwarded(response)
    assert seen["host"] == [upstreams["circles"].url.removeprefix("http://")]
    assert seen["x-forwarded-host"] == ["api.example"]
