"""problem+json bodies for answers the gateway gives itself on the proxy path."""

from __future__ import annotations

import json

from mcm_shared.errors import problem_body


def problem_bytes(status: int, *, type_slug: str, title: str, detail: str, instance: str | None = None) -> bytes:
    return json.dumps(problem_body(status, type_slug=type_slug, title=title, detail=detail, instance=instance)).encode()


def encode_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
