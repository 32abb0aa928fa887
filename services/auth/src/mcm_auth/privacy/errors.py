"""Errors of export and erasure."""

from __future__ import annotations

from mcm_shared.errors import Conflict


class AlreadyErased(Conflict):
    type_slug, title = "already-erased", "Already erased"
