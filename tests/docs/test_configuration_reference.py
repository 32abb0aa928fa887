"""docs/configuration.md documents every environment variable the code reads, and nothing else.

What counts as read, all derived from the code:

- every field of every pydantic-settings class in the source trees (`shared/src`, `devtools/src`,
  `services/*/src`, `gateway/src`): the field name upper-cased, with the class's `env_prefix`,
  or its alias when it has one;
- every direct read of the environment in those trees: `os.environ[...]`, `os.environ.get(...)`,
  `os.getenv(...)`, `.setdefault(...)`, `in`, also through a mapping named `env` (the Stripe
  stand-in's `env = os.environ`, the devstack's copy of the environment it passes on);
  a read whose name is computed must be explained in `DYNAMIC_READS`;
- direct `os.environ`/`os.getenv` reads in the test trees (`tests/`, `conftest.py`);
- variables the Makefile takes from the environment and the `${...}` of docker-compose.yml.

A variable is documented when it is named (in backticks) in the first column of a table of
docs/configuration.md. For the settings classes, the page must also show each field's default,
mark production's required values "required" and SecretStr fields as secrets.
"""

from __future__ import annotations

import ast
import enum
import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices, AliasPath, SecretStr
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
SOURCE_TREES = [
    ROOT / "shared" / "src",
    ROOT / "gateway" / "src",
    ROOT / "devtools" / "src",
    *sorted((ROOT / "services").glob("*/src")),
]
TEST_SOURCES = [ROOT / "tests", ROOT / "conftest.py"]
NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")

# Environment reads that are not configuration of the platform. Keep it short; each needs a reason.
IGNORED = {
    "XDG_RUNTIME_DIR": "an operating-system variable that make, the devstack and the test plugin only default "
    "to /tmp for the embedded engines; it configures nothing of the platform",
    "BENCH_JWKS": "handed by tests/perf/gateway_bench.py to the upstream it spawns (bench_upstream.py), "
    "not set by people",
    "BENCH_UPSTREAM_KIND": "chosen by the benchmark harnesses for the upstream they spawn, not set by people",
    "UPDATE_SNAPSHOTS": "a switch of tests/contracts that rewrites the contract snapshots after a deliberate "
    "change, not configuration",
    "SEC_REUSE": "a temporary development hook in tests/security/conftest.py (marked TEMP-DEV-HOOK), not configuration",
}


# -- reading the code --------------------------------------------------------------------------


def python_files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (path for path in sorted(root.rglob("*.py")) if ".venv" not in path.parts)


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _terminal_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_os_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ" and _terminal_name(node.value) == "os"


@dataclass
class Reads:
    names: dict[str, set[str]] = field(default_factory=dict)  # name -> {"path:line"}
    dynamic: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (path, key expression) -> {"path:line"}

    def add(self, key: ast.expr, where: str, path: str) -> None:
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            self.names.setdefault(key.value, set()).add(where)
        else:
            self.dynamic.setdefault((path, ast.unparse(key)), set()).add(where)


def environment_reads(paths: Iterator[Path], *, is_environment: Callable[[ast.AST], bool]) -> Reads:
    """Every read of the environment in these files: the name read, or the expression computing it."""
    reads = Reads()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            key = None
            if isinstance(node, ast.Call):
                func = node.func
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr in {"get", "setdefault", "pop"}
                    and is_environment(func.value)
                ) or _terminal_name(func) == "getenv":
                    key = node.args[0] if node.args else None
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and is_environment(node.value):
                key = node.slice
            elif (
                isinstance(node, ast.Compare)
                and len(node.ops) == 1
                and isinstance(node.ops[0], ast.In | ast.NotIn)
                and is_environment(node.comparators[0])
            ):
                key = node.left
            if key is not None:
                reads.add(key, f"{relative(path)}:{node.lineno}", relative(path))
    return reads


