"""Breaking-change comparer for the committed contract snapshots (OpenAPI document, bus messages).

`breaking_changes(old, new)` lists what a client written against `old` would trip over in `new`:
a removed path or operation, a removed parameter or field, a narrowed type (a type, `anyOf`
option or `$ref` gone; a tighter bound in a request), a field or parameter becoming required in a
request, a removed enum value, a removed success response or content type. Additions (paths,
operations, optional fields, enum values, wider types) are not listed.

`bus_breaking_changes(old, new)` does the same for the bus snapshot: a removed event type, or a
removed payload field (consumers read payloads, so they are compared as responses).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_REF = "#/components/schemas/"
# Bounds a request may not tighten: (keyword, True when a larger value is tighter).
_BOUNDS = (
    ("maxLength", False),
    ("maximum", False),
    ("exclusiveMaximum", False),
    ("maxItems", False),
    ("minLength", True),
    ("minimum", True),
    ("exclusiveMinimum", True),
    ("minItems", True),
)


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {kind}
    return set(kind) if isinstance(kind, list) else set()


def _options(schema: dict[str, Any]) -> list[dict[str, Any]] | None:
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return schema[key]
    return None


def _key(option: dict[str, Any]) -> str:
    """What identifies an anyOf option: its $ref, else its type(s)."""
    return option.get("$ref") or ",".join(sorted(_types(option))) or json.dumps(option, sort_keys=True)


def compare_schema(old: Any, new: Any, where: str, *, request: bool) -> Iterator[str]:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return
    if old.get("$ref") != new.get("$ref") and "$ref" in old:
        yield f"{where}: type changed from {old['$ref'].removeprefix(_REF)} to {new.get('$ref') or _types(new)}"
        return
    old_options, new_options = _options(old), _options(new)
    if old_options is not None:
        if new_options is None:
            new_options = [new]
        by_key = {_key(o): o for o in new_options}
        for option in old_options:
            if _key(option) not in by_key:
                yield f"{where}: type narrowed, {_key(option).removeprefix(_REF)} no longer accepted"
            else:
                yield from compare_schema(option, by_key[_key(option)], where, request=request)
        return
    if new_options is not None:  # widened to a union: compare with the matching option
        match = next((o for o in new_options if _key(o) == _key(old)), None)
        if match is None:
            yield f"{where}: type changed"
        else:
            yield from compare_schema(old, match, where, request=request)
        return
    lost = _types(old) - _types(new)
    if _types(old) and (lost and not ({"integer"} == lost and "number" in _types(new))):
        yield f"{where}: type narrowed from {sorted(_types(old))} to {sorted(_types(new))}"
    if "enum" in old or "enum" in new:
        removed = [v for v in old.get("enum", []) if v not in new.get("enum", old.get("enum", []))]
        if "enum" not in old:
            yield f"{where}: now restricted to {new['enum']}"
        elif removed:
            yield f"{where}: enum values removed {removed}"
    if request:
        for keyword, larger_is_tighter in _BOUNDS:
            if keyword in new and (
                keyword not in old
                or (new[keyword] > old[keyword] if larger_is_tighter else new[keyword] < old[keyword])
            ):
                yield f"{where}: {keyword} tightened from {old.get(keyword)} to {new[keyword]}"
    old_properties, new_properties = old.get("properties") or {}, new.get("properties") or {}
    for name, schema in old_properties.items():
        if name not in new_properties:
            yield f"{where}.{name}: field removed"
        else:
            yield from compare_schema(schema, new_properties[name], f"{where}.{name}", request=request)
    if request:
        for name in sorted(set(new.get("required", [])) - set(old.get("required", []))):
            yield f"{where}.{name}: field became required"
    if "items" in old:
        yield from compare_schema(old["items"], new.get("items", {}), f"{where}[]", request=request)
    if isinstance(old.get("additionalProperties"), dict):
        extra = new.get("additionalProperties")
        if extra is False:
            yield f"{where}: additional properties no longer allowed"
        yield from compare_schema(old["additionalProperties"], extra, f"{where}{{}}", request=request)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str) and node["$ref"].startswith(_REF):
            yield node["$ref"].removeprefix(_REF)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _reachable(roots: list[Any], schemas: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = [name for root in roots for name in _refs(root)]
    while todo:
        name = todo.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            todo.extend(_refs(schemas[name]))
    return seen


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in (document.get("paths") or {}).items():
        for method in _METHODS:
            if method in item:
                yield path, method, item[method]


def _request_parts(operation: dict[str, Any]) -> list[Any]:
    return [*(operation.get("parameters") or []), operation.get("requestBody") or {}]


def _response_parts(operation: dict[str, Any]) -> list[Any]:
    return [operation.get("responses") or {}]


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    found: list[str] = []
    new_paths = new.get("paths") or {}
    for path, method, operation in _operations(old):
        where = f"{method.upper()} {path}"
        if path not in new_paths:
            found.append(f"{path}: path removed")
            continue
        if method not in new_paths[path]:
            found.append(f"{where}: operation removed")
            continue
        found += _compare_operation(operation, new_paths[path][method], where)
    old_schemas = (old.get("components") or {}).get("schemas") or {}
    new_schemas = (new.get("components") or {}).get("schemas") or {}
    in_requests = _reachable([p for _, _, op in _operations(old) for p in _request_parts(op)], old_schemas)
    in_responses = _reachable([p for _, _, op in _operations(old) for p in _response_parts(op)], old_schemas)
    for name, schema in old_schemas.items():
        if name not in in_requests | in_responses:
            continue  # not used by any operation: nothing can depend on it
        if name not in new_schemas:
            found.append(f"schema {name}: removed")
            continue
        # A schema used in requests gets the request rules, one used in responses the response
        # rules, one used in both gets both.
        uses = [use for use, used in ((True, name in in_requests), (False, name in in_responses)) if used]
        for request in uses:
            found += compare_schema(schema, new_schemas[name], f"schema {name}", request=request)
    return sorted(set(found))


def _compare_operation(old: dict[str, Any], new: dict[str, Any], where: str) -> list[str]:
    found: list[str] = []
    new_parameters = {(p.get("in"), p.get("name")): p for p in new.get("parameters") or []}
    old_parameters = {(p.get("in"), p.get("name")): p for p in old.get("parameters") or []}
    for key, parameter in old_parameters.items():
        label = f"{where} {key[0]} parameter {key[1]}"
        if key not in new_parameters:
            found.append(f"{label}: removed")
            continue
        if new_parameters[key].get("required") and not parameter.get("required"):
            found.append(f"{label}: became required")
        found += compare_schema(parameter.get("schema"), new_parameters[key].get("schema"), label, request=True)
    for key, parameter in new_parameters.items():
        if key not in old_parameters and parameter.get("required"):
            found.append(f"{where} {key[0]} parameter {key[1]}: new and required")
    old_body, new_body = old.get("requestBody") or {}, new.get("requestBody") or {}
    if new_body.get("required") and old_body and not old_body.get("required"):
        found.append(f"{where} request body: became required")
    if new_body.get("required") and not old_body:
        found.append(f"{where} request body: new and required")
    for media, content in (old_body.get("content") or {}).items():
        if media not in (new_body.get("content") or {}):
            found.append(f"{where} request body {media}: no longer accepted")
            continue
        new_schema = new_body["content"][media].get("schema")
        found += compare_schema(content.get("schema"), new_schema, f"{where} request", request=True)
    new_responses = new.get("responses") or {}
    for status, response in (old.get("responses") or {}).items():
        if status not in new_responses:
            if str(status).startswith("2"):
                found.append(f"{where} response {status}: removed")
            continue
        for media, content in (response.get("content") or {}).items():
            if media not in (new_responses[status].get("content") or {}):
                found.append(f"{where} response {status} {media}: removed")
                continue
            new_schema = new_responses[status]["content"][media].get("schema")
            found += compare_schema(content.get("schema"), new_schema, f"{where} {status}", request=False)
    return found


def bus_breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for event_type, schema in old.items():
        if event_type not in new:
            found.append(f"{event_type}: event type removed")
            continue
        found += compare_schema(schema, new[event_type], event_type, request=False)
    return sorted(found)
