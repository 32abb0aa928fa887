"""The stand-in's memory: every object by id, idempotent responses, and the clock."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

API_VERSION = "2026-10-28.endive"


class StripeError(Exception):
    """An error rendered the way Stripe renders it: `{"error": {type, message, code, param}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"error": {"type": type_, "message": message}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def missing(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def now() -> int:
    return int(time.time())


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def snapshot(obj: T) -> T:
    return copy.deepcopy(obj)


@dataclass
class Idempotent:
    fingerprint: str
    status: int
    body: dict[str, Any]


@dataclass
class Store:
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[tuple[str, str], Idempotent] = field(default_factory=dict)
    key_locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        return obj

    def get(self, object_id: str, kind: str, label: str | None = None) -> dict[str, Any]:
        obj = self.objects.get(object_id)
        if obj is None or obj.get("object") != kind:
            raise missing(label or kind, object_id)
        return obj

    def find(self, kind: str, **where: Any) -> list[dict[str, Any]]:
        return [
            obj
            for obj in self.objects.values()
            if obj.get("object") == kind and all(obj.get(key) == value for key, value in where.items())
        ]

    def lock_for(self, key: tuple[str, str]) -> asyncio.Lock:
        return self.key_locks.setdefault(key, asyncio.Lock())

    def expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        """Replace ids by objects along each dotted `expand[]` path (on a copy)."""
        result = snapshot(obj)
        for path in paths:
            self._expand_path(result, path.split("."))
        return result

    def _expand_path(self, node: Any, parts: list[str]) -> None:
        if not parts or not isinstance(node, dict):
            return
        head, rest = parts[0], parts[1:]
        if head == "data" and isinstance(node.get("data"), list):
            for item in node["data"]:
                self._expand_path(item, rest)
            return
        value = node.get(head)
        if isinstance(value, str) and value in self.objects:
            node[head] = value = snapshot(self.objects[value])
        self._expand_path(value, rest)


def fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    raw = json.dumps([method, path, params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()
