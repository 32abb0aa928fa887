"""The web app at `/`: the built files of `web/` (WEB_DIST_DIR), served from the API's origin.

Starlette's StaticFiles finds the file (it refuses paths that leave the directory, null bytes
and names too long) and answers conditional requests; this module only decides which paths are
the app's and how long browsers may keep each answer:

- `assets/…` carry a content hash in their names, so they never change: cached for a year,
  `immutable`.
- Everything else (`index.html`, `sw.js`, `manifest.webmanifest`, the icons) keeps its name
  across releases: `no-cache`, so a browser revalidates and a deploy is seen at once.
- Any other GET/HEAD that asks for HTML (a browser navigating to `/circles`, a reload on a deep
  link) gets `index.html` and the app's router takes over. API paths never do: `/api/…`,
  `/.well-known/…`, `/openapi.json` and `/docs` are the gateway's, and a client that does not
  accept HTML keeps getting the gateway's own answers (`GET /` stays name + version for it).
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

# Paths the app never answers, whatever they accept: the API and the gateway's own documents.
NEVER_THE_APP = ("/api/", "/.well-known/", "/docs", "/openapi.json", "/metrics")
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"


def accepts_html(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept":
            return b"text/html" in value
    return False


class _Files(StaticFiles):
    """StaticFiles with the cache policy above on every file answer (304s included)."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        relative = Path(full_path).relative_to(self.app_root).as_posix()
        response.headers["cache-control"] = (IMMUTABLE if relative.startswith("assets/") else REVALIDATE).decode()
        return response

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, html=False, check_dir=False)
        self.app_root = directory.resolve()


class WebApp:
    """Answers the app's files and the SPA fallback; `handle` returns False for everything else."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = _Files(directory)

    @property
    def built(self) -> bool:
        return (self.directory / "index.html").is_file()

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> bool:
        path: str = scope["path"]
        if scope["method"] not in ("GET", "HEAD") or path.startswith(NEVER_THE_APP) or not self.built:
            return False
        response: Response | None = None
        if path != "/":
            try:
                response = await self.files.get_response(path.lstrip("/"), scope)
            except HTTPException as exc:
                if exc.status_code != 404:
                    raise
        if response is None:
            if not accepts_html(scope):
                return False  # the gateway's own answer: `GET /` JSON, or a problem+json 404
            response = await self.files.get_response("index.html", scope)
        await response(scope, receive, send)
        return True
