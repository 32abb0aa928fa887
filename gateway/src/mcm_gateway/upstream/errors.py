"""Why an upstream call failed, and which status the client sees for it."""

from __future__ import annotations


class UpstreamError(Exception):
    status = 502
    type_slug = "bad-gateway"
    title = "Bad gateway"

    def __init__(self, detail: str, *, retry_safe: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        # True only when the upstream cannot have seen the request (e.g. it closed a reused
        # keep-alive connection before answering anything); idempotent requests may be resent.
        self.retry_safe = retry_safe


class ConnectFailed(UpstreamError):
    """Connection refused or reset while connecting: nothing listens there."""


class UpstreamBroken(UpstreamError):
    """The connection dropped or the upstream sent something that is not HTTP."""


class UpstreamUnavailable(UpstreamError):
    """Not configured, or known to be down (circuit open), or out of connections."""

    status = 503
    type_slug = "upstream-unavailable"
    title = "Service temporarily unavailable"


class UpstreamTimeout(UpstreamError):
    status = 504
    type_slug = "upstream-timeout"
    title = "Upstream timed out"
