"""The auth service's runtime: everything a use case needs besides the database session, built
once in the lifespan (mcm_auth.main.build_runtime) and never changed afterwards."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from redis.asyncio import Redis

from mcm_auth.config import Settings
from mcm_auth.internal.client import InternalClient
from mcm_auth.keys.service import KeyRing
from mcm_auth.oidc.client import OidcClient
from mcm_auth.outbox.outbound import Outbound
from mcm_auth.security.passwords import PasswordHasher
from mcm_shared.client_address import TrustedProxies
from mcm_shared.db import Database
from mcm_shared.events import EventWriter


@dataclass(frozen=True, slots=True)
class AuthRuntime:
    settings: Settings
    database: Database
    redis: Redis
    keyring: KeyRing
    hasher: PasswordHasher
    events: EventWriter
    outbound: Outbound
    oidc: OidcClient
    trusted_proxies: TrustedProxies  # FORWARDED_ALLOW_IPS, parsed once
    http: httpx.AsyncClient  # outbound HTTP (Google, the SMS gateway); closed with the app
    internal: InternalClient  # calls to circles' and payments' /internal/v1 routes, as svc:auth
