"""Signing in the benchmark's users through the gateway (real auth, real tokens)."""

from __future__ import annotations

import json

from benchkit.load import Request, closed_loop
from benchkit.report import NotAvailable

LOGIN_PATH = "/api/v1/auth/login"


async def login_all(gateway: str, emails: list[str], password: str, *, concurrency: int = 16) -> dict[str, str]:
    """{email: access token}; raises NotAvailable when no one can sign in."""
    tokens: dict[str, str] = {}
    failures: dict[int, int] = {}
    sample: list[str] = []

    def on_response(request: Request, status: int, body: bytes) -> None:
        if status == 200:
            tokens[request.tag] = json.loads(body)["access_token"]
        else:
            failures[status] = failures.get(status, 0) + 1
            if len(sample) < 3:
                sample.append(f"{status} {body[:200]!r}")

    requests = (
        Request(
            "POST",
            gateway + LOGIN_PATH,
            {"Content-Type": "application/json"},
            json.dumps({"email": email, "password": password}).encode(),
            tag=email,
        )
        for email in emails
    )
    result = await closed_loop(requests, concurrency=concurrency, on_response=on_response)
    if emails and not tokens:
        raise NotAvailable(f"no benchmark user could sign in through the gateway: {sample or dict(result.errors)}")
    if len(tokens) < len(emails):
        print(
            f"  warning: {len(emails) - len(tokens)} of {len(emails)} sign-ins failed: {failures} {sample}", flush=True
        )
    return tokens
