"""Stripe's request encoding: `a[b][0][c]=v` form fields turned into nested dicts and lists."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_TOKEN = re.compile(r"\[([^\]]*)\]")


class FormError(ValueError):
    pass


def _path(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    if not head:
        raise FormError(f"invalid parameter name {key!r}")
    tokens = [head]
    if rest:
        rest = "[" + rest
        consumed = 0
        for match in _TOKEN.finditer(rest):
            if match.start() != consumed:
                raise FormError(f"invalid parameter name {key!r}")
            tokens.append(match.group(1))
            consumed = match.end()
        if consumed != len(rest):
            raise FormError(f"invalid parameter name {key!r}")
    return tokens


def _listify(value: Any) -> Any:
    if isinstance(value, list):
        return [_listify(item) for item in value]
    if isinstance(value, dict):
        converted = {key: _listify(item) for key, item in value.items()}
        if "" in converted:
            return converted[""]
        if converted and all(key.isdigit() for key in converted):
            return [converted[key] for key in sorted(converted, key=int)]
        return converted
    return value


def parse_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`[("metadata[a]", "1"), ("expand[0]", "x")]` → `{"metadata": {"a": "1"}, "expand": ["x"]}`."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        tokens = _path(key)
        if "" in tokens[:-1]:
            raise FormError(f"use indexed arrays in {key!r}")
        node = root
        for token in tokens[:-1]:
            child = node.get(token)
            if not isinstance(child, dict):
                child = {}
                node[token] = child
            node = child
        last = tokens[-1]
        if last == "":
            bucket = node.setdefault("", [])
            if not isinstance(bucket, list):
                raise FormError(f"invalid parameter name {key!r}")
            bucket.append(value)
        else:
            node[last] = value
    listified: dict[str, Any] = _listify(root)
    return listified


def parse_body(body: bytes, query: str = "") -> dict[str, Any]:
    pairs = parse_qsl(query, keep_blank_values=True)
    if body:
        try:
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise FormError("request body is not UTF-8") from exc
    return parse_params(pairs)


def to_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FormError(f"Invalid integer: {name}") from None


def to_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "True", "1"):
        return True
    if value in ("false", "False", "0"):
        return False
    raise FormError(f"Invalid boolean: {name}")