def string_arguments(*, keyword: str | None = None, first_argument_of: str | None = None) -> set[str]:
    """String literals passed in the source trees as `keyword=...`, or first to calls of a function."""
    found: set[str] = set()
    for path in python_files(*SOURCE_TREES):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            if keyword:
                found |= {
                    kw.value.value
                    for kw in node.keywords
                    if kw.arg == keyword and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)
                }
            if first_argument_of and _terminal_name(node.func) == first_argument_of and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return found


def _devstack_services() -> tuple:
    return importlib.import_module("mcm_devstack.platform").SERVICES


# Reads whose name is computed: (file, expression of the name) -> (how it is computed, the names).
DYNAMIC_READS: dict[tuple[str, str], tuple[str, Callable[[], set[str]]]] = {
    ("shared/src/mcm_shared/cli.py", "port_env"): (
        "each service's `__main__` passes its port variable to `run_cli(port_env=...)`",
        lambda: string_arguments(keyword="port_env"),
    ),
    ("devtools/src/mcm_devstack/platform.py", "spec.port_env"): (
        "the port variable of each process in `mcm_devstack.platform.SERVICES`",
        lambda: {spec.port_env for spec in _devstack_services()},
    ),
    ("devtools/src/mcm_devstack/platform.py", "f'{spec.name.upper()}_URL'"): (
        "`Platform.configure` defaults `<NAME>_URL` for every process but the gateway",
        lambda: {f"{spec.name.upper()}_URL" for spec in _devstack_services() if spec.name != "gateway"},
    ),
    ("devtools/src/mcm_devstack/platform.py", "variable"): (
        "`Platform._port_for(variable, default)`: the sidecars' port variables that `sidecars.plan` asks for",
        lambda: string_arguments(first_argument_of="port_for"),
    ),
}


def code_reads() -> Reads:
    source = environment_reads(
        python_files(*SOURCE_TREES),
        is_environment=lambda node: _is_os_environ(node) or _terminal_name(node) in {"environ", "env"},
    )
    # In the tests `env` is usually a platform's or a container's environment, not this process's.
    tests = environment_reads(python_files(*TEST_SOURCES), is_environment=_is_os_environ)
    for name, where in tests.names.items():
        source.names.setdefault(name, set()).update(where)
    source.dynamic.update(tests.dynamic)
    return source


def makefile_variables() -> set[str]:
    """Variables make takes from the environment: used or `?=`-defaulted, never assigned outright."""
    text = (ROOT / "Makefile").read_text()
    used = set(re.findall(r"\$\(([A-Z][A-Z0-9_]*)\)", text)) | set(re.findall(r"\$\$\{([A-Z][A-Z0-9_]*)", text))
    assignments = re.findall(r"^(?:export\s+)?([A-Z][A-Z0-9_]*)\s*(\?=|:=|::=|\+=|=)", text, re.MULTILINE)
    defaulted = {name for name, operator in assignments if operator == "?="}
    assigned = {name for name, operator in assignments if operator != "?="}
    return (used | defaulted) - assigned


def compose_variables() -> set[str]:
    """`${NAME...}` Compose interpolates (not `$${...}`, which it leaves alone), outside comments."""
    text = re.sub(r"(?m)(^|\s)#.*$", "", (ROOT / "docker-compose.yml").read_text())
    return set(re.findall(r"(?<!\$)\$\{([A-Z][A-Z0-9_]*)", text))


# -- the settings classes ----------------------------------------------------------------------


def _module_name(path: Path) -> str:
    tree = next(root for root in SOURCE_TREES if root in path.parents)
    parts = list(path.relative_to(tree).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def settings_classes() -> list[type[BaseSettings]]:
    """Every class in the source trees that derives from a *Settings class, imported."""
    classes = []
    for path in python_files(*SOURCE_TREES):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                (_terminal_name(base) or "").endswith(("Settings", "SettingsMixin")) for base in node.bases
            ):
                cls = getattr(importlib.import_module(_module_name(path)), node.name)
                if isinstance(cls, type) and issubclass(cls, BaseSettings):
                    classes.append(cls)
    return classes


