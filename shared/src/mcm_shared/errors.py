"""One error base and the problem+json (RFC 9457) rendering of every error a client can see.

Services raise subclasses of `ProblemError` from their service layer; routers never build
HTTP errors by hand. Validation errors, malformed JSON, unknown routes, wrong methods and
unexpected exceptions are all rendered the same way, and never with a stack trace.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://mcm.example/problems/"

logger = logging.getLogger("mcm.errors")


class ProblemError(Exception):
    """Base of every error that maps to an HTTP problem response."""

    status: ClassVar[int] = 400
    type_slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}


class NotFound(ProblemError):
    status, type_slug, title = 404, "not-found", "Not found"


class Unauthenticated(ProblemError):
    status, type_slug, title = 401, "unauthenticated", "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(ProblemError):
    status, type_slug, title = 403, "forbidden", "Not allowed"


class Conflict(ProblemError):
    status, type_slug, title = 409, "conflict", "Conflict"


class InvalidInput(ProblemError):
    status, type_slug, title = 422, "validation-error", "Invalid input"


class RateLimited(ProblemError):
    status, type_slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, int(retry_after)))})


class DependencyUnavailable(ProblemError):
    status, type_slug, title = 503, "dependency-unavailable", "Service temporarily unavailable"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": "1"})
        super().__init__(detail, **kwargs)


class Problem(BaseModel):
    """OpenAPI description of the problem+json body."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem_body(
    status: int,
    *,
    type_slug: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (type_slug or phrase.lower().replace(" ", "-")),
        "title": title or phrase,
        "status": status,
        "detail": detail or title or phrase,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return body


def problem_response(status: int, headers: dict[str, str] | None = None, **kwargs: Any) -> JSONResponse:
    return JSONResponse(problem_body(status, **kwargs), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_responses(*errors: type[ProblemError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route, so the OpenAPI document lists the problems it can answer."""
    responses: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        responses[error.status] = {"model": Problem, "description": error.title, "content": {PROBLEM_JSON: {}}}
    return responses


def _safe(value: Any) -> Any:
    """Make validation inputs JSON-safe without echoing huge or binary payloads."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)[:200]
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    return value


def _validation_errors(exc: RequestValidationError) -> tuple[bool, list[dict[str, Any]]]:
    malformed = False
    errors = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            malformed = True
        errors.append(
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return malformed, errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            exc.status,
            headers=exc.headers,
            type_slug=exc.type_slug,
            title=exc.title,
            detail=exc.detail,
            instance=request.url.path,
            errors=exc.errors,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        malformed, errors = _validation_errors(exc)
        if malformed:
            return problem_response(
                400,
                type_slug="malformed-json",
                title="Malformed JSON",
                detail="The request body is not valid JSON.",
                instance=request.url.path,
            )
        return problem_response(
            422,
            type_slug="validation-error",
            title="Invalid input",
            detail="The request has invalid fields.",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404:
            detail = "No such resource."
        elif exc.status_code == 405:
            detail = f"Method {request.method} is not allowed here."
        return problem_response(
            exc.status_code, headers=getattr(exc, "headers", None), detail=detail, instance=request.url.path
        )

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        # A date or number too large to compute with comes from the client's input.
        logger.warning("input overflow", extra={"path": request.url.path, "error": str(exc)})
        return problem_response(
            422,
            type_slug="validation-error",
            title="Invalid input",
            detail="A value in the request is out of range.",
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(
            500,
            headers={"Connection": "close"},
            type_slug="internal-error",
            title="Internal error",
            detail="Something went wrong on our side.",
        )
