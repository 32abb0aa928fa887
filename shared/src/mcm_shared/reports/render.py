"""A report's answer: JSON by default, CSV (RFC 4180, header row) when the client asks for it.

A report holds one or more tables (lists of rows); the CSV is one of them, chosen with
`?table=` (the report's first table by default). Rates are written as decimals (`0.75`), empty
when null.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from mcm_shared.errors import InvalidInput
from mcm_shared.reports.period import Period

CSV_MEDIA_TYPE = "text/csv"


def _quality(media_range: str) -> tuple[str, float]:
    kind, *params = (part.strip() for part in media_range.split(";"))
    q = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    return kind.lower(), q


def wants_csv(accept: str | None) -> bool:
    """True when the Accept header prefers text/csv to JSON (JSON wins ties and `*/*`)."""
    if not accept:
        return False
    qualities: dict[str, float] = {}
    for media_range in accept.split(","):
        if media_range.strip():
            kind, q = _quality(media_range)
            qualities[kind] = max(q, qualities.get(kind, 0.0))
    csv_q = qualities.get(CSV_MEDIA_TYPE, 0.0)
    json_q = max(qualities.get("application/json", 0.0), qualities.get("*/*", 0.0), qualities.get("application/*", 0.0))
    return csv_q > 0 and csv_q > json_q


def _cell(value: Any) -> Any:
    return "" if value is None else value


def to_csv(rows: list[BaseModel], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: CRLF, quotes where needed
    writer.writerow(columns)
    for row in rows:
        values = row.model_dump(mode="json")
        writer.writerow([_cell(values[column]) for column in columns])
    return buffer.getvalue()


def render_report(
    report: BaseModel,
    period: Period,
    tables: dict[str, type[BaseModel]],
    *,
    accept: str | None,
    table: str | None,
) -> Response:
    """`report` as JSON, or one of its `tables` (attribute name → row model) as CSV when the
    Accept header prefers it. `report.report` names it (and the CSV file)."""
    if not wants_csv(accept):
        return JSONResponse(report.model_dump(mode="json", by_alias=True))
    chosen = table or next(iter(tables))
    if chosen not in tables:
        raise InvalidInput(f"`table` is one of: {', '.join(tables)}.")
    rows: list[BaseModel] = getattr(report, chosen)
    name = report.model_dump(include={"report"})["report"]
    filename = f"{name}-{chosen}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    return Response(
        to_csv(rows, list(tables[chosen].model_fields)),
        media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8; header=present",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def report_responses(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """`responses=` telling OpenAPI the 200 is `model` as JSON or a CSV table."""
    return {
        200: {
            "model": model,
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "The report (JSON), or one of its tables as CSV with `Accept: text/csv` and `?table=`",
        }
    }
