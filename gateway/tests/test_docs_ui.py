"""/docs works offline and under the gateway's CSP (attacker review, issue 13: it loaded Swagger
UI from a CDN and set it up in an inline script, a blank page without internet or under CSP)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from mcm_gateway.docs_ui import ASSETS_PATH

CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.references.append(values[name])  # type: ignore[arg-type]
        self._in_script = tag == "script"
        if tag == "script" and not values.get("src"):
            self.inline_scripts.append("")
        if tag == "style" or "style" in values:
            self.inline_scripts.append(f"<{tag} style>")  # no inline style either: none is needed

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


async def test_docs_reference_only_local_assets_that_the_csp_allows(start_gateway):
    gateway = await start_gateway(server="uvicorn")
    page = await gateway.client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    parser = Page()
    parser.feed(page.text)
    assert parser.inline_scripts == []  # script-src 'self' holds without 'unsafe-inline'
    assert parser.references, "the page loads Swagger UI's files"
    assert all(
        not urlsplit(ref).scheme and not urlsplit(ref).netloc and ref.startswith("/") for ref in parser.references
    ), parser.references
    assert "http://" not in page.text and "https://" not in page.text

    policy = directives(page.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]
    assert "'self'" in policy["style-src"] and "'self'" in policy.get("img-src", policy["default-src"])
    scripts = [ref for ref in parser.references if ref.endswith(".js")]
    assert len(scripts) >= 2  # Swagger UI itself and our set-up script
    kinds = set()
    for ref in parser.references:
        asset = await gateway.client.get(ref)
        assert asset.status_code == 200, ref
        suffix = "." + ref.rsplit(".", 1)[1]
        assert asset.headers["content-type"].split(";")[0] == CONTENT_TYPES[suffix], ref
        assert asset.headers["x-content-type-options"] == "nosniff"
        assert len(asset.content) > 0
        kinds.add(suffix)
    assert kinds >= {".js", ".css"}
    setup = await gateway.client.get(next(ref for ref in scripts if "init" in ref))
    assert "/openapi.json" in setup.text and "SwaggerUIBundle" in setup.text


async def test_only_the_listed_assets_are_served(start_gateway):
    gateway = await start_gateway(server="uvicorn")
    parser = Page()
    parser.feed((await gateway.client.get("/docs")).text)
    folder = parser.references[0].rsplit("/", 1)[0]
    for name in ("index.html", "swagger-ui-bundle.js.map", "..%2F..%2F__init__.py", "oauth2-redirect.html", ""):
        assert (await gateway.client.get(f"{folder}/{name}")).status_code == 404, name


async def test_no_docs_in_production(start_gateway, redis_url):
    gateway = await start_gateway(server="uvicorn", environment="production", redis_url=redis_url)
    assert (await gateway.client.get("/docs")).status_code == 404
    assert (await gateway.client.get(f"{ASSETS_PATH}/swagger-ui-bundle.js")).status_code == 404
