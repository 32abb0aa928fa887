"""Roles and what each may do, as auth uses them. The table itself is shared
(`mcm_shared.security.permissions`) so every service decides with the same one.
"""

from __future__ import annotations

from collections.abc import Iterable

from mcm_shared.security import ROLE_NAMES, Role
from mcm_shared.security.permissions import PERMISSIONS, permissions_of, roles_with

__all__ = ["PERMISSIONS", "canonical_roles", "permissions_of", "roles_with"]


def canonical_roles(roles: Iterable[str]) -> list[str]:
    """Deduplicated, in the table's order, always including member."""
    wanted = set(roles) | {Role.MEMBER.value}
    return [name for name in ROLE_NAMES if name in wanted]
