"""The benchmark alarm: each median against the noise the history has seen.

``run_bench.py`` (``make bench``) judges every benchmark of a new run against
the earlier runs of the same *series* — the same benchmark, machine
fingerprint and workload sizes (``history.Record.series``); a run in which a
benchmark failed is judged but is never a baseline.

The rule (:class:`Rule`, defaults in brackets). With the last ``window`` [5]
runs of the series as the baseline runs:

* ``baseline`` = the median of their medians;
* ``spread`` = the largest of: the new run's IQR / median, the median of the
  baseline runs' IQR / median, and 2 x the MAD of their medians / baseline
  (for normal noise the IQR is 2 MAD, so all three are IQRs: of the rounds
  within a run, or of the run to run scatter). Relative, because timing
  noise is proportional: a slowdown that scales the rounds' IQR with the
  median must not widen its own tolerance;
* ``margin(level)`` = max(max(``threshold`` [20%], ``spread_factor`` [2] x
  spread) x level, ``floor`` [50 µs]);
* **SLOWER** when median > baseline + margin(baseline); **faster** when
  baseline > median + margin(median) (the same rule read backwards);
* **DRIFT** (a slow creep the moving baseline follows) when median >
  reference + margin(reference), ``reference`` being the median of the first
  ``window`` runs of the last ``drift_window`` [20] — but none before the
  last run flagged SLOWER, DRIFT or faster: a reported step is then the new
  level, so the alarm is not raised for weeks about one accepted change.

SLOWER and DRIFT raise the alarm; ``run_bench.py`` first runs the suspects
once more and keeps the faster median (one noisy round on a shared machine
does not raise it, a real slowdown present in both runs does). A step
slowdown stays SLOWER until most of the baseline runs are at the new level
(3 runs with a window of 5), then the new level is the baseline.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from history import HISTORY, Record, read, short_name

# A flagged run restarts the drift reference (see the module docstring).
FLAGGED = ("SLOWER", "DRIFT", "faster")
ALARM = ("SLOWER", "DRIFT")


@dataclass(frozen=True)
class Rule:
    """The alarm's parameters (the module docstring gives the rule).

    ``floor``: 50 µs. The microsecond benchmarks (collapse and expand at
    n = 1e3 take 2 µs) time kernels that are timed at n = 1e5 and 1e6 too,
    where a per-row slowdown is 100-1000 times larger and passes the floor;
    the floor mutes only the sizes where a change is invisible to a user
    (the smallest whole task, raking 1e3 rows, takes about 1 ms). In the
    first runs of the history those 2 µs medians moved 2x (4.2 -> 2.1 µs)
    between a shared and a quiet machine with IQRs under 10%: a relative
    rule alone calls that a regression.
    ``spread_factor``: 2 IQRs (about 2.7 standard deviations of normal
    noise); the rounds' IQR, not the median's standard error, because on a
    shared machine whole runs move, and a run whose rounds scatter widely is
    one that other work disturbed.
    """

    threshold: float = 0.20
    spread_factor: float = 2.0
    floor: float = 50e-6
    window: int = 5
    drift_window: int = 20

    def margin(self, level: float, spread: float) -> float:
        """How far above ``level`` (seconds) a median may be before it is a
        change, with ``spread`` relative (an IQR / median)."""
        return max(max(self.threshold, self.spread_factor * spread) * level, self.floor)


@dataclass(frozen=True)
class Verdict:
    """One benchmark of a run judged against the earlier runs of its series.

    ``record`` is None for a benchmark that is gone (in the latest earlier
    run, not in this one); ``baseline`` and ``reference`` (the drift level,
    when it was checked) are medians in seconds, ``spread`` relative (the
    module docstring); ``runs`` counts the baseline runs.
    """

    name: str
    record: Record | None
    status: str
    baseline: float | None = None
    spread: float | None = None
    reference: float | None = None
    runs: int = 0

    @property
    def ratio(self) -> float | None:
        if self.record is None or not self.baseline:
            return None
        return self.record.median / self.baseline

    @property
    def alarm(self) -> bool:
        return self.status in ALARM


def _level(runs: list[Record], new: Record) -> tuple[float, float]:
    """(median of the runs' medians, relative spread) — see the module docstring."""
    medians = [r.median for r in runs]
    centre = statistics.median(medians)
    mad = statistics.median(abs(m - centre) for m in medians)
    return centre, max(
        new.iqr / new.median, statistics.median(r.iqr / r.median for r in runs), 2.0 * mad / centre
    )


def _judge(new: Record, earlier: list[Record], since: int, rule: Rule) -> Verdict:
    """``new`` against the complete ``earlier`` runs of its series (oldest
    first); the drift reference starts no earlier than ``earlier[since]``."""
    if not earlier:
        return Verdict(new.benchmark, new, "new")
    recent = earlier[-rule.window :]
    baseline, spread = _level(recent, new)
    verdict = Verdict(new.benchmark, new, "ok", baseline, spread, runs=len(recent))
    if new.median > baseline + rule.margin(baseline, spread):
        return replace(verdict, status="SLOWER")
    if baseline > new.median + rule.margin(new.median, spread):
        return replace(verdict, status="faster")
    start = max(since, len(earlier) - rule.drift_window)
    if start >= len(earlier) - len(recent):
        return verdict  # the reference would be the baseline runs themselves
    reference, spread = _level(earlier[start : start + rule.window], new)
    verdict = replace(verdict, reference=reference)
    if new.median > reference + rule.margin(reference, spread):
        return replace(verdict, status="DRIFT", spread=spread)
    return verdict


def judge_series(series: list[Record], rule: Rule = Rule()) -> list[Verdict]:
    """Every run of one series (oldest first) judged against the runs before it."""
    verdicts, complete, since = [], [], 0
    for record in series:
        verdict = _judge(record, complete, since, rule)
        verdicts.append(verdict)
        if record.complete:
            if verdict.status in FLAGGED:
                since = len(complete)  # this run starts the new reference
            complete.append(record)
    return verdicts


def by_series(records: Iterable[Record]) -> dict[tuple, list[Record]]:
    """``{series: its records oldest first}``."""
    groups: dict[tuple, list[Record]] = {}
    for record in sorted(records, key=lambda r: r.date):
        groups.setdefault(record.series, []).append(record)
    return groups


def judge(history: list[Record], run: list[Record], rule: Rule = Rule()) -> list[Verdict]:
    """The new ``run``'s rows judged against ``history``, sorted by name, with
    the benchmarks of the latest earlier complete run of the same machine and
    sizes that this run lacks (status ``gone``)."""
    earlier = by_series(history)
    verdicts = [judge_series(earlier.get(r.series, []) + [r], rule)[-1] for r in run]
    if run:
        same = [
            r
            for r in history
            if r.complete and r.machine == run[0].machine and r.sizes == run[0].sizes
        ]
        latest = max((r.date for r in same), default=None)
        names = {r.benchmark for r in run}
        verdicts += [
            Verdict(r.benchmark, None, "gone", r.median)
            for r in same
            if r.date == latest and r.benchmark not in names
        ]
    return sorted(verdicts, key=lambda v: v.name)


# -- the re-run of the suspects ----------------------------------------------


def merge_rerun(run: dict, rerun: dict) -> dict:
    """``run`` (pytest-benchmark JSON) with each benchmark of ``rerun``
    replaced when its median is lower; the names re-run under ``"kalib_rerun"``."""
    again = {b["fullname"]: b for b in rerun.get("benchmarks", [])}
    merged = dict(run)
    merged["benchmarks"] = [
        again[b["fullname"]]
        if b["fullname"] in again
        and again[b["fullname"]]["stats"]["median"] < b["stats"]["median"]
        else b
        for b in run.get("benchmarks", [])
    ]
    merged["kalib_rerun"] = sorted(again)
    return merged


def check(
    run: dict,
    rows: Callable[[dict], list[Record]],
    history: list[Record],
    rerun: Callable[[list[str]], dict],
    rule: Rule = Rule(),
) -> tuple[dict, list[Verdict]]:
    """Judge ``run``; run the suspects (SLOWER, DRIFT) once more and judge again.

    ``rows(run)`` turns a pytest-benchmark JSON document into history rows;
    ``rerun(fullnames)`` runs the named benchmarks again and returns their
    JSON. Returns the run to keep (the suspects' faster medians merged in)
    and the verdicts.
    """
    verdicts = judge(history, rows(run), rule)
    suspects = {v.name for v in verdicts if v.alarm}
    if suspects:
        names = [b["fullname"] for b in run["benchmarks"] if short_name(b["fullname"]) in suspects]
        run = merge_rerun(run, rerun(names))
        verdicts = judge(history, rows(run), rule)
    return run, verdicts


# -- the printed table --------------------------------------------------------


def format_seconds(seconds: float | None) -> str:
    """``3.1 ms``, ``48 µs``, ``2.64 s`` (4 significant digits)."""
    if seconds is None:
        return "-"
    for unit, factor in (("s", 1.0), ("ms", 1e3), ("µs", 1e6)):
        if abs(seconds) * factor >= 1.0 or unit == "µs":
            return f"{seconds * factor:.4g} {unit}"


def format_table(verdicts: list[Verdict]) -> str:
    """benchmark | median now | baseline | ratio | allowed | status."""
    header = ("benchmark", "median now", "baseline", "ratio", "spread", "status")
    body = [
        (
            v.name,
            format_seconds(v.record.median if v.record else None),
            format_seconds(v.baseline),
            "-" if v.ratio is None else f"{v.ratio:.2f}",
            "-" if v.spread is None else f"{v.spread:.0%}",
            v.status,
        )
        for v in verdicts
    ]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths))
        ).rstrip()
        for line in [header] + body
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


