"""`python -m mcm_devstack run`: what `make run` starts.

Runs the whole platform on this machine: embedded PostgreSQL and Redis (data kept under
`.data/`, so a second run keeps it) unless DATABASE_URL/CREDS_DATABASE_URL/REDIS_URL are set,
a mail sink, an SMS sink and the Stripe stand-in unless SMTP_HOST/SMS_API_BASE/STRIPE_SECRET_KEY
are set, migrations (skipped when already done for this data), the first admin, the services,
all side by side (see platform.py); the banner says how long it took. Ctrl-C or SIGTERM stops
everything it started.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mcm_devstack import webbuild
from mcm_devstack.platform import Platform


def _where(path: Path | None) -> str:
    if path is None:
        return "this terminal"
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _outside_lines(platform: Platform) -> list[str]:
    """What stands in for email, SMS and Stripe: our sidecars, or what the environment names."""
    env, sidecars = platform.env, platform.sidecars
    lines = []
    if mail := sidecars.get("mailsink"):
        lines += [
            f"  mail sink    {mail.url} — every email printed to {_where(mail.log)},",
            f"               the last ones kept in {_where(mail.store)}",
        ]
    else:
        lines.append(f"  email        SMTP {env.get('SMTP_HOST')}:{env.get('SMTP_PORT', '25')} (from SMTP_HOST)")
    if sms := sidecars.get("smssink"):
        lines += [
            f"  SMS sink     {sms.url} — every SMS printed to {_where(sms.log)},",
            f"               the last ones kept in {_where(sms.store)}",
        ]
    else:
        lines.append(f"  SMS          {env.get('SMS_API_BASE')} (from SMS_API_BASE)")
    if stripe := sidecars.get("stripe-standin"):
        lines += [
            f"  Stripe       stand-in {stripe.url} (hosted checkout pages; log {_where(stripe.log)})",
            f"               webhooks → {platform.url('gateway')}/api/v1/payments/webhooks/stripe",
            "               test cards 4242 4242 4242 4242 pays · 4000 0000 0000 0341 fails on renewal"
            " · 4000 0000 0000 0002 declined",
        ]
    else:
        lines.append(
            f"  Stripe       {env.get('STRIPE_API_BASE', 'https://api.stripe.com')}"
            " (STRIPE_SECRET_KEY / STRIPE_API_BASE set)"
        )
    return lines


def _phases(platform: Platform) -> str:
    """Where the start-up time went: the engines, then migrations and services side by side."""
    timings = platform.timings
    migrations = f"migrations {timings['migrations']:.1f}s" if "migrations" in timings else "migrations skipped"
    engines, services = timings.get("engines", 0.0), timings.get("services", 0.0)
    return f"engines {engines:.1f}s, {migrations}, services ready at {services:.1f}s"


def _web_log(data_dir: Path) -> Path:
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    return data_dir / "logs" / "web-build.log"


def _print_banner(platform: Platform, admin: str, started: float, web: str) -> None:
    gateway = platform.url("gateway")
    lines = [
        "",
        "Men's Circle Management Platform is running",
        f"  web app      {gateway}/  ({web})",
        f"  gateway      {gateway}",
        f"  API docs     {gateway}/docs",
        f"  health       {gateway}/api/v1/health",
        *(f"  {name:<12} {platform.url(name)} (internal)" for name in ("auth", "circles", "payments", "messaging")),
        *_outside_lines(platform),
        f"  data         {platform.data_dir}",
        f"  logs         {platform.log_dir}",
        f"  {admin}",
        f"  ready in {time.monotonic() - started:.1f}s ({_phases(platform)}) — press Ctrl-C to stop",
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
    # The web app builds while the platform starts (the gateway serves it once web/dist exists).
    web = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    web_build = web.submit(webbuild.ensure_built, log=_web_log(data_dir))
    try:
        admin = platform.start(
            admin_email=os.environ.get("ADMIN_EMAIL"), admin_password=os.environ.get("ADMIN_PASSWORD")
        )
        try:
            web_state = web_build.result()
        except subprocess.CalledProcessError as exc:
            web_state = f"web app build failed ({' '.join(map(str, exc.cmd[1:]))}): see {_web_log(data_dir)}"
        web.shutdown()
        _print_banner(platform, admin, started, web_state)
        while not stop_requested:
            running = {
                **platform.processes,
                **{name: sidecar.process for name, sidecar in platform.sidecars.items() if sidecar.process},
            }
            for name, process in running.items():
                if process.poll() is not None:
                    print(
                        f"{name} exited with {process.returncode}; see {platform.log_dir}/{name}.log", file=sys.stderr
                    )
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        print("stopping…", flush=True)
        platform.stop()
        print("stopped.", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="mcm_devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="start the whole platform")
    run_parser.add_argument("--data-dir", default=".data")
    args = parser.parse_args()
    sys.exit(run(args))


if __name__ == "__main__":
    main()
