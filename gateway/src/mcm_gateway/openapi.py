"""The platform's public API document: the services' OpenAPI documents merged at the gateway.

Only what a client can reach through the gateway is kept — paths the route table sends to the
service that described them (never `/internal/`, never a service's own health or metrics) — plus
the gateway's own endpoints. Every operation says whether it needs the bearer token, using one
`bearerAuth` scheme. Schema names two services both use for different shapes are prefixed with
the service's name. Documents are cached; a service that cannot be asked keeps its last good
document (or is listed under `x-unavailable-services` until it answers once).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from typing import Any

from mcm_gateway.routes import Access, RouteTable
from mcm_gateway.upstream.pool import UpstreamPool
from mcm_gateway.upstream.probe import get

logger = logging.getLogger("mcm.gateway.openapi")

BEARER = {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name in renames:
                node = {**node, "$ref": "#/components/schemas/" + renames[name]}
        return {key: _rename_refs(value, renames) for key, value in node.items()}
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def merge_documents(
    own: dict[str, Any], services: dict[str, dict[str, Any]], routes: RouteTable, *, title: str, version: str
) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "openapi": own.get("openapi", "3.1.0"),
        "info": {
            "title": title,
            "version": version,
            "description": "Every public endpoint of the platform, as served through the gateway.",
        },
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": BEARER},
        "tags": [],
    }
    schemas: dict[str, Any] = merged["components"]["schemas"]
    seen_tags: set[str] = set()
    for service, document in [("gateway", own), *services.items()]:
        renames: dict[str, str] = {}
        for name, schema in (document.get("components", {}).get("schemas") or {}).items():
            if name in schemas and schemas[name] != schema:
                renames[name] = service.capitalize() + name
        document = _rename_refs(document, renames)
        for name, schema in (document.get("components", {}).get("schemas") or {}).items():
            schemas.setdefault(renames.get(name, name), schema)
        for path, item in (document.get("paths") or {}).items():
            operations = _public_operations(service, path, item, routes)
            if operations:
                merged["paths"].setdefault(path, {}).update(operations)
        for tag in document.get("tags") or []:
            if tag.get("name") not in seen_tags:
                seen_tags.add(tag.get("name"))
                merged["tags"].append(tag)
    return merged


def _public_operations(service: str, path: str, item: dict[str, Any], routes: RouteTable) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    probe_path = path.replace("{", "x").replace("}", "x")  # a concrete path for the route table
    for method, operation in item.items():
        if method not in _METHODS:
            continue
        route = routes.resolve(method.upper(), probe_path, probe_path.encode())
        if service == "gateway":
            if route is not None:
                continue  # a gateway path that is really proxied: the service describes it
            security: list[Any] = []
        elif route is None or route.upstream != service:
            continue  # internal, or not reachable through the gateway
        else:
            security = [] if route.access is Access.PUBLIC else [{"bearerAuth": []}]
        operation = copy.deepcopy(operation)
        operation["security"] = security
        kept[method] = operation
    return kept


class MergedOpenAPI:
    def __init__(
        self,
        pools: dict[str, UpstreamPool],
        routes: RouteTable,
        own: dict[str, Any],
        *,
        title: str,
        version: str,
        cache_seconds: float = 60.0,
        timeout: float = 2.0,
    ) -> None:
        self.pools = pools
        self.routes = routes
        self.own = own
        self.title = title
        self.version = version
        self.cache_seconds = cache_seconds
        self.timeout = timeout
        self._documents: dict[str, dict[str, Any]] = {}
        self._merged: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def document(self) -> dict[str, Any]:
        if self._merged is not None and time.monotonic() - self._fetched_at < self.cache_seconds:
            return self._merged
        async with self._lock:
            if self._merged is None or time.monotonic() - self._fetched_at >= self.cache_seconds:
                await self._refresh()
        return self._merged  # type: ignore[return-value]

    async def _refresh(self) -> None:
        names = list(self.pools)
        results = await asyncio.gather(*(self._fetch(self.pools[name]) for name in names), return_exceptions=True)
        missing = []
        for name, result in zip(names, results, strict=True):
            if isinstance(result, dict):
                self._documents[name] = result
            elif name not in self._documents:
                missing.append(name)
        merged = merge_documents(self.own, self._documents, self.routes, title=self.title, version=self.version)
        if missing:
            merged["x-unavailable-services"] = missing
        self._merged = merged
        # Retry soon when something was missing, instead of serving a gap for a whole minute.
        self._fetched_at = time.monotonic() - (self.cache_seconds - 5 if missing else 0)

    async def _fetch(self, pool: UpstreamPool) -> dict[str, Any]:
        try:
            status, body = await get(pool, b"/openapi.json", self.timeout)
        except Exception as exc:
            logger.info("openapi document unavailable", extra={"upstream": pool.name, "error": type(exc).__name__})
            raise
        if status != 200:
            raise ValueError(f"{pool.name} answered {status} for /openapi.json")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError("not an OpenAPI document")
        return document