# -- what the run and the peers' runs record ---------------------------------


def git_commit() -> str:
    """Short commit id of the working tree, ``+dirty`` with uncommitted changes."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
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
        memory_gb = round(kb / 1024**2)
    except (OSError, AttributeError):
        pass
    load = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    cores = os.cpu_count()
    description = (
        f"{cpu}, {cores} cores, {memory_gb} GB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )
    return {
        "cpu": cpu,
        "cores": cores,
        "memory_gb": memory_gb,
        "load": load,
        "shared": load is not None and load > 0.5,
        "description": description,
    }


_PARAM = re.compile(r"^(?P<base>.*)\[(?P<param>[^\]]*)\]$")


def kernel_scaling(directory: Path) -> dict[str, dict[int, float]]:
    """``{benchmark: {n: median}}`` from the latest run in the history of
    ``directory`` (``results/``), for ``peers.py``'s figure.

    The size is the ``1e3``/``1e5``/``1e6`` part of the test's parameter id;
    benchmarks with fewer than two sizes are left out.
    """
    from workloads import SIZES

    records = read(Path(directory) / HISTORY)
    if not records:
        return {}
    latest = max(r.run for r in records)
    lines: dict[str, dict[int, float]] = {}
    for record in (r for r in records if r.run == latest):
        test = record.benchmark.partition("::")[2]
        found = _PARAM.match(test)
        base, param = (found["base"], found["param"]) if found else (test, "")
        parts = param.split("-")
        n = next((SIZES[p] for p in parts if p in SIZES), None)
        if n is None:
            continue
        rest = "-".join(p for p in parts if p not in SIZES)
        label = base.removeprefix("test_") + (f"[{rest}]" if rest else "")
        lines.setdefault(label, {})[int(n)] = record.median
    return {name: points for name, points in lines.items() if len(points) >= 2}
