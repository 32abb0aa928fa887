"""The one table of roles and what each may do (part of the token contract, like `Role`).

Roles are additive: a user holds a set of roles and may do whatever any of them allows. Auth
shows it to admins and uses it for its own routes; every service decides with the same table
through `require_permission`, so "who may read reports" is written down once.
"""

from __future__ import annotations

from collections.abc import Iterable

from mcm_shared.security.roles import Role

# Ordered from least to most privileged; used to tell promotion from demotion.
PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.MEMBER: frozenset({"profile:own", "circles:join", "events:register", "payments:own"}),
    Role.FACILITATOR: frozenset({"circles:facilitate", "meetings:manage", "attendance:record"}),
    Role.PTM: frozenset({"events:manage", "registrations:manage"}),
    # users:overview: one member's account, sessions, memberships, registrations and money
    # (GET /users/{id}/overview); users:assist: resend his verification code, start his password
    # reset (the link goes to him); users:privacy: export or erase on his behalf (admins only).
    # Leadership sees members in aggregate (reports), not one member's money: no users:overview.
    Role.SUPPORT: frozenset(
        {"users:read", "users:audit:read", "payments:interventions", "users:overview", "users:assist"}
    ),
    Role.LEADERSHIP: frozenset({"users:read", "users:audit:read", "reports:read", "payments:overview"}),
    Role.ADMIN: frozenset(
        {
            "users:read",
            "users:audit:read",
            "users:roles:write",
            "users:disable",
            "reports:read",
            "payments:overview",
            "users:overview",
            "users:assist",
            "users:privacy",
        }
    ),
}


def permissions_of(roles: Iterable[str]) -> frozenset[str]:
    granted: set[str] = set()
    for name in roles:
        try:
            granted |= PERMISSIONS[Role(name)]
        except ValueError:
            continue  # a role name this version does not know grants nothing
    return frozenset(granted)


def roles_with(permission: str) -> tuple[str, ...]:
    return tuple(role.value for role, perms in PERMISSIONS.items() if permission in perms)
