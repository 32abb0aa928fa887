"""Every public route of auth, circles and payments is a row of its service's endpoint table, and
every row of those tables names a route that exists.

Routes come from the apps themselves (`create_app` with default settings; nothing connects at
construction). Rows are read from the tables under an "Endpoints" heading of the service's
documents, first column only, in the notation the documents use:

- `GET /api/v1/users/{id}/audit`; paths may leave out `/api/v1` (circles.md says so once);
- alternatives in one segment or for the method: `GET|PUT …`, `…/approve\\|decline`;
- shorthands after a full path in the same cell: `…/{gid}/done` continues that path from the
  segment it names (or appends when the path does not contain it), and a span without a method
  such as `/enable` replaces its last segment and keeps its method.

Paths are compared by shape: parameter names are ignored (`{id}` in the docs, `{circle_id}` in
the code), and so is a query string.
"""

from __future__ import annotations

import importlib
import itertools
import re
from pathlib import Path

import pytest
from starlette.routing import Mount

ROOT = Path(__file__).resolve().parents[2]

SERVICES = {
    "auth": ("mcm_auth", ["docs/auth.md"]),
    "circles": ("mcm_circles", ["docs/circles.md", "docs/events.md"]),
    "payments": ("mcm_payments", ["docs/payments.md"]),
}
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
ENDPOINTS_HEADING = re.compile(r"^(#{2,6})\s+Endpoints\b")
ANY_HEADING = re.compile(r"^(#{1,6})\s")
CODE_SPAN = re.compile(r"`([^`]+)`")
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
PARAMETER = re.compile(r"\{[^}/]*\}")

Endpoint = tuple[str, str]  # (method, path shape)


def is_public(path: str) -> bool:
    """Routes the documents owe a row: not the framework's and health pages, not `/internal/`."""
    if path == "/" or path.startswith(("/docs", "/openapi.json", "/metrics", "/api/v1/health")):
        return False
    return "internal" not in path.strip("/").split("/")


def shape(path: str) -> str:
    path = path.split("?", 1)[0].rstrip("/") or "/"
    if path.startswith("/api/v1/"):
        path = path[len("/api/v1") :]
    return PARAMETER.sub("{}", path)


# -- the code ----------------------------------------------------------------------------------


def _walk(routes: list, prefix: str = ""):
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)  # routers included by FastAPI
        if callable(candidates):
            yield from _walk(candidates(), prefix)
        elif isinstance(route, Mount):
            yield from _walk(route.routes, prefix + route.path)
        elif getattr(route, "path", None) and getattr(route, "methods", None):
            for method in route.methods:
                yield method, prefix + route.path


def app_endpoints(package: str) -> set[Endpoint]:
    config = importlib.import_module(f"{package}.config")
    main = importlib.import_module(f"{package}.main")
    # Defaults, except that a shell's ENVIRONMENT=production must not refuse to build the app.
    app = main.create_app(config.Settings(environment="development"))
    found = set(_walk(app.routes))
    found |= {(method.upper(), path) for path, operations in app.openapi()["paths"].items() for method in operations}
    return {(method, shape(path)) for method, path in found if method in METHODS and is_public(path)}


# -- the documents -----------------------------------------------------------------------------


def endpoint_first_cells(text: str) -> list[str]:
    """First cells of the table rows under each "Endpoints" heading (up to the next heading of
    the same or a higher level). Cells split on unescaped pipes, as GitHub renders them."""
    cells: list[str] = []
    level = 0
    for line in text.splitlines():
        heading = ANY_HEADING.match(line)
        if heading:
            endpoints = ENDPOINTS_HEADING.match(line)
            if endpoints:
                level = len(endpoints.group(1))
            elif level and len(heading.group(1)) <= level:
                level = 0
            continue
        if level and line.lstrip().startswith("|"):
            row = UNESCAPED_PIPE.split(line.strip().strip("|"))
            if row and not set(row[0].strip()) <= set("-: "):
                cells.append(row[0])
    return cells


def _alternatives(path: str) -> list[str]:
    segments = [segment.split("|") for segment in path.split("/")]
    return ["/".join(combination) for combination in itertools.product(*segments)]


def _continue(base: str, relative: str) -> str:
    """`…/x/y` after `base`: from the last `x` of base on, or appended when base has no `x`."""
    parts = [part for part in relative.lstrip("…").split("/") if part]
    segments = base.rstrip("/").split("/")
    if parts and parts[0] in segments:
        cut = len(segments) - 1 - segments[::-1].index(parts[0])
        segments = segments[:cut]
    return "/".join(segments + parts)