def leaf_classes(classes: list[type[BaseSettings]]) -> list[type[BaseSettings]]:
    """The classes processes instantiate: those no other discovered class derives from."""
    return [cls for cls in classes if not any(other is not cls and issubclass(other, cls) for other in classes)]


def env_names(cls: type[BaseSettings], name: str) -> set[str]:
    info = cls.model_fields[name]
    alias = info.validation_alias or info.alias
    if isinstance(alias, str):
        return {alias.upper()}
    if isinstance(alias, AliasChoices):
        return {(choice if isinstance(choice, str) else str(choice.path[0])).upper() for choice in alias.choices}
    if isinstance(alias, AliasPath):
        return {str(alias.path[0]).upper()}
    return {(cls.model_config.get("env_prefix", "") + name).upper()}


def settings_variables() -> dict[str, list[tuple[type[BaseSettings], str]]]:
    variables: dict[str, list[tuple[type[BaseSettings], str]]] = {}
    for cls in settings_classes():
        for name in cls.model_fields:
            for env in env_names(cls, name):
                variables.setdefault(env, []).append((cls, name))
    return variables


def rendered_defaults(value: Any) -> set[str]:
    """How the page may write a default: code-span contents, or the words "unset" / "empty"."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return {"unset"}
    if isinstance(value, bool):
        return {str(value).lower()}
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, float):
        return {repr(value)} | ({str(int(value))} if value.is_integer() else set())
    if isinstance(value, list | tuple | set | frozenset):
        return {",".join(str(item) for item in value)} if value else {"empty"}
    if value == "":
        return {"empty"}
    return {str(value)}


# -- reading the page --------------------------------------------------------------------------


@dataclass
class Row:
    names: list[str]
    cells: dict[str, str]
    line: int

    def column(self, header: str) -> str:
        return self.cells.get(header, "")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def documented_rows() -> list[Row]:
    """Rows of every table whose header has a `variable` column; names from that column."""
    rows: list[Row] = []
    lines = DOC.read_text().splitlines()
    headers: list[str] | None = None
    for number, line in enumerate(lines, start=1):
        if not line.lstrip().startswith("|"):
            headers = None
            continue
        cells = _cells(line)
        if headers is None:
            headers = [cell.lower() for cell in cells]
            continue
        if all(set(cell) <= set("-: ") for cell in cells):
            continue
        row = dict(zip(headers, cells, strict=False))  # a short row leaves trailing columns out
        if "variable" in row:
            names = [span for span in re.findall(r"`([^`]+)`", row["variable"]) if NAME.match(span)]
            rows.append(Row(names, row, number))
    return rows


def documented_names() -> dict[str, list[Row]]:
    documented: dict[str, list[Row]] = {}
    for row in documented_rows():
        for name in row.names:
            documented.setdefault(name, []).append(row)
    return documented


def _code_spans(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


# -- the tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reads() -> Reads:
    return code_reads()


@pytest.fixture(scope="module")
def settings() -> dict[str, list[tuple[type[BaseSettings], str]]]:
    return settings_variables()


@pytest.fixture(scope="module")
def read_by_code(reads: Reads, settings) -> dict[str, str]:
    """Every variable the code reads -> one place that reads it (for the failure messages)."""
    found = {name: "Makefile" for name in makefile_variables()}
    found |= {name: "docker-compose.yml" for name in compose_variables()}
    for (path, expression), (_, resolve) in DYNAMIC_READS.items():
        if (path, expression) in reads.dynamic:
            found |= {name: f"{path} ({expression})" for name in resolve()}
    found |= {name: sorted(where)[0] for name, where in reads.names.items()}
    found |= {
        name: f"{owners[0][0].__module__}.{owners[0][0].__name__}.{owners[0][1]}" for name, owners in settings.items()
    }
    return found


def test_the_code_is_read_as_expected(reads: Reads, settings) -> None:
    """Guards the derivation itself: it must find what we know is there."""
    assert {"HOST", "KEEP_ALIVE_SECONDS", "STRIPE_STANDIN_PORT", "TEST_DATABASE_URL", "FUZZ_EXAMPLES"} <= set(
        reads.names
    )
    assert {"ENVIRONMENT", "CREDS_DATABASE_URL", "GATEWAY_PORT", "STRIPE_WEBHOOK_SECRET", "EVENTS_HOLD_MINUTES"} <= set(
        settings
    )
    assert {"AUTH_PORT", "CIRCLES_PORT", "PAYMENTS_PORT"} <= DYNAMIC_READS[
        ("shared/src/mcm_shared/cli.py", "port_env")
    ][1]()
    assert {"MAILSINK_PORT", "SMSSINK_PORT"} <= DYNAMIC_READS[("devtools/src/mcm_devstack/platform.py", "variable")][
        1
    ]()
    assert {"PYTEST_ARGS", "PYTHON"} <= makefile_variables() and "VENV" not in makefile_variables()
    assert {"MAIN_DB_PASSWORD", "MCM_TAG"} <= compose_variables()
    assert len(documented_rows()) > 100


def test_every_computed_read_is_explained(reads: Reads) -> None:
    unexplained = {key: sorted(where) for key, where in reads.dynamic.items() if key not in DYNAMIC_READS}
    assert not unexplained, (
        "environment reads whose name is computed; add each to DYNAMIC_READS with how to derive "
        f"the names it reads: {unexplained}"
    )


def test_ignored_reads_have_reasons() -> None:
    assert all(reason.strip() for reason in IGNORED.values())


def test_every_variable_the_code_reads_is_documented(read_by_code: dict[str, str]) -> None:
    documented = documented_names()
    missing = {
        name: where for name, where in sorted(read_by_code.items()) if name not in documented and name not in IGNORED
    }
    assert not missing, (
        "read by the code but missing from docs/configuration.md (variable: where it is read):\n"
        + "\n".join(f"  {name}: {where}" for name, where in missing.items())
    )


def test_every_documented_variable_is_read(read_by_code: dict[str, str]) -> None:
    stale = {name: [row.line for row in rows] for name, rows in documented_names().items() if name not in read_by_code}
    assert not stale, f"documented in docs/configuration.md (at these lines) but read by nothing: {stale}"


def test_documented_defaults_match_the_settings(settings) -> None:
    documented = documented_names()
    wrong = []
    for cls in leaf_classes(settings_classes()):
        for name, info in cls.model_fields.items():
            expected = rendered_defaults(info.get_default(call_default_factory=True))
            for env in env_names(cls, name):
                cells = [row.column("default") for row in documented.get(env, [])]
                if not any(
                    expected & _code_spans(cell) or expected & set(re.findall(r"\w+", cell)) & {"unset", "empty"}
                    for cell in cells
                ):
                    wrong.append(
                        f"{env} ({cls.__module__}.{cls.__name__}): default {sorted(expected)}, documented {cells}"
                    )
    assert not wrong, "defaults in docs/configuration.md that differ from the code:\n  " + "\n  ".join(wrong)


def test_production_requirements_and_secrets_are_marked(settings) -> None:
    documented = documented_names()
    problems = []
    for cls in leaf_classes(settings_classes()):
        instance = cls.model_construct()  # defaults only: which names the checks cover, not their values
        required = set(getattr(instance, "required_urls", dict)()) | set(getattr(instance, "secrets", dict)())
        for env in sorted(required):
            if not any("required" in row.column("production") for row in documented.get(env, [])):
                problems.append(f"{env}: production refuses to start without it ({cls.__module__}); say 'required'")
        for name, info in cls.model_fields.items():
            if "SecretStr" in repr(info.annotation):
                for env in env_names(cls, name):
                    if not any(row.column("secret").startswith("yes") for row in documented.get(env, [])):
                        problems.append(
                            f"{env}: a SecretStr field ({cls.__module__}); mark it 'yes' in the secret column"
                        )
    assert not problems, "\n".join(problems)
