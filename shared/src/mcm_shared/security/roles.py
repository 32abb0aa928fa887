"""The role names access tokens carry (ARCHITECTURE.md §4): part of the token contract, like
`Principal`. Roles are additive; what each may do is decided by the service that owns the action
(auth keeps the permission table). Services compare against these members, never string literals.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MEMBER = "member"
    FACILITATOR = "facilitator"
    PTM = "ptm"  # event staff ("people team member"): runs events and registrations
    SUPPORT = "support"
    LEADERSHIP = "leadership"
    ADMIN = "admin"


ROLE_NAMES: tuple[str, ...] = tuple(role.value for role in Role)
