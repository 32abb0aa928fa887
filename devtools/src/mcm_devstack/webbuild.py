"""Build the web app (`web/`) for `make run` when its sources changed since the last build.

`npm ci` installs exactly the committed lock file (only when node_modules is missing or older
than the lock), then `npm run build` type-checks and writes `web/dist`, which the gateway serves
at `/` (WEB_DIST_DIR). A build newer than every source is kept as it is, so a restart costs
nothing. Without Node the platform still starts, API only, and says why.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parents[3] / "web"
# What a build reads: a change to any of these makes web/dist stale.
SOURCES = ("src", "public", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json")


def _newest(path: Path) -> float:
    if path.is_dir():
        return max((_newest(child) for child in path.iterdir()), default=path.stat().st_mtime)
    return path.stat().st_mtime if path.exists() else 0.0


def needs_install(web_dir: Path) -> bool:
    marker = web_dir / "node_modules" / ".package-lock.json"  # npm rewrites it on every install
    return not marker.exists() or marker.stat().st_mtime < (web_dir / "package-lock.json").stat().st_mtime


def needs_build(web_dir: Path) -> bool:
    built = web_dir / "dist" / "index.html"
    if not built.exists():
        return True
    return max(_newest(web_dir / name) for name in SOURCES) > built.stat().st_mtime


def ensure_built(web_dir: Path = WEB_DIR, log: Path | None = None) -> str:
    """Returns what happened, for the banner; raises CalledProcessError when a step fails."""
    if not needs_build(web_dir):
        return "web app up to date"
    npm = shutil.which("npm")
    if npm is None:
        return "web app not built: npm is not installed (Node 20+), the API works without it"
    output = log.open("ab") if log else subprocess.DEVNULL
    try:
        if needs_install(web_dir):
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"], cwd=web_dir, check=True, stdout=output, stderr=output
            )
        subprocess.run([npm, "run", "build"], cwd=web_dir, check=True, stdout=output, stderr=output)
    finally:
        if log:
            output.close()  # type: ignore[union-attr]
    return "web app built"
