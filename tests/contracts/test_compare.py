"""The comparer on small hand-made before/after documents: each kind of breaking change is
found, additions pass."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from compare import breaking_changes, bus_breaking_changes


def document() -> dict[str, Any]:
    return {
        "paths": {
            "/things": {
                "get": {
                    "parameters": [{"in": "query", "name": "limit", "required": False, "schema": {"type": "integer"}}],
                    "responses": {
                        "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}
                    },
                },
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewThing"}}},
                    },
                    "responses": {"201": {"content": {"application/json": {"schema": {"type": "object"}}}}},
                },
            }
        },
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "status": {"type": "string", "enum": ["open", "closed"]},
                        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    },
                    "required": ["id"],
                },
                "NewThing": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "maxLength": 100}, "tag": {"type": "string"}},
                    "required": ["name"],
                },
            }
        },
    }


def changed(edit) -> list[str]:
    after = copy.deepcopy(document())
    edit(after)
    return breaking_changes(document(), after)


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["components"]["schemas"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["paths"].pop("/things"), "/things: path removed"),
        (lambda d: d["paths"]["/things"].pop("post"), "POST /things: operation removed"),
        (lambda d: _schemas(d)["Thing"]["properties"].pop("status"), "schema Thing.status: field removed"),
        (lambda d: _schemas(d)["Thing"]["properties"]["status"]["enum"].remove("closed"), "enum values removed"),
        (lambda d: _schemas(d)["Thing"]["properties"]["note"].update(anyOf=[{"type": "string"}]), "null no longer"),
        (lambda d: _schemas(d)["Thing"]["properties"]["id"].update(type="integer"), "type narrowed"),
        (lambda d: _schemas(d)["NewThing"]["required"].append("tag"), "schema NewThing.tag: field became required"),
        (lambda d: _schemas(d)["NewThing"]["properties"]["name"].update(maxLength=10), "maxLength tightened"),
        (lambda d: d["paths"]["/things"]["get"]["parameters"][0].update(required=True), "limit: became required"),
        (lambda d: d["paths"]["/things"]["get"]["parameters"].clear(), "parameter limit: removed"),
        (
            lambda d: d["paths"]["/things"]["get"]["parameters"].append({"in": "query", "name": "q", "required": True}),
            "parameter q: new and required",
        ),
        (lambda d: d["paths"]["/things"]["post"]["responses"].pop("201"), "POST /things response 201: removed"),
        (lambda d: _schemas(d).pop("Thing"), "schema Thing: removed"),
    ],
)
def test_each_breaking_kind_is_detected(edit, expected: str) -> None:
    found = changed(edit)
    assert any(expected in line for line in found), found


def _add_everything(d: dict[str, Any]) -> None:
    d["paths"]["/other"] = {"get": {"responses": {"200": {}}}}
    d["paths"]["/things"]["delete"] = {"responses": {"204": {}}}
    d["paths"]["/things"]["get"]["parameters"].append({"in": "query", "name": "q", "required": False})
    thing = _schemas(d)["Thing"]
    thing["properties"]["extra"] = {"type": "integer"}
    thing["required"].append("extra")  # a new required field in a response is fine
    thing["properties"]["status"]["enum"].append("archived")
    thing["properties"]["id"] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    new_thing = _schemas(d)["NewThing"]
    new_thing["properties"]["colour"] = {"type": "string"}
    new_thing["properties"]["name"]["maxLength"] = 200
    _schemas(d)["Unused"] = {"type": "object"}


def test_additions_and_widenings_pass() -> None:
    assert changed(_add_everything) == []


def test_a_field_becoming_required_in_a_response_only_schema_passes() -> None:
    assert changed(lambda d: _schemas(d)["Thing"]["required"].append("status")) == []


def test_bus_removed_event_type_or_field_is_breaking_and_additions_pass() -> None:
    before = {"a.happened": {"type": "object", "properties": {"id": {}, "at": {}}, "required": ["id", "at"]}}
    assert bus_breaking_changes(before, {}) == ["a.happened: event type removed"]
    fewer = {"a.happened": {"type": "object", "properties": {"id": {}}, "required": ["id"]}}
    assert bus_breaking_changes(before, fewer) == ["a.happened.at: field removed"]
    more = copy.deepcopy(before)
    more["a.happened"]["properties"]["by"] = {}
    more["b.happened"] = {"type": "object", "properties": {}}
    assert bus_breaking_changes(before, more) == []
