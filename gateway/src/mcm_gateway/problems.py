"""problem+json answers sent straight over ASGI, for the proxy path (no framework involved)."""
from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import Send

from mcm_shared.errors import PROBLEM_JSON, problem_body

_CONTENT_TYPE = (b"content-type", PROBLEM_JSON.encode())


async def send_problem(
    send: Send,
    status: int,
    *,
    type_slug: str,
    title: str,
    detail: str,
    instance: str | None = None,
    request_id: bytes | None = None,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    body = json.dumps(problem_body(status, type_slug=type_slug, title=title, detail=detail, instance=instance)).encode()
    raw_headers = [_CONTENT_TYPE, (b"content-length", str(len(body)).encode()), *headers]
    if request_id is not None:
        raw_headers.append((b"x-request-id", request_id))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def encode_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
