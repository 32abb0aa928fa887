"""`python -m mcm_gateway serve`: run the gateway under uvicorn (uvloop + httptools).

The process is uvicorn itself (no wrapper child), so `exec python -m mcm_gateway serve` in a
container receives SIGTERM directly and drains. uvicorn's own X-Forwarded-For handling is off:
the gateway decides whom to believe from TRUSTED_PROXIES.
"""
from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from mcm_gateway.config import Settings
from mcm_gateway.main import create_app


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcm_gateway serve")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=None, help="default: GATEWAY_PORT or 8000")
    args = parser.parse_args(argv)
    settings = Settings()
    app = create_app(settings)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port or settings.gateway_port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        proxy_headers=False,
        server_header=False,
        access_log=False,
        log_config=None,  # configure_logging already set JSON logs
        timeout_graceful_shutdown=20,
        backlog=4096,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "serve":
        print("usage: python -m mcm_gateway serve [--host HOST] [--port PORT]", file=sys.stderr)
        return 2
    return serve(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
