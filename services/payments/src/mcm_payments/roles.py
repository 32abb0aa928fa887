"""Who may do what in payments (role names from auth's table; roles are additive)."""

from __future__ import annotations

from mcm_shared.security import Principal

INTERVENTION_ROLES = ("support", "admin")
REFUND_ROLES = ("support", "admin")
OVERVIEW_ROLES = ("leadership", "admin")


def actor_of(principal: Principal) -> str:
    return f"user:{principal.user_id}" if principal.user_id else principal.subject


def can_read_any_obligation(principal: Principal) -> bool:
    """Payment staff. Leadership sees money only in aggregate (the overview), never one member's."""
    return principal.has_role(*INTERVENTION_ROLES, *REFUND_ROLES)
