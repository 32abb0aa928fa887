"""Errors of talking to the OpenID provider."""

from __future__ import annotations

from mcm_shared.errors import DependencyUnavailable, Unauthenticated


class GoogleRejected(Unauthenticated):
    type_slug, title = "google-sign-in-failed", "Google sign-in failed"


class GoogleUnavailable(DependencyUnavailable):
    type_slug, title = "google-unavailable", "Google cannot be reached right now"
