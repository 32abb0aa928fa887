"""What every scenario gets: the running stack, the seeded data, tokens, a work directory."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from mcm_shared.devstack.platform import CREDENTIALS_DATABASE, MAIN_DATABASE

from benchkit.report import NotAvailable
from benchkit.seed import SeedResult
from benchkit.stack import BenchStack


@dataclass
class BenchContext:
    stack: BenchStack
    work_dir: Path
    quick: bool
    pepper: str
    webhook_secret: str
    seed: SeedResult | None = None
    seed_error: str | None = None
    member_tokens: list[str] = field(default_factory=list)
    registration_tokens: dict[str, str] = field(default_factory=dict)
    token_error: str | None = None
    _openapi: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    # -- where things are ---------------------------------------------------------------------
    def url(self, service: str) -> str:
        return self.stack.url(service)

    @property
    def gateway(self) -> str:
        return self.stack.url("gateway")

    @property
    def main_dsn(self) -> str:
        return self.stack.pg_url(MAIN_DATABASE)

    @property
    def creds_dsn(self) -> str:
        return self.stack.pg_url(CREDENTIALS_DATABASE)

    async def main_db(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.main_dsn)

    def scale(self, full: float, quick: float) -> float:
        return quick if self.quick else full

    # -- preconditions --------------------------------------------------------------------------
    def require_ready(self, *services: str) -> None:
        for name in services:
            start = self.stack.starts.get(name)
            if start is None or not start.ready:
                migration = self.stack.migration_errors.get(name)
                why = start.error if start else "not started"
                raise NotAvailable(f"{name} is not ready ({why})" + (f"; its migrations failed: {migration}" if migration else ""))

    def require_seed(self) -> SeedResult:
        if self.seed is None:
            raise NotAvailable(f"the data could not be seeded: {self.seed_error}")
        return self.seed

    def require_member_tokens(self) -> list[str]:
        if not self.member_tokens:
            raise NotAvailable(f"no signed-in member to send requests as: {self.token_error}")
        return self.member_tokens

    def openapi(self, service: str) -> dict[str, Any] | None:
        if service not in self._openapi:
            try:
                response = httpx.get(f"{self.url(service)}/openapi.json", timeout=10)
                self._openapi[service] = response.json() if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                self._openapi[service] = None
        return self._openapi[service]

    def require_route(self, service: str, method: str, path: str) -> None:
        """NotAvailable unless `service` publishes `method path` in its OpenAPI document."""
        document = self.openapi(service)
        if document is None:
            return  # cannot tell; the scenario's first request will
        operations = document.get("paths", {}).get(path, {})
        if method.lower() not in operations:
            raise NotAvailable(f"{service} has no {method.upper()} {path} yet")
