"""Errors of user administration."""

from __future__ import annotations

from mcm_shared.errors import Conflict


class LastAdmin(Conflict):
    type_slug, title = "last-admin", "The last active administrator cannot lose the role or be disabled"


class NotOnYourself(Conflict):
    type_slug, title = "not-on-yourself", "You cannot do this to your own account"
