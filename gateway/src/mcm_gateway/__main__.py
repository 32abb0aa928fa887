"""`python -m mcm_gateway serve`: run the gateway on uvicorn (httptools, uvloop; `front.py`).

The process is the server itself (no wrapper child), so `exec python -m mcm_gateway serve` in a
container receives SIGTERM directly and drains. X-Forwarded-For is judged by the gateway from
TRUSTED_PROXIES, never by the server layer.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from mcm_gateway.config import Settings
from mcm_gateway.front import GatewayServer, uvicorn_config
from mcm_gateway.main import create_app
from mcm_shared.cli import exit_zero_on_sigterm


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcm_gateway serve")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=None, help="default: GATEWAY_PORT or 8000")
    args = parser.parse_args(argv)
    # uvicorn's `websockets` implementation is chosen on purpose (docs/gateway.md, "WebSocket
    # routes"); its deprecation notice would otherwise be printed at every start.
    warnings.filterwarnings("ignore", message="The `websockets` implementation is deprecated")
    settings = Settings()
    app = create_app(settings)
    exit_zero_on_sigterm()
    GatewayServer(uvicorn_config(app, settings, args.host, args.port or settings.gateway_port), app).run()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "serve":
        print("usage: python -m mcm_gateway serve [--host HOST] [--port PORT]", file=sys.stderr)
        return 2
    return serve(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
