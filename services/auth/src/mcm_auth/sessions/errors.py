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


class SignInCodeRequired(Unauthenticated):
    """The password was right, but the account is under attack: finish with the emailed code.

    Only a correct password gets this answer, so it tells a guesser nothing they did not know.
    """

    type_slug, title = "sign-in-code-required", "A sign-in code is required"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, extra={"code_required": True})


class InvalidSignInCode(Unauthenticated):
    type_slug, title = "invalid-sign-in-code", "The sign-in code is wrong, used or expired"
