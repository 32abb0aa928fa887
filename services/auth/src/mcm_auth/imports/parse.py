"""Reading an import file: CSV (the csv module) into circle rows and member rows, with every
problem that needs no other service found here, by line number (the header is line 1).

Checks here: the header, the kind, missing fields, email and display name, the circle role,
duplicate rows, member rows naming a key neither in the file nor (checked later by circles)
imported before, and members beyond a circle's capacity_max. The circle fields themselves are
checked by circles, which owns their rules.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field

from pydantic import ValidationError

from mcm_auth.accounts.rules import clean_display_name, normalise_email
from mcm_auth.imports.schemas import ImportProblem

MAX_ROWS = 5000
# The shape circles accepts for circles.import_key.
KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CIRCLE_COLUMNS = (
    "key",
    "name",
    "description",
    "city",
    "online",
    "weekday",
    "time",
    "timezone",
    "frequency",
    "capacity_min",
    "capacity_max",
    "visibility",
    "join_policy",
    "dues_amount",
    "dues_currency",
)
MEMBER_COLUMNS = ("email", "display_name", "circle", "role")
COLUMNS = ("kind", *CIRCLE_COLUMNS, *MEMBER_COLUMNS)
CIRCLE_REQUIRED = ("key", "name", "weekday", "time", "timezone", "capacity_max")
MEMBER_REQUIRED = ("email", "display_name", "circle")
CIRCLE_ROLES = ("member", "facilitator")
TRUE, FALSE = ("true", "yes", "1"), ("false", "no", "0", "")


class FileUnreadable(ValueError):
    """The file as a whole cannot be read (encoding, header, too many rows)."""


@dataclass(frozen=True, slots=True)
class CircleRow:
    line: int
    key: str
    fields: dict[str, object]  # the circle in POST /api/v1/circles' shape, checked by circles


@dataclass(frozen=True, slots=True)
class MemberRow:
    line: int
    email: str
    display_name: str
    circle_key: str
    role: str


@dataclass(slots=True)
class ParsedFile:
    circles: list[CircleRow] = field(default_factory=list)
    members: list[MemberRow] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(ImportProblem(line=line, message=message))


def _circle(row: dict[str, str]) -> dict[str, object]:
    circle: dict[str, object] = {
        "name": row["name"],
        "capacity_max": row["capacity_max"],
        "schedule": {
            "weekday": row["weekday"].lower(),
            "time": row["time"],
            "timezone": row["timezone"],
            **({"frequency": row["frequency"].lower()} if row["frequency"] else {}),
        },
        "location": {"city": row["city"] or None, "online": row["online"].lower() in TRUE},
    }
    for name in ("description", "capacity_min", "visibility", "join_policy"):
        if row[name]:
            circle[name] = row[name].lower() if name in ("visibility", "join_policy") else row[name]
    if row["dues_amount"] or row["dues_currency"]:
        circle["dues"] = {"amount": row["dues_amount"], "currency": row["dues_currency"].upper()}
    return circle


def _read_circle(parsed: ParsedFile, line: int, row: dict[str, str], seen: dict[str, int]) -> None:
    missing = [name for name in CIRCLE_REQUIRED if not row[name]]
    if not row["city"] and row["online"].lower() not in TRUE:
        missing.append("city (or online=true)")
    if row["online"].lower() not in TRUE + FALSE:
        parsed.problem(line, "online must be true or false")
        return
    if missing:
        parsed.problem(line, f"missing field(s): {', '.join(missing)}")
        return
    if not KEY.match(row["key"]):
        parsed.problem(line, "key must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return
    if row["key"] in seen:
        parsed.problem(line, f"duplicate circle key {row['key']!r} (first on line {seen[row['key']]})")
        return
    seen[row["key"]] = line
    parsed.circles.append(CircleRow(line=line, key=row["key"], fields=_circle(row)))


def _read_member(parsed: ParsedFile, line: int, row: dict[str, str], seen: dict[tuple[str, str], int]) -> None:
    missing = [name for name in MEMBER_REQUIRED if not row[name]]
    if missing:
        parsed.problem(line, f"missing field(s): {', '.join(missing)}")
        return
    try:
        email = normalise_email(row["email"])
    except ValueError:
        parsed.problem(line, f"bad email {row['email']!r}")
        return
    try:
        display_name = clean_display_name(row["display_name"])
    except (ValueError, ValidationError) as error:
        parsed.problem(line, f"bad display_name: {error}")
        return
    role = (row["role"] or "member").lower()
    if role not in CIRCLE_ROLES:
        parsed.problem(line, f"role must be member or facilitator, not {row['role']!r}")
        return
    pair = (email, row["circle"])
    if pair in seen:
        parsed.problem(line, f"duplicate row: {email} is already in circle {row['circle']!r} on line {seen[pair]}")
        return
    seen[pair] = line
    parsed.members.append(
        MemberRow(line=line, email=email, display_name=display_name, circle_key=row["circle"], role=role)
    )


def parse(body: bytes) -> ParsedFile:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileUnreadable("the file is not UTF-8 text") from error
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise FileUnreadable("the file is empty") from None
    except csv.Error as error:
        raise FileUnreadable(f"line 1: {error}") from error
    unknown = [name for name in header if name not in COLUMNS]
    duplicated = [name for name, count in Counter(header).items() if count > 1]
    if "kind" not in header or unknown or duplicated:
        raise FileUnreadable(
            f"line 1: the header needs a kind column and only these columns, once each: {', '.join(COLUMNS)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
            + (f" (repeated: {', '.join(duplicated)})" if duplicated else "")
        )
    parsed = ParsedFile()
    circle_lines: dict[str, int] = {}
    member_lines: dict[tuple[str, str], int] = {}
    rows = 0
    try:
        for values in reader:
            line = reader.line_num
            if not any(value.strip() for value in values):
                continue  # blank lines are allowed
            rows += 1
            if rows > MAX_ROWS:
                raise FileUnreadable(f"more than {MAX_ROWS} rows; split the file")
            if len(values) > len(header):
                parsed.problem(line, f"{len(values)} values for {len(header)} columns")
                continue
            row = dict.fromkeys(COLUMNS, "") | {
                name: value.strip() for name, value in zip(header, values, strict=False)
            }
            kind = row["kind"].lower()
            if kind == "circle":
                _read_circle(parsed, line, row, circle_lines)
            elif kind == "member":
                _read_member(parsed, line, row, member_lines)
            else:
                parsed.problem(line, f"kind must be circle or member, not {row['kind']!r}")
    except csv.Error as error:
        raise FileUnreadable(f"line {reader.line_num}: {error}") from error
    return parsed
