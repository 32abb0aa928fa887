"""The API docs page (`/docs`, outside production): Swagger UI served by the gateway itself.

Swagger UI's files come from the `swagger-ui-bundle-v2` package (the upstream `swagger-ui`
dist files, kept current by the spec-first maintainers), so the page works without internet
and under the gateway's CSP: no CDN, and its set-up is a static script (`static/docs-init.js`)
instead of an inline one. Only the files listed here are served, from a path that names the
Swagger UI version so browsers may cache them for long.
"""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]  # the bundle ships no type information

_BUNDLE = Path(str(swagger_ui_path))
_STATIC = Path(__file__).parent / "static"
ASSETS_PATH = f"/docs/assets/{_BUNDLE.name}"  # e.g. /docs/assets/swagger-ui-5.31.0

# name → (file, content type)
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui.css": (_BUNDLE / "swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": (_BUNDLE / "swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    "favicon-32x32.png": (_BUNDLE / "favicon-32x32.png", "image/png"),
    "docs-init.js": (_STATIC / "docs-init.js", "text/javascript; charset=utf-8"),
}

PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Men's Circle Management Platform API</title>
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="{ASSETS_PATH}/docs-init.js"></script>
</body>
</html>
"""

_CACHE_ASSETS = {"cache-control": "public, max-age=86400"}


async def docs_page(request: Request) -> Response:
    return HTMLResponse(PAGE, headers={"cache-control": "no-cache"})


async def docs_asset(request: Request) -> Response:
    asset = ASSETS.get(request.path_params["name"])
    if asset is None:
        raise HTTPException(404)  # a problem+json 404, like any unknown path
    path, media_type = asset
    return FileResponse(path, media_type=media_type, headers=_CACHE_ASSETS)


def docs_routes() -> list[Route]:
    return [
        Route("/docs", docs_page, methods=["GET", "HEAD"], include_in_schema=False),
        Route(ASSETS_PATH + "/{name}", docs_asset, methods=["GET", "HEAD"], include_in_schema=False),
    ]
