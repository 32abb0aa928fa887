"""The gateway's own health, metrics and entry point."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from mcm_devstack.engines import free_port, wait_for_port


async def test_live_and_ready(gateway):
    assert (await gateway.client.get("/api/v1/health/live")).json() == {"status": "ok"}
    ready = await gateway.client.get("/api/v1/health/ready")
    assert ready.status_code == 200


async def test_detailed_health_reports_each_upstream(start_gateway):
    gateway = await start_gateway(payments_url=f"http://127.0.0.1:{free_port()}")
    response = await gateway.client.get("/api/v1/health")
    assert response.status_code == 200  # the gateway itself is fine
    body = response.json()
    assert body["status"] == "degraded"
    assert body["upstreams"]["auth"]["status"] == "ok"
    assert body["upstreams"]["circles"]["status"] == "ok"
    assert body["upstreams"]["payments"]["status"] == "down"
    assert body["upstreams"]["auth"]["latency_ms"] >= 0
    assert body["service"] == "gateway" and "uptime_seconds" in body


def test_serve_runs_uvicorn_and_drains_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "ENVIRONMENT": "test", "LOG_LEVEL": "INFO"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mcm_gateway", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, timeout=20)
        response = httpx.get(f"http://127.0.0.1:{port}/", trust_env=False)
        assert response.json()["name"] == "gateway"
        assert "server" not in response.headers
        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit.
        assert process.wait(timeout=15) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = process.stdout.read().decode()
    assert '"msg": "stopping"' in output  # the lifespan shutdown ran: pools closed, not killed


def test_production_refuses_to_start_without_redis_or_upstreams():
    import pytest

    from mcm_gateway.config import Settings
    from mcm_shared.settings import ConfigurationError

    with pytest.raises(ConfigurationError, match="REDIS_URL"):
        Settings(environment="production", redis_url=None).check_production_ready()
    with pytest.raises(ConfigurationError, match="PAYMENTS_URL"):
        Settings(environment="production", redis_url="redis://r:6379/0", payments_url="").check_production_ready()
    Settings(environment="production", redis_url="redis://r:6379/0").check_production_ready()  # no client secret needed
