"""The shared role -> permission table: one source for auth and every service's checks."""

from __future__ import annotations

import pytest

from mcm_shared.security import permissions_of, require_permission, roles_with


def test_reports_are_read_by_leadership_and_admin_only():
    assert roles_with("reports:read") == ("leadership", "admin")
    assert "reports:read" not in permissions_of(["member", "facilitator", "ptm", "support"])
    assert "reports:read" in permissions_of(["member", "leadership"])


def test_unknown_roles_grant_nothing_and_unknown_permissions_are_refused():
    assert permissions_of(["astronaut"]) == frozenset()
    with pytest.raises(ValueError, match="no role grants"):
        require_permission("reports:write")
