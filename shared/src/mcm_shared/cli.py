"""The command line every service shares: `python -m mcm_<service> serve|migrate|...`.

`serve` runs uvicorn in this process (exec form in containers, so SIGTERM reaches it);
`migrate` brings the service's database to head.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable


def serve(app_path: str, *, port_env: str, default_port: int, graceful_seconds: int = 20) -> None:
    import uvicorn

    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get(port_env, default_port))
    exit_zero_on_sigterm()
    uvicorn.run(
        app_path,
        factory=True,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=graceful_seconds,
        timeout_keep_alive=max(1, round(float(os.environ.get("KEEP_ALIVE_SECONDS", "75")))),
    )


def exit_zero_on_sigterm() -> None:
    """Call before `uvicorn.run`: a SIGTERM that ends in a graceful shutdown exits with status 0.

    After draining, uvicorn restores the handler it found and raises the signal again; with the
    default disposition that kills the already drained process (exit status -15, "killed").
    """
    signal.signal(signal.SIGTERM, _exit_cleanly)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def run_cli(
    prog: str,
    *,
    app_path: str,
    port_env: str,
    default_port: int,
    migrate: Callable[[], None] | None = None,
    commands: dict[str, Callable[[list[str]], int | None]] | None = None,
    argv: list[str] | None = None,
) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    available = ["serve"] + (["migrate"] if migrate else []) + sorted(commands or {})
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("command", choices=available)
    args, rest = parser.parse_known_args(argv)
    if args.command == "serve":
        serve(app_path, port_env=port_env, default_port=default_port)
    elif args.command == "migrate" and migrate:
        migrate()
    else:
        code = (commands or {})[args.command](rest)
        sys.exit(code or 0)
