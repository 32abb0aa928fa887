"""A report's answer: JSON by default, CSV (RFC 4180, header row) when the client asks for it.

A report holds one or more tables. PostgreSQL renders each table's JSON itself (`json_agg`), so
a table of thousands of rows costs the service one text value instead of a Python object per row
and field; the envelope (report, period, freshness) is added around it. The CSV is one table,
chosen with `?table=` (the report's first table by default), written by the `csv` module from the
rows: nulls empty, timestamps ISO 8601.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_shared.errors import InvalidInput
from mcm_shared.reports.freshness import Freshness
from mcm_shared.reports.period import Period

CSV_MEDIA_TYPE = "text/csv"
JSON_MEDIA_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class ReportTable:
    """One table of a report: its SELECT (binding `:start` and `:end`), the order of its rows
    (an ORDER BY list over its output columns) and its row model (the columns, in order)."""

    sql: str
    order: str
    row: type[BaseModel]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.row.model_fields)


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    media_type: str
    filename: str | None = None

    def response(self) -> Response:
        headers = {"Content-Disposition": f'attachment; filename="{self.filename}"'} if self.filename else None
        return Response(self.body, media_type=self.media_type, headers=headers)


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
    json_q = max(qualities.get(JSON_MEDIA_TYPE, 0.0), qualities.get("*/*", 0.0), qualities.get("application/*", 0.0))
    return csv_q > 0 and csv_q > json_q


def csv_table_of(accept: str | None, table: str | None, names: tuple[str, ...]) -> str | None:
    """The table to answer as CSV, or None for JSON; an unknown `table` is 422."""
    if table is not None and table not in names:
        raise InvalidInput(f"`table` is one of: {', '.join(names)}.")
    if not wants_csv(accept):
        return None
    return table or names[0]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def _json_table(session: AsyncSession, table: ReportTable, period: Period) -> str:
    fields = ", ".join(f"'{column}', q.{column}" for column in table.columns)
    order = ", ".join(f"q.{term.strip()}" for term in table.order.split(","))
    query = (
        f"SELECT coalesce(json_agg(json_build_object({fields}) ORDER BY {order}), '[]')::text "  # noqa: S608
        f"FROM ({table.sql}) AS q"
    )
    value = await session.scalar(text(query), {"start": period.start, "end": period.end})
    return str(value)


async def _csv_table(session: AsyncSession, table: ReportTable, period: Period) -> str:
    result = await session.execute(text(table.sql), {"start": period.start, "end": period.end})
    columns = table.columns
    positions = [list(result.keys()).index(column) for column in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: CRLF, quotes where needed
    writer.writerow(columns)
    writer.writerows([_cell(row[i]) for i in positions] for row in result)
    return buffer.getvalue()


async def render_report(
    session: AsyncSession,
    *,
    name: str,
    period: Period,
    freshness: Freshness,
    tables: Mapping[str, ReportTable],
    csv_table: str | None,
) -> Rendered:
    """The report as JSON (every table), or its `csv_table` as CSV."""
    if csv_table is not None:
        body = await _csv_table(session, tables[csv_table], period)
        filename = f"{name}-{csv_table}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
        return Rendered(body.encode(), f"{CSV_MEDIA_TYPE}; charset=utf-8; header=present", filename)
    head = {
        "report": name,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "freshness": freshness.model_dump(mode="json"),
    }
    parts = [json.dumps(head)[:-1]]
    for key, table in tables.items():
        parts.append(f", {json.dumps(key)}: {await _json_table(session, table, period)}")
    parts.append("}")
    return Rendered("".join(parts).encode(), JSON_MEDIA_TYPE)


def report_responses(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """`responses=` telling OpenAPI the 200 is `model` as JSON or a CSV table."""
    return {
        200: {
            "model": model,
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "The report (JSON), or one of its tables as CSV with `Accept: text/csv` and `?table=`",
        }
    }
