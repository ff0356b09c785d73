"""Benchmark history: saved pytest-benchmark runs, median comparison, the alarm.

``run_bench.py`` (``make bench``) saves every run as
``benchmarks/results/bench-<UTC date-time>-<commit>.json`` (pytest-benchmark's
JSON) and compares its medians with the latest earlier run. A benchmark whose
median grew by more than the threshold (20%) is a suspect; suspects are run
once more and keep the faster of the two medians, so that one noisy round on
a shared machine does not raise the alarm, while a real slowdown shows in both
runs and does.
"""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

THRESHOLD = 0.20
PREFIX = "bench-"


@dataclass(frozen=True)
class Row:
    """One benchmark's median now and in the previous run (seconds)."""

    name: str
    now: float | None
    before: float | None
    threshold: float = THRESHOLD

    @property
    def ratio(self) -> float | None:
        if self.now is None or self.before is None or self.before <= 0:
            return None
        return self.now / self.before

    @property
    def slower(self) -> bool:
        """More than ``threshold`` slower than before (the alarm condition)."""
        return self.ratio is not None and self.ratio > 1.0 + self.threshold

    @property
    def status(self) -> str:
        if self.before is None:
            return "new"
        if self.now is None:
            return "gone"
        if self.slower:
            return "SLOWER"
        return "faster" if self.ratio < 1.0 / (1.0 + self.threshold) else "ok"


def medians(run: dict) -> dict[str, float]:
    """``{fullname: median seconds}`` of a pytest-benchmark JSON document."""
    return {b["fullname"]: float(b["stats"]["median"]) for b in run.get("benchmarks", [])}


def compare(now: dict[str, float], before: dict[str, float],
            threshold: float = THRESHOLD) -> list[Row]:
    """Rows for every benchmark in either run, sorted by name."""
    return [Row(name, now.get(name), before.get(name), threshold)
            for name in sorted(set(now) | set(before))]


def merge_rerun(run: dict, rerun: dict) -> dict:
    """``run`` with each benchmark of ``rerun`` replaced when its median is lower.

    The names re-run are listed under ``"kalib_rerun"`` in the result.
    """
    again = {b["fullname"]: b for b in rerun.get("benchmarks", [])}
    merged = dict(run)
    merged["benchmarks"] = [
        again[b["fullname"]] if b["fullname"] in again
        and again[b["fullname"]]["stats"]["median"] < b["stats"]["median"] else b
        for b in run.get("benchmarks", [])]
    merged["kalib_rerun"] = sorted(again)
    return merged


def check(run: dict, previous: dict | None, rerun: Callable[[list[str]], dict],
          threshold: float = THRESHOLD) -> tuple[dict, list[Row]]:
    """Compare ``run`` with ``previous``; re-run the suspects once.

    ``rerun(names)`` runs the named benchmarks again and returns their
    pytest-benchmark JSON. Returns the run to save (suspects' faster medians
    merged in) and the comparison rows; the alarm is ``any(r.slower ...)``.
    """
    if previous is None:
        return run, compare(medians(run), {}, threshold)
    before = medians(previous)
    suspects = [row.name for row in compare(medians(run), before, threshold) if row.slower]
    if suspects:
        run = merge_rerun(run, rerun(suspects))
    return run, compare(medians(run), before, threshold)


def format_table(rows: list[Row]) -> str:
    """benchmark | median now | median before | ratio | status."""
    def fmt(seconds):
        if seconds is None:
            return "-"
        for unit, factor in (("s", 1.0), ("ms", 1e3), ("µs", 1e6)):
            if seconds * factor >= 1.0 or unit == "µs":
                return f"{seconds * factor:.4g} {unit}"

    header = ("benchmark", "median now", "median before", "ratio", "")
    body = [(r.name, fmt(r.now), fmt(r.before),
             "-" if r.ratio is None else f"{r.ratio:.2f}", r.status) for r in rows]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(5)]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(line, widths))).rstrip()
             for line in [header] + body]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def saved_runs(directory: Path, complete_only: bool = False,
               sizes: str | None = None) -> list[Path]:
    """Saved ``make bench`` runs, oldest first (names start with a UTC stamp).

    ``complete_only`` leaves out runs in which a benchmark failed; ``sizes``
    keeps the runs made with the same workload sizes (a quick run is not the
    baseline of a nightly one: some suites time "the largest size selected").
    """
    runs = sorted(Path(directory).glob(f"{PREFIX}*.json"))
    if complete_only:
        runs = [path for path in runs if not load(path).get("kalib_failed")]
    if sizes is not None:
        runs = [path for path in runs if load(path).get("kalib_sizes", sizes) == sizes]
    return runs


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def save(run: dict, path: Path) -> None:
    """Write atomically (temp + rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(run, indent=1))
    tmp.replace(path)


def git_commit() -> str:
    """Short commit id of the working tree, ``+dirty`` with uncommitted changes."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], cwd=root).returncode
    except (OSError, subprocess.CalledProcessError):
        return "nogit"
    return commit + ("+dirty" if dirty else "")


def machine_summary() -> dict:
    """CPU model, cores, memory, OS and the load average (is the machine shared?)."""
    cpu = platform.processor() or platform.machine()
    memory_gb = None
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo)
        cpu = found.group(1).strip() if found else cpu
        kb = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory_gb = round(kb / 1024 ** 2)
    except (OSError, AttributeError):
        pass
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    cores = os.cpu_count()
    description = (f"{cpu}, {cores} cores, {memory_gb} GB RAM, "
                   f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
    return {"cpu": cpu, "cores": cores, "memory_gb": memory_gb, "load": load,
            "shared": load is not None and load > 0.5, "description": description}


def same_machine(run: dict, previous: dict) -> bool:
    """Whether two runs report the same CPU (else the comparison means little)."""
    def brand(r):
        return r.get("machine_info", {}).get("cpu", {}).get("brand_raw")
    return brand(run) == brand(previous)


_PARAM = re.compile(r"^(?P<base>.*)\[(?P<param>[^\]]*)\]$")


def kernel_scaling(directory: Path) -> dict[str, dict[int, float]]:
    """``{benchmark: {n: median}}`` from the latest saved run, for the figure.

    The size comes from ``extra_info["n"]`` or a ``1e3``/``1e5``/``1e6`` part of
    the test's parameter id; benchmarks with fewer than two sizes are left out.
    """
    from workloads import SIZES

    runs = saved_runs(directory)
    if not runs:
        return {}
    lines: dict[str, dict[int, float]] = {}
    for bench in load(runs[-1]).get("benchmarks", []):
        found = _PARAM.match(bench["name"])
        base, param = (found["base"], found["param"]) if found else (bench["name"], "")
        parts = param.split("-")
        n = bench.get("extra_info", {}).get("n") or next(
            (SIZES[p] for p in parts if p in SIZES), None)
        if n is None:
            continue
        rest = "-".join(p for p in parts if p not in SIZES)
        label = base.removeprefix("test_") + (f"[{rest}]" if rest else "")
        lines.setdefault(label, {})[int(n)] = float(bench["stats"]["median"])
    return {name: points for name, points in lines.items() if len(points) >= 2}