def cell_endpoints(cell: str) -> set[Endpoint]:
    """The endpoints one first cell names (see the module docstring for the notation)."""
    found: set[Endpoint] = set()
    previous_path: str | None = None
    previous_methods: list[str] = []
    for span in CODE_SPAN.findall(cell):
        span = span.replace("\\|", "|").strip()
        words = span.split(None, 1)
        methods = words[0].split("|") if words and set(words[0].split("|")) <= METHODS else []
        path = (words[1] if methods and len(words) > 1 else span if not methods else "").split(None, 1)
        path = path[0].split("?", 1)[0] if path else ""
        if path.startswith("…"):
            if previous_path is None:
                continue
            path = _continue(previous_path, path)
        elif path.startswith("/") and not methods and previous_path is not None:
            path = previous_path.rsplit("/", 1)[0] + path  # `/enable` after `…/{id}/disable`
        elif not path.startswith("/"):
            continue  # a request body or a value, not a path
        methods = methods or previous_methods
        for alternative in _alternatives(path):
            found |= {(method, shape(alternative)) for method in methods}
        previous_path, previous_methods = path, methods
    return found


def documented_endpoints(documents: list[str]) -> set[Endpoint]:
    found: set[Endpoint] = set()
    for document in documents:
        for cell in endpoint_first_cells((ROOT / document).read_text()):
            found |= cell_endpoints(cell)
    return found


def _listing(endpoints: set[Endpoint]) -> str:
    return "\n".join(f"  {method} {path}" for path, method in sorted((p, m) for m, p in endpoints))


# -- the tests ---------------------------------------------------------------------------------


def test_notation_is_read_as_the_documents_mean_it() -> None:
    cell = "`POST /api/v1/users/{id}/disable` · `/enable` {reason} 🔒"
    assert cell_endpoints(cell) == {("POST", "/users/{}/disable"), ("POST", "/users/{}/enable")}
    cell = "`PATCH /circles/{id}/goals/{gid}` `{title?}` · `POST …/{gid}/done` · `DELETE …/{gid}`"
    assert cell_endpoints(cell) == {
        ("PATCH", "/circles/{}/goals/{}"),
        ("POST", "/circles/{}/goals/{}/done"),
        ("DELETE", "/circles/{}/goals/{}"),
    }
    cell = "`GET\\|POST /api/v1/events/{id}/staff`, `DELETE …/staff/{user_id}?role=`"
    assert cell_endpoints(cell) == {
        ("GET", "/events/{}/staff"),
        ("POST", "/events/{}/staff"),
        ("DELETE", "/events/{}/staff/{}"),
    }
    cell = "`GET\\|POST /api/v1/events/requirement-templates`, `GET …/{template_id}`"
    assert ("GET", "/events/requirement-templates/{}") in cell_endpoints(cell)
    assert cell_endpoints("`POST /transfer-requests/{id}/approve\\|decline` `{note?}`") == {
        ("POST", "/transfer-requests/{}/approve"),
        ("POST", "/transfer-requests/{}/decline"),
    }
    table = (
        "## Endpoints\n| a | b |\n|---|---|\n| `GET /x` | `|` splits |\n"
        "### More\n| `GET /y` | z |\n## Next\n| `GET /z` | w |\n"
    )
    assert endpoint_first_cells(table) == [" a ", " `GET /x` ", " `GET /y` "]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_public_route_is_in_the_service_docs(service: str) -> None:
    package, documents = SERVICES[service]
    missing = app_endpoints(package) - documented_endpoints(documents)
    assert not missing, (
        f"{service} routes missing from the endpoint tables of {', '.join(documents)} "
        f"(add a short row in the table's style):\n{_listing(missing)}"
    )


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_documented_endpoint_exists(service: str) -> None:
    package, documents = SERVICES[service]
    documented = documented_endpoints(documents)
    assert documented, f"no endpoint table found in {documents}"
    # Internal routes may have rows (who may call them); the app's list leaves them out.
    stale = {(method, path) for method, path in documented if is_public(path)} - app_endpoints(package)
    assert not stale, f"endpoint rows in {', '.join(documents)} that {service} does not serve:\n{_listing(stale)}"
