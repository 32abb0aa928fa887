"""Local stand-ins for what the platform talks to outside, started by `Platform` in development:

| sidecar        | replaces                  | started unless                              | services use it via     |
|----------------|---------------------------|---------------------------------------------|-------------------------|
| mailsink       | an SMTP server            | `SMTP_HOST` is set                          | `SMTP_HOST`/`SMTP_PORT` |
| smssink        | the SMS provider (Twilio) | `SMS_API_BASE` is set                       | `SMS_API_BASE`          |
| stripe-standin | Stripe's API and webhooks | `STRIPE_SECRET_KEY` or `STRIPE_API_BASE` is | `STRIPE_API_BASE`,      |
|                |                           | set                                         | `STRIPE_WEBHOOK_SECRET` |

The Stripe stand-in posts its webhooks to the gateway's public webhook path, as Stripe would,
signed with the same `STRIPE_WEBHOOK_SECRET` payments checks (a random one per run unless set).
Ports: `MAILSINK_PORT` (1025), `SMSSINK_PORT` (8025), `STRIPE_STANDIN_PORT` (12111), or free
ones when the platform picks free ports (tests).
"""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import httpx

from mcm_shared.settings import DEV_DEFAULT_SECRET

HOST = "127.0.0.1"
STRIPE_WEBHOOK_PATH = "/api/v1/payments/webhooks/stripe"


@dataclass
class Sidecar:
    name: str
    command: list[str]
    port: int
    url: str
    env: dict[str, str] = field(default_factory=dict)
    health_path: str | None = None  # HTTP path answering 200 when ready; None: the port accepting is enough
    store: Path | None = None  # where a sink keeps its last messages (JSON)
    log: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def start(self, base_env: dict[str, str], log_dir: Path | None) -> None:
        out = None
        if log_dir:
            log_dir.mkdir(parents=True, exist_ok=True)
            self.log = log_dir / f"{self.name}.log"
            out = open(self.log, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.process = subprocess.Popen(
                [sys.executable, *self.command],
                env={**base_env, **self.env, "PYTHONUNBUFFERED": "1"},
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                stdin=subprocess.DEVNULL,
            )
        finally:
            if out:
                out.close()

    def ready(self, client: httpx.Client) -> bool:
        if self.process is None or self.process.poll() is not None:
            code = self.process.returncode if self.process else None
            raise RuntimeError(
                f"{self.name} exited with {code} during start-up" + (f"; see {self.log}" if self.log else "")
            )
        if self.health_path is None:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return True
            except OSError:
                return False
        try:
            return client.get(self.url + self.health_path).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def plan(
    env: dict[str, str], *, data_dir: Path, gateway_url: str, port_for: Callable[[str, int], int]
) -> dict[str, Sidecar]:
    """Decide which sidecars to run and point the services' settings in `env` at them.

    `port_for(variable, default)` picks each sidecar's port (fixed or free)."""
    sidecars: dict[str, Sidecar] = {}
    sinks = data_dir / "sinks"
    if not env.get("SMTP_HOST"):
        if find_spec("aiosmtpd") is None:
            print("aiosmtpd is not installed: no local mail sink, so auth cannot deliver email", file=sys.stderr)
        else:
            port = port_for("MAILSINK_PORT", 1025)
            store = sinks / "mail.json"
            sidecars["mailsink"] = Sidecar(
                "mailsink",
                ["-m", "mcm_devstack.mailsink", "--host", HOST, "--port", str(port), "--store", str(store)],
                port,
                f"smtp://{HOST}:{port}",
                store=store,
            )
            env["SMTP_HOST"], env["SMTP_PORT"] = HOST, str(port)
    if not env.get("SMS_API_BASE"):
        port = port_for("SMSSINK_PORT", 8025)
        store = sinks / "sms.json"
        sidecars["smssink"] = Sidecar(
            "smssink",
            ["-m", "mcm_devstack.smssink", "--host", HOST, "--port", str(port), "--store", str(store)],
            port,
            f"http://{HOST}:{port}",
            store=store,
            # The sink checks the token auth sends (auth's default unless SMS_AUTH_TOKEN is set),
            # as the provider would; passed in the environment, not on a visible command line.
            env={"SMSSINK_AUTH_TOKEN": env.get("SMS_AUTH_TOKEN") or DEV_DEFAULT_SECRET},
        )
        env["SMS_API_BASE"] = sidecars["smssink"].url
    if not (env.get("STRIPE_SECRET_KEY") or env.get("STRIPE_API_BASE")):
        port = port_for("STRIPE_STANDIN_PORT", 12111)
        env.setdefault("STRIPE_WEBHOOK_SECRET", f"whsec_{secrets.token_urlsafe(24)}")
        standin = Sidecar(
            "stripe-standin",
            ["-m", "mcm_stripe_standin"],
            port,
            f"http://{HOST}:{port}",
            env={
                "STRIPE_STANDIN_HOST": HOST,
                "STRIPE_STANDIN_PORT": str(port),
                # Through the gateway, like Stripe's own deliveries.
                "STRIPE_STANDIN_WEBHOOK_URL": env.get("STRIPE_STANDIN_WEBHOOK_URL")
                or gateway_url + STRIPE_WEBHOOK_PATH,
            },
            health_path="/_standin/health",
        )
        sidecars[standin.name] = standin
        env["STRIPE_API_BASE"] = standin.url
    return sidecars


def start_all(sidecars: dict[str, Sidecar], env: dict[str, str], log_dir: Path | None) -> None:
    """Start every sidecar that is not running (all of them, the first time)."""
    for sidecar in sidecars.values():
        if sidecar.process is None or sidecar.process.poll() is not None:
            sidecar.start(env, log_dir)


def wait_all(sidecars: dict[str, Sidecar], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(sidecars)
    with httpx.Client(timeout=1.0) as client:
        while pending and time.monotonic() < deadline:
            for name, sidecar in list(pending.items()):
                if sidecar.ready(client):
                    del pending[name]
            if pending:
                time.sleep(0.1)
    if pending:
        raise TimeoutError(f"not ready after {timeout}s: {sorted(pending)}")


def stop_all(sidecars: dict[str, Sidecar]) -> None:
    for sidecar in sidecars.values():
        if sidecar.process is not None and sidecar.process.poll() is None:
            sidecar.process.send_signal(signal.SIGTERM)
    for sidecar in sidecars.values():
        sidecar.stop()
