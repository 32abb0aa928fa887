"""Errors of password reset and change."""

from __future__ import annotations

from mcm_shared.errors import Conflict, InvalidInput, Unauthenticated


class InvalidResetToken(InvalidInput):
    type_slug, title = "invalid-reset-token", "The reset link is invalid, used or expired"


class WrongCurrentPassword(Unauthenticated):
    type_slug, title = "wrong-password", "The current password is not correct"

    def __init__(self, detail: str | None = None) -> None:
        # A signed-in caller: no WWW-Authenticate challenge, their token is fine.
        super().__init__(detail, headers={})


class NoResetPossible(Conflict):
    type_slug, title = "no-reset-possible", "No reset link can be sent"
