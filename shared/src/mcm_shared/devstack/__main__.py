"""`python -m mcm_shared.devstack run`: what `make run` starts.

Runs the whole platform on this machine: embedded PostgreSQL and Redis (data kept under
`.data/`, so a second run keeps it) unless DATABASE_URL/CREDS_DATABASE_URL/REDIS_URL are set,
migrations, the first admin, the four services; Ctrl-C or SIGTERM stops everything it started.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from mcm_shared.devstack.platform import Platform


def _print_banner(platform: Platform, admin: str, started: float) -> None:
    gateway = platform.url("gateway")
    lines = [
        "",
        "Men's Circle Management Platform is running",
        f"  gateway      {gateway}",
        f"  API docs     {gateway}/docs",
        f"  health       {gateway}/api/v1/health",
        *(f"  {name:<12} {platform.url(name)} (internal)" for name in ("auth", "circles", "payments")),
        f"  data         {platform.data_dir}",
        f"  logs         {platform.log_dir}",
        f"  {admin}",
        f"  ready in {time.monotonic() - started:.1f}s — press Ctrl-C to stop",
        "",
    ]
    print("\n".join(lines), flush=True)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    data_dir = Path(args.data_dir).resolve()
    platform = Platform(data_dir=data_dir, log_dir=data_dir / "logs")
    stop_requested = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        admin = platform.start(admin_email=os.environ.get("ADMIN_EMAIL"), admin_password=os.environ.get("ADMIN_PASSWORD"))
        _print_banner(platform, admin, started)
        while not stop_requested:
            for name, process in platform.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; see {platform.log_dir}/{name}.log", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        print("stopping…", flush=True)
        platform.stop()
        print("stopped.", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="mcm_shared.devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="start the whole platform")
    run_parser.add_argument("--data-dir", default=".data")
    args = parser.parse_args()
    sys.exit(run(args))


if __name__ == "__main__":
    main()
