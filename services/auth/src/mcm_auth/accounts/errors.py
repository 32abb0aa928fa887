"""Errors of accounts."""

from __future__ import annotations

from mcm_shared.errors import NotFound, Unauthenticated


class AccountNotFound(NotFound):
    type_slug, title = "user-not-found", "No such user"


class AccountUnavailable(Unauthenticated):
    """The token is valid but its account or session no longer is."""

    type_slug, title = "session-ended", "The session has ended; sign in again"
