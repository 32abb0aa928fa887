"""`python -m mcm_gateway serve`: run the gateway.

By default on its own HTTP server (`mcm_gateway.server`, uvloop + httptools); `--server uvicorn`
runs the same app as plain ASGI under uvicorn (slower; kept for comparison and debugging).
The process is the server itself (no wrapper child), so `exec python -m mcm_gateway serve` in a
container receives SIGTERM directly and drains. X-Forwarded-For is judged by the gateway from
TRUSTED_PROXIES, never by the server layer.
"""
from __future__ import annotations

import argparse
import os
import sys

from mcm_gateway.config import Settings
from mcm_gateway.main import create_app


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcm_gateway serve")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=None, help="default: GATEWAY_PORT or 8000")
    parser.add_argument("--server", choices=["native", "uvicorn"], default=os.environ.get("GATEWAY_SERVER", "native"))
    args = parser.parse_args(argv)
    settings = Settings()
    app = create_app(settings)
    port = args.port or settings.gateway_port
    if args.server == "uvicorn":
        import uvicorn

        uvicorn.run(
            app, host=args.host, port=port, loop="uvloop", http="httptools", lifespan="on", proxy_headers=False,
            server_header=False, access_log=False, log_config=None, timeout_graceful_shutdown=int(settings.shutdown_grace_seconds), backlog=4096,
        )
        return 0
    import uvloop

    from mcm_gateway.server import serve as serve_native

    uvloop.run(serve_native(app, args.host, port, grace_seconds=settings.shutdown_grace_seconds))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "serve":
        print("usage: python -m mcm_gateway serve [--host HOST] [--port PORT] [--server native|uvicorn]", file=sys.stderr)
        return 2
    return serve(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
