"""Errors of Google sign-in."""

from __future__ import annotations

from mcm_shared.errors import InvalidInput, NotFound


class GoogleDisabled(NotFound):
    type_slug, title = "google-disabled", "Google sign-in is not enabled"


class InvalidState(InvalidInput):
    status, type_slug, title = 400, "invalid-state", "The sign-in attempt is unknown, used or expired; start again"
