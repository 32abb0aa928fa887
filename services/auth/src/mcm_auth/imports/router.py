"""HTTP for bulk imports: `POST /api/v1/imports?dry_run=true|false`, admins only, the file as
the `text/csv` body (read from the ASGI stream with a size cap, never parsed by hand)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from mcm_auth.deps import CurrentAccount, RuntimeDep, SignedIn
from mcm_auth.imports import service
from mcm_auth.imports.errors import ImportRefused, ImportTooLarge, NotCsv, UnreadableImport
from mcm_auth.imports.parse import FileUnreadable, parse
from mcm_auth.imports.schemas import ImportReport
from mcm_auth.internal.client import ServiceUnavailable
from mcm_shared.errors import Forbidden, RateLimited, Unauthenticated, problem_responses
from mcm_shared.security import Role
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])

MAX_BYTES = 1_000_000
CSV_TYPES = ("text/csv", "application/csv")


async def admin(account: CurrentAccount) -> SignedIn:
    if Role.ADMIN.value not in account.user.roles:
        raise Forbidden("Only admins import circles and members.")
    return account


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise ImportTooLarge(f"The file is larger than {MAX_BYTES:,} bytes; split it.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BYTES:
            raise ImportTooLarge(f"The file is larger than {MAX_BYTES:,} bytes; split it.")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "",
    response_model=ImportReport,
    responses=problem_responses(
        Unauthenticated,
        Forbidden,
        ImportTooLarge,
        NotCsv,
        UnreadableImport,
        ImportRefused,
        ServiceUnavailable,
        RateLimited,
    ),
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_file(
    request: Request,
    account: Annotated[SignedIn, Depends(admin)],
    db: SessionDep,
    runtime: RuntimeDep,
    dry_run: Annotated[bool, Query(description="Check and report only; nothing is written")] = True,
) -> ImportReport:
    """Import circles and members from one CSV (docs/imports.md). Every problem is reported by
    line; a real run over a file with problems imports nothing (422 listing them). Re-running a
    file changes nothing: circles are matched by key, open invitations are not sent again."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CSV_TYPES:
        raise NotCsv()
    await service.count_run(runtime, account.user)
    try:
        parsed = parse(await _body(request))
    except FileUnreadable as error:
        raise UnreadableImport(str(error)) from error
    return await service.run(db, runtime, account.user, parsed, dry_run=dry_run)
