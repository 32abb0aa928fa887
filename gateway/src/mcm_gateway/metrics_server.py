"""The gateway's Prometheus metrics on a port of their own (METRICS_PORT), bound to HOST.

The gateway is the platform's public door, so its metrics (a map of traffic, routes and
failures) are not served on the public port: Prometheus scrapes this one, which only the
monitoring namespace may reach (deploy/k8s). prometheus_client's own server does the HTTP
(a small stdlib server in a daemon thread; scraping reads the same registry the event loop
updates, which prometheus_client locks), so no request parsing of ours is involved.
"""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server

logger = logging.getLogger("mcm.gateway")


class MetricsServer:
    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Listen now; False (logged) when the port cannot be had — the gateway still serves."""
        try:
            self._server, self._thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        except OSError as exc:
            logger.error(
                "metrics port unavailable; serving without metrics",
                extra={"host": self.host, "port": self.port, "error": str(exc)},
            )
            return False
        logger.info("metrics served", extra={"host": self.host, "port": self.port})
        return True

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()  # returns once the serving thread has left its loop
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
