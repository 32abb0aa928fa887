"""Errors of verification."""

from __future__ import annotations

from mcm_shared.errors import Conflict, InvalidInput


class InvalidCode(InvalidInput):
    type_slug, title = "invalid-code", "The code is wrong or has expired"


class AlreadyVerified(Conflict):
    type_slug, title = "already-verified", "Already verified"


class InvalidPhone(InvalidInput):
    type_slug, title = "invalid-phone", "Not a valid phone number"


class NoEmailAddress(Conflict):
    type_slug, title = "no-email-address", "No email address"
