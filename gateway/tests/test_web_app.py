"""The gateway serves the web app at `/` (issue 17): the built files, the SPA fallback for
browser navigations, a year's caching for hashed assets and none for the files that keep their
names, the app's CSP, no way out of the build directory, and API paths that never turn into HTML."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mcm_gateway.security_headers import CONTENT_SECURITY_POLICY

INDEX = "<!doctype html><title>app</title><script type=module src=/assets/index-Ab12Cd34.js></script>"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
SECRET = "the-secret-next-to-the-build"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "secret.txt").write_text(SECRET)  # outside the build: must never be served
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "index-Ab12Cd34.js").write_text("console.log('app')")
    (root / "sw.js").write_text("self.addEventListener('fetch', () => {})")
    (root / "manifest.webmanifest").write_text('{"name": "Men\'s Circles"}')
    (root / "icon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return root


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


async def test_root_serves_the_app_to_browsers_and_name_and_version_to_api_clients(start_gateway, dist):
    gateway = await start_gateway(server="uvicorn", web_dist_dir=str(dist))
    page = await gateway.client.get("/", headers=HTML)
    assert page.status_code == 200
    assert page.text == INDEX
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    policy = directives(page.headers["content-security-policy"])
    assert policy["script-src"] == "'self'"  # no inline script, no eval
    assert policy["style-src"] == "'self' 'unsafe-inline'"  # MUI's emotion writes <style> elements
    assert policy["default-src"] == "'self'" and policy["frame-ancestors"] == "'none'"

    meta = await gateway.client.get("/", headers={"Accept": "application/json"})
    assert meta.json()["name"] == "gateway"
    assert meta.headers["content-security-policy"] == CONTENT_SECURITY_POLICY  # JSON keeps the strict one


async def test_deep_links_fall_back_to_the_app_only_for_html_gets(start_gateway, dist):
    gateway = await start_gateway(server="uvicorn", web_dist_dir=str(dist))
    client = gateway.client
    for path in ("/circles", "/sign-in", "/reset-password?token=abc", "/payments/success", "/a/b/c.d"):
        page = await client.get(path, headers=HTML)
        assert (page.status_code, page.text) == (200, INDEX), path
        assert page.headers["cache-control"] == "no-cache"
    not_html = await client.get("/circles", headers={"Accept": "application/json"})
    assert not_html.status_code == 404
    assert not_html.headers["content-type"] == "application/problem+json"
    posted = await client.post("/circles", headers=HTML)
    assert posted.status_code in (404, 405) and posted.text != INDEX


async def test_api_paths_never_fall_back_to_html(start_gateway, dist, bearer):
    gateway = await start_gateway(server="uvicorn", web_dist_dir=str(dist))
    client = gateway.client
    for path in ("/api/v1/nowhere", "/api/v2/circles", "/api/", "/.well-known/nothing", "/openapi.json", "/docs/x"):
        answer = await client.get(path, headers=HTML)
        assert answer.text != INDEX, path
        assert not answer.headers["content-type"].startswith("text/html") or path.startswith("/docs"), path
    proxied = await client.get("/api/v1/circles", headers={**HTML, **bearer})
    assert proxied.status_code == 200 and proxied.json()["upstream"] == "circles"
    assert (await client.get("/api/v1/health/live", headers=HTML)).headers["content-type"] == "application/json"


async def test_hashed_assets_are_immutable_for_a_year_and_named_files_revalidate(start_gateway, dist):
    gateway = await start_gateway(server="uvicorn", web_dist_dir=str(dist))
    client = gateway.client
    asset = await client.get("/assets/index-Ab12Cd34.js")
    assert asset.status_code == 200 and asset.text == "console.log('app')"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in asset.headers["content-type"]
    for path in ("/sw.js", "/manifest.webmanifest", "/icon.svg", "/index.html"):
        answer = await client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["cache-control"] == "no-cache", path
    # Conditional requests are answered 304, keeping the policy.
    again = await client.get("/sw.js", headers={"If-None-Match": (await client.get("/sw.js")).headers["etag"]})
    assert again.status_code == 304 and again.headers["cache-control"] == "no-cache"
    # A missing asset is a 404, not the app (a stale hashed name must not load HTML as script).
    missing = await client.get("/assets/index-gone.js", headers={"Accept": "*/*"})
    assert missing.status_code == 404 and missing.text != INDEX


async def raw_get(port: int, target: bytes) -> bytes:
    """One request with the target exactly as written (httpx would normalise the dots away)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


async def test_no_path_leaves_the_build_directory(start_gateway, dist):
    gateway = await start_gateway(server="uvicorn", web_dist_dir=str(dist))
    (dist / "assets" / "link.txt").symlink_to(dist.parent / "secret.txt")
    targets = [
        b"/../secret.txt",
        b"/assets/../../secret.txt",
        b"/%2e%2e/secret.txt",
        b"/assets/%2e%2e/%2e%2e/secret.txt",
        b"/..%2fsecret.txt",
        b"/assets/..%2f..%2fsecret.txt",
        b"/%2e%2e%5csecret.txt",
        b"/assets/link.txt",
        b"/" + str(dist.parent / "secret.txt").encode(),
        b"//" + str(dist.parent / "secret.txt").lstrip("/").encode(),
    ]
    for target in targets:
        answer = await raw_get(gateway.server.port, target)
        assert SECRET.encode() not in answer, target
        assert answer.startswith((b"HTTP/1.1 200", b"HTTP/1.1 404", b"HTTP/1.1 400")), (target, answer[:40])


async def test_without_a_build_the_gateway_answers_as_before(start_gateway, tmp_path):
    gateway = await start_gateway(server="uvicorn", web_dist_dir=str(tmp_path / "not-built"))
    root = await gateway.client.get("/", headers=HTML)
    assert root.json()["name"] == "gateway"
    assert (await gateway.client.get("/circles", headers=HTML)).status_code == 404
