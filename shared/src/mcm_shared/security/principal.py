"""Who is calling: the identity a verified access token stands for."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

SERVICE_SUBJECT_PREFIX = "svc:"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str  # the raw `sub`: "<uuid>" for users, "svc:<name>" for services
    user_id: UUID | None  # parsed when `sub` is a UUID
    roles: frozenset[str]
    session_id: UUID | None  # `sid`; service tokens may have none
    token_id: str  # `jti`
    expires_at: int  # `exp`, seconds since the epoch

    def has_role(self, *roles: str) -> bool:
        """True when the principal holds any of `roles`."""
        return not self.roles.isdisjoint(roles)

    @property
    def is_service(self) -> bool:
        return self.subject.startswith(SERVICE_SUBJECT_PREFIX)
