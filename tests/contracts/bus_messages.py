"""The bus messages the services publish, read from their sources (AST, no import).

Payloads are built from dict literals at the publish sites (no typed declaration exists yet), so
the message contract is derived from the code: every `publish(session, TYPE, PAYLOAD, ...)` call
(`writer.publish`, `ctx.events.publish`, circles' `bus.publish`) and every call of a wrapper that
forwards its event-type parameter to one (auth's `announce(session, writer, TYPE, user)`), where
TYPE is a string literal or a module constant, and PAYLOAD a dict literal, a call of a function
returning one, or a `{**helper(...), ...}` merge of both. Keys that are not literals (computed
from data) are not part of the contract. A field is `required` when every site of that event type
sets it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Module:
    service: str
    path: Path
    tree: ast.Module
    constants: dict[str, str] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)


def _modules() -> list[Module]:
    modules = []
    for source in sorted([*ROOT.glob("services/*/src"), ROOT / "gateway" / "src"]):
        for path in sorted(source.rglob("*.py")):
            module = Module(source.parent.name, path, ast.parse(path.read_text()))
            for node in module.tree.body:
                if (
                    isinstance(node, ast.Assign)
                    and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)
                ):
                    module.constants[node.targets[0].id] = node.value.value
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    module.functions[node.name] = node
            modules.append(module)
    return modules


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


class _Reader:
    def __init__(self, modules: list[Module]) -> None:
        self.modules = modules

    def function(self, module: Module, name: str) -> tuple[Module, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        if name in module.functions:
            return module, module.functions[name]
        same_service = [m for m in self.modules if m.service == module.service and name in m.functions]
        return (same_service[0], same_service[0].functions[name]) if len(same_service) == 1 else None

    def string(self, module: Module, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return module.constants.get(node.id) or next(
                (m.constants[node.id] for m in self.modules if m.service == module.service and node.id in m.constants),
                None,
            )
        return None

    def fields(self, module: Module, node: ast.expr | None, depth: int = 0) -> set[str] | None:
        """The literal keys of a payload expression, or None when it cannot be read."""
        if node is None or depth > 3:
            return None
        if isinstance(node, ast.Dict):
            keys: set[str] = set()
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:  # **spread
                    keys |= self.fields(module, value, depth + 1) or set()
                elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                    keys.add(key.value)
            return keys
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "dict" and not node.args:
                return {k.arg for k in node.keywords if k.arg}
            found = self.function(module, node.func.id)
            if found:
                owner, function = found
                returns = [n.value for n in ast.walk(function) if isinstance(n, ast.Return)]
                if len(returns) == 1:
                    return self.fields(owner, returns[0], depth + 1)
        return None


def published_messages() -> dict[str, dict[str, Any]]:
    """event type → a JSON schema of its payload (properties without types, `required`,
    `x-producers`), from every publish site in the services' sources."""
    modules = _modules()
    reader = _Reader(modules)
    sites: list[tuple[str, str, set[str]]] = []
    wrappers: dict[str, tuple[Module, int, ast.expr]] = {}  # name → (module, type arg index, payload)
    for module in modules:
        for function in [n for n in ast.walk(module.tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
            parameters = [a.arg for a in function.args.args]
            for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
                if _callee(call) != "publish" or len(call.args) < 3:
                    continue
                kind = call.args[1]
                if isinstance(kind, ast.Name) and kind.id in parameters and function.name != "publish":
                    wrappers[function.name] = (module, parameters.index(kind.id), call.args[2])
                    continue
                event_type = reader.string(module, kind)
                payload = reader.fields(module, call.args[2])
                if event_type and payload is not None:
                    sites.append((event_type, module.service, payload))
    for module in modules:
        for call in [n for n in ast.walk(module.tree) if isinstance(n, ast.Call)]:
            name = _callee(call)
            if name in wrappers:
                owner, index, payload = wrappers[name]
                event_type = reader.string(module, call.args[index]) if len(call.args) > index else None
                fields = reader.fields(owner, payload)
                if event_type and fields is not None:
                    sites.append((event_type, module.service, fields))
    messages: dict[str, dict[str, Any]] = {}
    for event_type in sorted({site[0] for site in sites}):
        of_type = [site for site in sites if site[0] == event_type]
        every = set.intersection(*(site[2] for site in of_type))
        union = set.union(*(site[2] for site in of_type))
        messages[event_type] = {
            "type": "object",
            "x-producers": sorted({site[1] for site in of_type}),
            "properties": {name: {} for name in sorted(union)},
            "required": sorted(every),
        }
    return messages
