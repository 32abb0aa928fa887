"""Docs that stay true: a default written next to a setting's name in the READMEs and docs/*.md,
as `NAME` (number [unit]), is the default the settings classes really have.

Only names that are settings fields are checked, and only when the parenthesis starts with a
number; units are read as KiB/MiB (bytes), ms/s/min/h/days (seconds). docs/configuration.md's table
is held to the settings by test_configuration_reference.py; this covers the prose elsewhere.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("mcm_auth", "mcm_circles", "mcm_payments", "mcm_gateway")
_MENTION = re.compile(r"`(?P<name>[A-Z][A-Z0-9_]+)`\s*\((?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[A-Za-z]*)")
_UNITS = {"": 1, "s": 1, "ms": 0.001, "min": 60, "minutes": 60, "h": 3600, "hours": 3600, "days": 86400}
_UNITS |= {"day": 86400, "KiB": 1024, "MiB": 1024 * 1024, "B": 1, "bytes": 1}


def settings_defaults() -> dict[str, set[float]]:
    defaults: dict[str, set[float]] = {}
    for package in PACKAGES:
        settings = importlib.import_module(f"{package}.config").Settings
        for name, info in settings.model_fields.items():
            if isinstance(info.default, int | float) and not isinstance(info.default, bool):
                defaults.setdefault(name.upper(), set()).add(float(info.default))
    return defaults


def contradictions(text: str, defaults: dict[str, set[float]]) -> list[str]:
    found = []
    for match in _MENTION.finditer(text):
        name, unit = match.group("name"), match.group("unit")
        if name not in defaults or unit not in _UNITS:
            continue
        value = float(match.group("number")) * _UNITS[unit]
        if not any(abs(value - default) < 1e-9 for default in defaults[name]):
            found.append(f"{name} ({match.group('number')} {unit}) but the code says {sorted(defaults[name])}")
    return found


DOCUMENTS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted(ROOT.glob("services/*/README.md")),
    ROOT / "gateway" / "README.md",
]


@pytest.mark.parametrize(
    "document", [d for d in DOCUMENTS if d.is_file()], ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_documented_defaults_match_the_settings(document: Path) -> None:
    wrong = contradictions(document.read_text(), settings_defaults())
    assert not wrong, f"{document.relative_to(ROOT)}: {wrong}"


def test_reader_catches_a_wrong_default_and_reads_units() -> None:
    defaults = {"KEEP_ALIVE_SECONDS": {75.0}, "MAX_BODY_BYTES": {1048576.0}, "TTL_SECONDS": {1209600.0}}
    text = "`KEEP_ALIVE_SECONDS` (5), `MAX_BODY_BYTES` (1 MiB), `TTL_SECONDS` (14 days), `OTHER` (3)"
    assert contradictions(text, defaults) == ["KEEP_ALIVE_SECONDS (5 ) but the code says [75.0]"]
