"""What machine the benchmark ran on, and per-process memory from /proc."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                kib = int(line.split()[1])
                return f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown"


def _tool_version(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (result.stdout + result.stderr).strip().splitlines()
    return text[0].strip() if text else None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def describe() -> dict[str, object]:
    load = os.getloadavg()
    wrk = _tool_version(["wrk", "--version"])
    nginx = _tool_version(["nginx", "-v"])
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "cpu_model": _cpu_model(),
        "cpus": usable_cores(),
        "memory": _memory(),
        "kernel": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "wrk": (wrk.split(" Copyright")[0] if wrk else "not installed"),
        "nginx": (nginx.replace("nginx version: ", "") if nginx else "not installed"),
        "load_average": f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min)",
    }


# -- memory ------------------------------------------------------------------------------------
def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def rss_kib(pid: int) -> int | None:
    """VmRSS of one process, in KiB."""
    return _status_kib(pid, "VmRSS")


def pss_kib(pid: int) -> int | None:
    """Proportional set size (shared pages split between their users), in KiB."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def descendants(pid: int) -> list[int]:
    """All processes below `pid` (by parent id), found by one scan of /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: split after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def postmaster_pid(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


# -- who used the CPU ----------------------------------------------------------------------------
def _process_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of one process (children it reaped included), in ticks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    # After the command name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
    return sum(int(fields[i]) for i in (11, 12, 13, 14))


def _machine_ticks() -> tuple[int, int]:
    """(busy, all) ticks of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


@dataclass
class CpuSnapshot:
    busy: int
    total: int
    ours: int


def cpu_snapshot(roots: list[int]) -> CpuSnapshot:
    """Machine-wide CPU ticks and the ticks used by `roots` and everything below them."""
    pids = set(roots)
    for root in roots:
        pids.update(descendants(root))
    busy, total = _machine_ticks()
    return CpuSnapshot(busy, total, sum(_process_ticks(pid) for pid in pids))


def cpu_shares(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Percent of the machine's CPU capacity used by us and by everything else in between."""
    total = max(1, after.total - before.total)
    ours = max(0, after.ours - before.ours)
    others = max(0, (after.busy - before.busy) - ours)
    return {"ours_pct": round(100 * ours / total, 1), "others_pct": round(100 * others / total, 1)}


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used by a process and everything below it (reaped children included)."""
    ticks = _process_ticks(pid) + sum(_process_ticks(child) for child in descendants(pid))
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds(pid: int) -> float:
    """CPU seconds of one process and the children it has reaped (not live children)."""
    return _process_ticks(pid) / os.sysconf("SC_CLK_TCK")
