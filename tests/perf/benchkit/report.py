"""Results of a benchmark run and the two files written from them (Markdown and JSON).

Every figure says what kind of number it is: a `ratio` between two measurements taken in the
same run (comparable across machines), or an `absolute` number that only holds for the machine
described at the top of the report. A figure with a target says whether it met it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RATIO = "ratio"  # two measurements of the same run divided: carries over to other machines
ABSOLUTE = "absolute"  # a time, rate or size that holds for the machine described in the report
COUNT = "count"  # an exact count checked after the load (rows, errors, statements): not a timing

OK = "ok"
BUSY_MACHINE_PCT = 10.0
NOT_AVAILABLE = "not available"
ERROR = "error"


class NotAvailable(Exception):
    """A scenario cannot run yet (an endpoint or table it needs does not exist); not a failure."""


@dataclass
class Target:
    op: str  # one of "<=", "<", ">=", ">", "=="
    threshold: float

    def met_by(self, value: float | None) -> bool | None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return {
            "<=": value <= self.threshold,
            "<": value < self.threshold,
            ">=": value >= self.threshold,
            ">": value > self.threshold,
            "==": value == self.threshold,
        }[self.op]

    def text(self, unit: str) -> str:
        symbol = {"<=": "≤", "<": "<", ">=": "≥", ">": ">", "==": "="}[self.op]
        return f"{symbol} {_number(self.threshold)}{_unit_suffix(unit)}"


@dataclass
class Figure:
    key: str
    label: str
    value: float | None
    unit: str
    kind: str  # RATIO or ABSOLUTE
    target: Target | None = None
    note: str = ""

    @property
    def passed(self) -> bool | None:
        return self.target.met_by(self.value) if self.target else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "kind": self.kind,
            "target": self.target.text(self.unit) if self.target else None,
            "passed": self.passed,
            "note": self.note or None,
        }


@dataclass
class ScenarioResult:
    key: str
    title: str
    method: str = ""
    load_generator: str = "—"
    status: str = OK
    reason: str | None = None
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    cpu: dict[str, float] | None = None  # {"ours_pct", "others_pct"} of the machine during the scenario

    def add(
        self,
        key: str,
        label: str,
        value: float | None,
        unit: str,
        kind: str,
        *,
        target: Target | None = None,
        note: str = "",
    ) -> Figure:
        figure = Figure(f"{self.key}.{key}", label, value, unit, kind, target, note)
        self.figures.append(figure)
        return figure

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "status": self.status,
            "reason": self.reason,
            "method": self.method,
            "load_generator": self.load_generator,
            "seconds": round(self.seconds, 1),
            "cpu_share_pct": self.cpu,
            "figures": [figure.as_dict() for figure in self.figures],
            "details": self.details,
        }


@dataclass
class Report:
    machine: dict[str, Any]
    configuration: dict[str, Any] = field(default_factory=dict)
    scenarios: list[ScenarioResult] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""
    total_seconds: float = 0.0

    def targets(self) -> list[Figure]:
        return [figure for scenario in self.scenarios for figure in scenario.figures if figure.target is not None]

    def as_dict(self) -> dict[str, Any]:
        targets = self.targets()
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "total_seconds": round(self.total_seconds, 1),
            "machine": self.machine,
            "configuration": self.configuration,
            "summary": {
                "targets_met": sum(1 for f in targets if f.passed is True),
                "targets_missed": sum(1 for f in targets if f.passed is False),
                "not_available": [s.key for s in self.scenarios if s.status == NOT_AVAILABLE],
                "errors": [s.key for s in self.scenarios if s.status == ERROR],
            },
            "scenarios": [scenario.as_dict() for scenario in self.scenarios],
        }

    # -- writers -------------------------------------------------------------------------------
    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2, default=str) + "\n")

    def write_markdown(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_markdown(self))

    def summary_text(self) -> str:
        lines = [
            f"benchmark finished in {self.total_seconds:.0f}s on {self.machine.get('cpu_model', '?')} "
            f"({self.machine.get('cpus', '?')} cores)"
        ]
        for scenario in self.scenarios:
            if scenario.status != OK:
                lines.append(f"  {scenario.title}: {scenario.status}: {scenario.reason}")
                continue
            busy = (
                f" (other processes used {scenario.cpu['others_pct']:.0f}% of the CPU)"
                if scenario.cpu and scenario.cpu["others_pct"] > BUSY_MACHINE_PCT
                else ""
            )
            lines.append(f"  {scenario.title}:{busy}")
            for figure in scenario.figures:
                verdict = "" if figure.passed is None else ("  PASS" if figure.passed else "  FAIL")
                target = f" (target {figure.target.text(figure.unit)})" if figure.target else ""
                lines.append(
                    f"    {figure.label}: {format_value(figure.value, figure.unit)} [{figure.kind}]{target}{verdict}"
                )
        return "\n".join(lines)


# -- formatting --------------------------------------------------------------------------------
def _number(value: float) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}".replace(",", " ")
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}".replace(",", " ")
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _unit_suffix(unit: str) -> str:
    if not unit:
        return ""
    if unit in ("×", "%"):
        return unit
    return f" {unit}"


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{_number(value)}{_unit_suffix(unit)}"


def _verdict(figure: Figure) -> str:
    if figure.target is None:
        return ""
    if figure.passed is None:
        return "n/a"
    return "**pass**" if figure.passed else "**FAIL**"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    m = report.machine
    out: list[str] = []
    out.append("# Benchmarks")
    out.append("")
    out.append(
        "Generated by `make bench` (tests/perf/bench.py) from one run on the machine below; the lead commits this "
        "file as produced. **Ratios** compare two measurements from the same run and carry over to other machines; "
        "**absolute** numbers (times, rates, sizes) hold only for this machine, with the load generator sharing its "
        "cores "
        "with the platform; **counts** are exact numbers checked after the load (rows in SQL, failed answers, "
        "statements)."
    )
    out.append("")
    out.append("## Methodology: durable writes, baselines, CPU")
    out.append("")
    out.append(
        "- **Durable, as in production.** PostgreSQL runs with `fsync`, `synchronous_commit` and `full_page_writes` on "
        '(the settings `make run` uses; listed under "Platform configuration"), so every write the platform answers '
        "2xx "
        "was flushed to disk first. Figures measured with those settings off (reports before issue 19) are not "
        "comparable."
    )
    out.append(
        "- **Same-run baseline for writes.** Write rates depend on the disk's flush latency and on what else runs. "
        "Right "
        "before its load, each write-heavy scenario (registration, webhooks) measures bare single-row durable INSERT "
        "transactions per second at its own concurrency, with asyncpg straight to the same PostgreSQL "
        "(tests/perf/benchkit/baseline.py), and reports its rate also as a ratio to that: how close the platform's "
        "acknowledged writes come to bare durable commits, which carries over between machines better than a rate."
    )
    out.append(
        "- **Group commit.** Webhooks that arrive together share one INSERT and one commit; the usual registration "
        "is one "
        "autocommitted statement holding the event row lock only for itself and its flush. PostgreSQL's `commit_delay`/"
        "`commit_siblings` were tried with `--pg-setting` (they speed up bare commits at high concurrency; see "
        "`GROUP_COMMIT` in "
        'tests/perf/bench.py) and are used only if listed under "Platform configuration".'
    )
    out.append(
        "- **What a registration costs, and why.** The usual registration is answered by the route's fast lane "
        "(services/circles/src/mcm_circles/events/registrations/fast_lane.py: the same token check and use case "
        "without FastAPI's per-request dependency solving, which py-spy put at about an eighth of circles' CPU per "
        "registration; anything unusual goes to FastAPI's standard handler), on a router matched first (FastAPI 0.165"
        " tries routes one by one: ~0.2 ms of CPU behind the other routers). It costs two statements: an unlocked "
        "read of every fact the checks need, then one autocommitted statement that locks the event row, decides seat,"
        " held seat (with its outbox message) or waitlist, inserts and counts (docs/events.md). Before issue 19's "
        "follow-up a held seat took a locked transaction behind a per-event queue, the p99 tail; the read's overdue-"
        "hold probe read every registration of the event under PostgreSQL's generic plan; and services fetched auth's"
        " keys on their first signed-in request. What remains per registration: the gateway's proxying and its own "
        "token check, circles' HTTP stack, token check and two round trips, PostgreSQL's two statements and the "
        "commit's flush, and in payments the obligation each held seat opens. With a closed loop of a fixed number in"
        " flight, latency is that number divided by the rate (Little's law): the p99 target is met only at a rate the"
        " machine's cores allow."
    )
    out.append(
        "- **CPU per operation** is read from /proc for every process of the platform (services, PostgreSQL, Redis) "
        "over "
        "the scenario's load, divided by the requests sent. The platform also spends CPU with no load at all (outbox "
        "relays, consumers, pollers); that fixed cost per second weighs more per request the lower the rate, so the "
        "write "
        "scenarios measure it just before their load and also report the figure net of it."
    )
    out.append(
        "- **Shared machines.** A run notes how much CPU other processes used; on a busy machine absolute rates and "
        "latencies are pessimistic, while CPU per operation and same-run ratios move much less."
    )
    out.append("")
    out.append("## Machine")
    out.append("")
    out.append("| | |")
    out.append("|---|---|")
    for label, key in (
        ("Date (UTC)", "date"),
        ("CPU", "cpu_model"),
        ("Cores (usable)", "cpus"),
        ("Memory", "memory"),
        ("Kernel", "kernel"),
        ("Python", "python"),
        ("PostgreSQL", "postgresql"),
        ("Redis", "redis"),
        ("wrk", "wrk"),
        ("nginx", "nginx"),
        ("Load average before the run", "load_average"),
        ("Other work on the machine", "others_cpu_before"),
    ):
        if key in m:
            out.append(f"| {label} | {_cell(m[key])} |")
    out.append(f"| Run time | {report.total_seconds:.0f} s |")
    out.append("")
    if report.configuration:
        out.append("## Platform configuration during the run")
        out.append("")
        for key, value in report.configuration.items():
            out.append(f"- **{key}**: {value}")
        out.append("")

    busiest = max((s.cpu["others_pct"] for s in report.scenarios if s.cpu), default=0.0)
    if busiest > BUSY_MACHINE_PCT:
        out.append(
            f"> **Note**: other processes on this machine (not the platform, not the load generator) used up to "
            f"{busiest:.0f}% of its CPU capacity during some scenarios (each scenario below says how much). The "
            "absolute "
            "figures of those scenarios are pessimistic; ratios measured within one scenario are affected less."
        )
        out.append("")
    targets = report.targets()
    out.append("## Targets")
    out.append("")
    if targets:
        out.append("| Target | Measured | Kind | Goal | Result |")
        out.append("|---|---|---|---|---|")
        for figure in targets:
            out.append(
                f"| {_cell(figure.label)} | {format_value(figure.value, figure.unit)} | {figure.kind} | "
                f"{figure.target.text(figure.unit) if figure.target else ''} | {_verdict(figure)} |"
            )
    missing = [s for s in report.scenarios if s.status != OK]
    if missing:
        out.append("")
        for scenario in missing:
            out.append(f"- {scenario.title}: **{scenario.status}**: {_cell(scenario.reason or '')}")
    out.append("")

    for scenario in report.scenarios:
        out.append(f"## {scenario.title}")
        out.append("")
        if scenario.status != OK:
            out.append(f"**{scenario.status}**: {scenario.reason}")
            out.append("")
        if scenario.method:
            out.append(f"*How*: {scenario.method}")
            out.append("")
        if scenario.load_generator and scenario.load_generator != "—":
            out.append(f"*Load generator*: {scenario.load_generator}")
            out.append("")
        if scenario.cpu:
            out.append(
                f"*CPU during the scenario*: platform + load generator {scenario.cpu['ours_pct']:.0f}% of the "
                "machine's "
                f"capacity, other processes {scenario.cpu['others_pct']:.0f}%"
            )
            out.append("")
        if scenario.figures:
            out.append("| Figure | Value | Kind | Target | Result | Note |")
            out.append("|---|---|---|---|---|---|")
            for figure in scenario.figures:
                out.append(
                    f"| {_cell(figure.label)} | {format_value(figure.value, figure.unit)} | {figure.kind} | "
                    f"{figure.target.text(figure.unit) if figure.target else ''} | {_verdict(figure)} | "
                    f"{_cell(figure.note)} |"
                )
            out.append("")
        out.append(f"<sub>scenario time {scenario.seconds:.0f} s</sub>")
        out.append("")
    out.append("Raw numbers of the same run: `docs/benchmarks.json`.")
    out.append("")
    return "\n".join(out)
