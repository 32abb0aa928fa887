"""Stand-ins for the outside world: a real SMTP sink (aiosmtpd) and a local HTTP fake of a
Twilio-shaped SMS API, each on a free loopback port."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcm_devstack.engines import free_port, wait_for_port


@dataclass
class Mail:
    to: str
    subject: str
    body: str


@dataclass
class MailSink:
    messages: list[Mail] = field(default_factory=list)
    port: int = 0

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        for rcpt in envelope.rcpt_tos:
            self.messages.append(Mail(rcpt.lower(), str(parsed["Subject"]), body.get_content() if body else ""))
        return "250 OK"

    def to(self, address: str) -> list[Mail]:
        return [mail for mail in self.messages if mail.to == address.lower()]

    async def wait_for(self, address: str, count: int = 1, within: float = 10.0) -> list[Mail]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} mail(s) to {address}, got {len(self.to(address))}")

    async def wait_for_text(self, address: str, text: str, within: float = 10.0) -> Mail:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for mail in self.to(address):
                if text in mail.body or text in mail.subject:
                    return mail
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail to {address} containing {text!r}")


def start_mail_sink() -> tuple[MailSink, Controller]:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    return sink, controller


@dataclass
class Sms:
    to: str
    body: str


@dataclass
class SmsApi:
    account: str
    token: str
    messages: list[Sms] = field(default_factory=list)
    fail_next: int = 0  # answer 503 this many times, to exercise retries

    def to(self, number: str) -> list[Sms]:
        return [sms for sms in self.messages if sms.to == number]

    async def wait_for(self, number: str, count: int = 1, within: float = 10.0) -> list[Sms]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if len(self.to(number)) >= count:
                return self.to(number)
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} SMS to {number}, got {len(self.to(number))}")

    async def endpoint(self, request: Request) -> JSONResponse:
        expected = "Basic " + base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        if request.headers.get("authorization") != expected or request.path_params["sid"] != self.account:
            return JSONResponse({"code": 20003, "message": "Authenticate"}, status_code=401)
        if self.fail_next > 0:
            self.fail_next -= 1
            return JSONResponse({"message": "unavailable"}, status_code=503)
        form = parse_qs((await request.body()).decode())
        to, body = form.get("To", [""])[0], form.get("Body", [""])[0]
        if not to.startswith("+"):
            return JSONResponse({"code": 21211, "message": "Invalid 'To' Phone Number"}, status_code=400)
        self.messages.append(Sms(to, body))
        return JSONResponse({"sid": f"SM{len(self.messages):032d}", "status": "queued", "to": to}, status_code=201)


def start_sms_api(account: str, token: str) -> tuple[SmsApi, str, uvicorn.Server]:
    api = SmsApi(account, token)
    app = Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json", api.endpoint, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    return api, f"http://127.0.0.1:{port}", server


@dataclass
class InternalServices:
    """Circles' and payments' internal person routes as auth sees them: each answer is what a test
    put in `parts[(service, kind, user_id)]` (else an empty part), behind the real shared guard
    `require_service("auth")` checking auth's own token against auth's published keys. A service
    in `down` answers 500, as a broken one would."""

    base_url: str
    keys: Any
    parts: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def url(self, service: str) -> str:
        return f"{self.base_url}/{service}"


def start_internal_services() -> tuple[InternalServices, uvicorn.Server]:
    from fastapi import Depends, FastAPI
    from fastapi.responses import JSONResponse as FastJSON

    from mcm_shared.errors import install_problem_handlers
    from mcm_shared.security import JWKSCache, TokenVerifier, internal_verifier, require_service

    keys = JWKSCache("http://127.0.0.1:9/unused", refetch_cooldown=1e9)
    app = FastAPI()
    install_problem_handlers(app)
    app.state.verifier = TokenVerifier(keys, issuer="mcm-auth", audience="mcm-api")
    app.state.internal_verifier = internal_verifier(app.state.verifier)
    port = free_port()
    fake = InternalServices(f"http://127.0.0.1:{port}", keys)

    @app.get("/{service}/internal/v1/users/{user_id}/{kind}", dependencies=[Depends(require_service("auth"))])
    async def person(service: str, user_id: str, kind: str) -> Any:
        fake.calls.append((service, kind, user_id))
        if service in fake.down:
            return FastJSON({"detail": "down"}, status_code=500)
        return fake.parts.get((service, kind, user_id), {"user_id": user_id})

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    return fake, server
