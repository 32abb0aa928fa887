"""Prometheus metrics are served on their own port (METRICS_PORT), never on the public one
(attacker review, issue 13: /metrics was public, a map of traffic for anyone)."""

from __future__ import annotations

import socket

import httpx
import pytest

from mcm_devstack.engines import free_port


@pytest.mark.parametrize("server", ["uvicorn", "native"])
async def test_metrics_are_on_the_metrics_port_and_not_on_the_public_one(start_gateway, bearer, server):
    port = free_port()
    gateway = await start_gateway(server=server, metrics_port=port)
    await gateway.client.get("/api/v1/circles", headers=bearer)
    await gateway.client.get("/api/v1/circles")
    public = await gateway.client.get("/metrics")
    assert public.status_code == 404
    assert public.headers["content-type"] == "application/problem+json"
    async with httpx.AsyncClient(trust_env=False) as client:
        scraped = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert 'gateway_proxied_requests_total{method="GET",status="200",upstream="circles"} 1.0' in text
    assert 'gateway_proxied_requests_total{method="GET",status="401",upstream="circles"} 1.0' in text
    assert "http_requests_total" in text  # the gateway's own endpoints are counted too


async def test_the_metrics_port_closes_when_the_gateway_stops(start_gateway):
    port = free_port()
    gateway = await start_gateway(server="uvicorn", metrics_port=port)
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    await gateway.server.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


async def test_no_metrics_port_when_it_is_zero(start_gateway):
    gateway = await start_gateway(server="uvicorn", metrics_port=0)
    assert gateway.app.runtime.metrics_server is None
    assert (await gateway.client.get("/metrics")).status_code == 404


async def test_a_busy_metrics_port_does_not_stop_the_gateway(start_gateway):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        gateway = await start_gateway(server="uvicorn", metrics_port=taken.getsockname()[1])
        assert (await gateway.client.get("/api/v1/health/ready")).status_code == 200


def test_an_empty_metrics_port_means_off(monkeypatch):
    from mcm_gateway.config import Settings

    monkeypatch.setenv("METRICS_PORT", "")
    assert Settings(environment="test").metrics_port == 0
    monkeypatch.setenv("METRICS_PORT", "9100")
    assert Settings(environment="test").metrics_port == 9100
