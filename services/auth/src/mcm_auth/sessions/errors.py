"""Errors of sign-in and sessions."""
from __future__ import annotations

from mcm_shared.errors import Forbidden, NotFound, Unauthenticated


class InvalidCredentials(Unauthenticated):
    type_slug, title = "invalid-credentials", "Invalid email or password"


class InvalidRefreshToken(Unauthenticated):
    type_slug, title = "invalid-refresh-token", "The refresh token is invalid or has expired"


class AccountDisabled(Forbidden):
    type_slug, title = "account-disabled", "This account is disabled"


class SessionNotFound(NotFound):
    type_slug, title = "session-not-found", "No such session"
