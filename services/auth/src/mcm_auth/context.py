"""Everything a use case needs besides the database session, built once per app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcm_shared.db import Database

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from mcm_auth.config import Settings
    from mcm_auth.keys.service import KeyRing
    from mcm_auth.notifications.outbound import Outbound
    from mcm_auth.security.passwords import PasswordHasher


@dataclass
class AuthContext:
    settings: Settings
    db: Database
    redis: Redis
    keyring: KeyRing
    hasher: PasswordHasher
    events: Any  # mcm_shared.events.writer.EventWriter
    outbound: Outbound
