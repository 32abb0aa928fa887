"""Who may do what in payments (role names are mcm_shared.security.Role; roles are additive)."""

from __future__ import annotations

from mcm_shared.security import Principal, Role

INTERVENTION_ROLES: tuple[Role, ...] = (Role.SUPPORT, Role.ADMIN)
REFUND_ROLES: tuple[Role, ...] = (Role.SUPPORT, Role.ADMIN)
OVERVIEW_ROLES: tuple[Role, ...] = (Role.LEADERSHIP, Role.ADMIN)


def actor_of(principal: Principal) -> str:
    return f"user:{principal.user_id}" if principal.user_id else principal.subject


def can_read_any_obligation(principal: Principal) -> bool:
    """Payment staff. Leadership sees money only in aggregate (the overview), never one member's."""
    return principal.has_role(*INTERVENTION_ROLES, *REFUND_ROLES)
