"""Short-lived, single-use tickets that open a socket (no token in the URL, ARCHITECTURE §11).

`POST /api/v1/realtime/tickets` stores a ticket in Redis bound to the caller and the session of
the access token that asked; the socket's first frame presents it. Only a SHA-256 of the ticket is
stored, and GETDEL redeems it, so a ticket works once, on one replica, within its lifetime.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

TICKET_PREFIX = "messaging:ticket:"


@dataclass(frozen=True, slots=True)
class TicketHolder:
    user_id: uuid.UUID
    session_id: uuid.UUID | None
    roles: frozenset[str]


def _key(ticket: str) -> str:
    return TICKET_PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


class TicketStore:
    def __init__(self, redis: Redis, *, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl_seconds = ttl_seconds

    async def issue(self, holder: TicketHolder) -> str:
        ticket = secrets.token_urlsafe(32)
        value = json.dumps(
            {
                "user_id": str(holder.user_id),
                "session_id": str(holder.session_id) if holder.session_id else None,
                "roles": sorted(holder.roles),
            }
        )
        await self.redis.set(_key(ticket), value, ex=self.ttl_seconds)
        return ticket

    async def redeem(self, ticket: str) -> TicketHolder | None:
        """The holder of a valid ticket, which is spent by this call; None otherwise."""
        if not ticket or len(ticket) > 128:
            return None
        raw = await self.redis.getdel(_key(ticket))
        if raw is None:
            return None
        value = json.loads(raw)
        session = value.get("session_id")
        return TicketHolder(
            user_id=uuid.UUID(value["user_id"]),
            session_id=uuid.UUID(session) if session else None,
            roles=frozenset(value.get("roles") or ()),
        )
