"""Only lifespans write `app.state` (issue 14's service template): a dependency, a route, a
service function or an app factory reads what the lifespan built and never stores or lazily
creates something there.

The rule, checked by reading the sources of services/*/src and gateway/src (AST, no import):

- A *write to app state* is an assignment (`=`, `+=`, annotated, tuple targets included), a
  `del`, or a `setattr(...)`/`delattr(...)` whose target is an attribute of `<app>.state`, where
  `<app>` is the name `app` or any expression ending in `.app` (`request.app`, `self.app`,
  `websocket.app`); a local alias of such a state (`state = request.app.state; state.x = 1`) and
  item assignment into its `_state` dict count too.
- It is allowed only inside a *lifespan*: a function whose name contains "lifespan", a function
  decorated with `asynccontextmanager` that takes an `app` parameter, or a lifespan hook of
  mcm_shared.app (a function with a parameter annotated `AsyncExitStack`: `hook(app, stack)`),
  or a function nested in one of these.
- Everywhere else it is a finding, module level included (an app factory sets state before the
  lifespan runs, so the lifespan is not the one place state is built).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted(ROOT.glob("services/*/src")), ROOT / "gateway" / "src"]


def _is_app(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "app") or (isinstance(node, ast.Attribute) and node.attr == "app")


def _is_state(node: ast.expr, aliases: set[str]) -> bool:
    """`<app>.state`, or a local name bound to one."""
    if isinstance(node, ast.Attribute) and node.attr == "state" and _is_app(node.value):
        return True
    return isinstance(node, ast.Name) and node.id in aliases


def _writes_state(target: ast.expr, aliases: set[str]) -> bool:
    if isinstance(target, ast.Tuple | ast.List):
        return any(_writes_state(element, aliases) for element in target.elts)
    if isinstance(target, ast.Starred):
        return _writes_state(target.value, aliases)
    if isinstance(target, ast.Attribute):
        return _is_state(target.value, aliases)
    if isinstance(target, ast.Subscript):  # state._state["x"] = ...
        inner = target.value
        return isinstance(inner, ast.Attribute) and inner.attr == "_state" and _is_state(inner.value, aliases)
    return False


def _is_lifespan(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    if "lifespan" in function.name:
        return True
    arguments = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
    decorators = {ast.unparse(d).rsplit(".", 1)[-1] for d in function.decorator_list}
    if "asynccontextmanager" in decorators and any(a.arg == "app" for a in arguments):
        return True
    return any(a.annotation is not None and ast.unparse(a.annotation).endswith("AsyncExitStack") for a in arguments)


def _findings(body: list[ast.stmt], inside_lifespan: bool, where: str) -> Iterator[str]:
    aliases: set[str] = set()
    for node in _walk_scope(body):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _findings(node.body, inside_lifespan or _is_lifespan(node), f"{node.name}()")
            continue
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and _is_state(node.value, aliases)
        ):
            aliases.add(node.targets[0].id)
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"setattr", "delattr"}
            and node.args
            and _is_state(node.args[0], aliases)
        ):
            targets = [ast.Attribute(value=node.args[0], attr="?")]
        if not inside_lifespan and any(_writes_state(t, aliases) for t in targets):
            yield f"line {node.lineno} in {where}: {ast.unparse(node).splitlines()[0]}"


def _walk_scope(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of this scope; nested functions are yielded but not entered (they get their own
    scope and lifespan status). Classes are entered: their methods are functions like any other."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def state_writes_outside_lifespans(source: str) -> list[str]:
    return list(_findings(ast.parse(source).body, inside_lifespan=False, where="module"))


def _modules() -> list[Path]:
    return sorted(path for source in SOURCES for path in source.rglob("*.py"))


@pytest.mark.parametrize("module", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_only_lifespans_write_app_state(module: Path) -> None:
    found = state_writes_outside_lifespans(module.read_text())
    assert not found, f"{module.relative_to(ROOT)} writes app.state outside a lifespan: {found}"


def test_the_scan_covers_every_service_and_the_gateway() -> None:
    packages = {p.relative_to(source).parts[0] for source in SOURCES for p in _modules() if p.is_relative_to(source)}
    assert {"mcm_auth", "mcm_circles", "mcm_payments", "mcm_messaging", "mcm_gateway"} <= packages, packages


def test_rule_flags_dependencies_and_factories_and_allows_lifespans() -> None:
    source = """
async def get_cache(request: Request) -> Cache:
    cache = request.app.state.cache = Cache()
    return cache

async def get_gates(request):
    state = request.app.state
    state.gates, other = Gates(), 1
    setattr(request.app.state, "x", 1)
    request.app.state._state["y"] = 2

def create_app():
    app = FastAPI()
    app.state.settings = settings
    return app

def reads(request):
    return request.app.state.cache, getattr(request.app.state, "y", None)

@asynccontextmanager
async def span(app):
    app.state.runtime = build()
    yield

async def lifespan(app):
    def inner():
        app.state.more = 1
    inner()
    yield

def hook_factory():
    async def hook(app: FastAPI, stack: AsyncExitStack) -> None:
        app.state.listing_cache = cache
    return hook

app.state.module_level = 1
"""
    found = state_writes_outside_lifespans(source)
    assert [line.split(":", 1)[0] for line in found] == [
        "line 3 in get_cache()",
        "line 8 in get_gates()",
        "line 9 in get_gates()",
        "line 10 in get_gates()",
        "line 14 in create_app()",
        "line 36 in module",
    ], found
