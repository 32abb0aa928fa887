"""The OpenAPI document every service publishes, made to say what the service really answers.

FastAPI documents its own 422 as `application/json` with its `HTTPValidationError` shape, and
knows nothing of the answers our handlers give before a route runs. Every error here is
`application/problem+json` (mcm_shared.errors), so the document is corrected once, for all
routes: every 4xx/5xx answer is a problem; a route that needs a bearer token also answers 401;
a route that takes a JSON body also answers 400 for a body that is not JSON.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from mcm_shared.errors import PROBLEM_JSON, Problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
_ADDED = {
    "401": "Missing, invalid or expired bearer token",
    "400": "The body is not valid JSON",
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def correct_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Rewrite `document` in place (and return it) as described in the module docstring."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}"))
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if operation.get("security"):
                responses.setdefault("401", _problem(_ADDED["401"]))
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                responses.setdefault("400", _problem(_ADDED["400"]))
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shape, now unreferenced
        if f'#/components/schemas/{unused}"' not in json.dumps(document):
            schemas.pop(unused, None)
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the corrected document (built once, on first request, as FastAPI does)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                openapi_version=app.openapi_version,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = correct_errors(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
