"""`python -m mcm_devstack.chat`: a small command-line client of messaging, to try the API and
the real-time socket by hand (development only; the web app is the real client).

    python -m mcm_devstack.chat --email admin@mcm.example            # password asked for
    python -m mcm_devstack.chat --token "$ACCESS_TOKEN" --say <conversation id> "Hello"

It signs in through the gateway (`POST /api/v1/auth/login`, unless given a token), lists the
conversations with their unread counts, asks for a socket ticket, opens `/api/v1/realtime`, sends
the auth frame (and a resume frame with `--after`), optionally sends one message over HTTP, and
prints every frame it receives as one JSON line until Ctrl-C (or `--frames` of them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import sys
from typing import Any, TextIO

import httpx
from websockets.asyncio.client import connect


async def run(
    base_url: str,
    token: str,
    *,
    say: tuple[str, str] | None = None,
    after: str | None = None,
    frames: int | None = None,
    out: TextIO = sys.stdout,
) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as api:
        listed = await api.get("/api/v1/conversations", headers=headers)
        listed.raise_for_status()
        for item in listed.json()["items"]:
            last = (item.get("last_message") or {}).get("body", "")
            print(f"# {item['id']} {item['kind']:<12} unread {item['unread_count']:>3}  {last[:60]!r}", file=out)
        ticket = await api.post("/api/v1/realtime/tickets", headers=headers)
        ticket.raise_for_status()
        socket_url = base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/api/v1/realtime"
        received = 0
        async with connect(socket_url) as socket:
            await socket.send(json.dumps({"type": "auth", "ticket": ticket.json()["ticket"]}))
            if after:
                await socket.send(json.dumps({"type": "resume", "after": after}))
            if say:
                sent = await api.post(
                    f"/api/v1/conversations/{say[0]}/messages", headers=headers, json={"body": say[1]}
                )
                print(f"# sent: {sent.status_code}", file=out)
            async for raw in socket:
                frame: Any = json.loads(raw)
                print(json.dumps(frame, ensure_ascii=False), file=out, flush=True)
                received += 1
                if frames is not None and received >= frames:
                    break
        return received


async def sign_in(base_url: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as api:
        response = await api.post("/api/v1/auth/login", json={"email": email, "password": password})
        response.raise_for_status()
        return str(response.json()["access_token"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mcm_devstack.chat", description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8000", help="the gateway's URL")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--email", help="sign in as this person (the password is asked for)")
    who.add_argument("--token", help="an access token instead of signing in")
    parser.add_argument("--say", nargs=2, metavar=("CONVERSATION_ID", "TEXT"), help="send one message once connected")
    parser.add_argument("--after", help="resume after this frame id")
    parser.add_argument("--frames", type=int, help="stop after this many frames")
    args = parser.parse_args(argv)

    async def go() -> None:
        token = args.token or await sign_in(args.gateway, args.email, getpass.getpass(f"password for {args.email}: "))
        await run(args.gateway, token, say=tuple(args.say) if args.say else None, after=args.after, frames=args.frames)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(go())


if __name__ == "__main__":
    main()
