"""The benchmark history: one compact CSV row per benchmark per ``make bench`` run.

``benchmarks/results/history.csv`` is committed; the raw pytest-benchmark
JSON (10-12 MB a run: every round's time) is not — only the last run's is
kept, ignored by git, in ``benchmarks/results/last/``. A row holds what the
alarm (``regression.py``) and the trend page (``history_page.py``) read:

=========  ===============================================================
date       UTC time the run was saved, ``2026-11-27T21:34:29Z``
commit     short commit id, ``+dirty`` when the tree had uncommitted changes
machine    the fingerprint runs are compared within: CPU model, cores,
           Python and numpy versions (``?`` where a migrated run did not
           record it)
sizes      the workload sizes of the run (``1e3,1e5`` for ``--quick``):
           some suites time "the largest size selected"
complete   0 when a benchmark of the run failed (such a run is never a
           baseline)
load       highest 1-minute load average seen during the run (empty when
           unknown); above the core count the machine was shared
benchmark  ``<suite file>::<test id>``
median_s   median time per call, seconds
iqr_s      interquartile range of the rounds' times, seconds
rounds     number of timed rounds
=========  ===============================================================

Run as a script, it migrates raw runs saved before the history existed::

    python benchmarks/history.py migrate benchmarks/results/bench-*.json
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
HISTORY = "history.csv"  # inside the results directory
COLUMNS = (
    "date",
    "commit",
    "machine",
    "sizes",
    "complete",
    "load",
    "benchmark",
    "median_s",
    "iqr_s",
    "rounds",
)
UNKNOWN = "?"


@dataclass(frozen=True)
class Record:
    """One benchmark in one run (a row of ``history.csv``); times in seconds."""

    date: str
    commit: str
    machine: str
    sizes: str
    complete: bool
    load: float | None
    benchmark: str
    median: float
    iqr: float
    rounds: int

    @property
    def series(self) -> tuple[str, str, str]:
        """What makes two rows comparable: the same benchmark, machine and sizes."""
        return self.benchmark, self.machine, self.sizes

    @property
    def run(self) -> tuple[str, str]:
        return self.date, self.commit


def fingerprint(cpu: str, cores: int | None, python: str, numpy: str) -> str:
    """``AMD EPYC; 2 cores; Python 3.11.7; numpy 2.4.6``: spelled, not hashed,
    so that a reader of the CSV knows the machine without a lookup table."""
    return f"{cpu}; {cores if cores else UNKNOWN} cores; Python {python}; numpy {numpy}"


def run_fingerprint(run: dict, numpy: str = UNKNOWN) -> str:
    """The fingerprint of a pytest-benchmark JSON document's machine.

    pytest-benchmark records the CPU and Python but not numpy; the caller
    passes numpy's version when it knows it (``make bench`` runs the suites
    with its own interpreter, so it does).
    """
    info = run.get("machine_info", {})
    cpu = info.get("cpu", {})
    return fingerprint(
        cpu.get("brand_raw") or info.get("processor") or UNKNOWN,
        cpu.get("count"),
        info.get("python_version", UNKNOWN),
        numpy,
    )


def numpy_version() -> str:
    return metadata.version("numpy")


def short_name(fullname: str) -> str:
    """``benchmarks/bench_x.py::test_y[1e3]`` -> ``bench_x.py::test_y[1e3]``
    (the suites' directory differs between the repository and the tests)."""
    path, _, test = fullname.partition("::")
    return f"{Path(path).name}::{test}"


def records_from_run(
    run: dict, date: str, commit: str, machine: str, sizes: str, complete: bool, load: float | None
) -> list[Record]:
    """The history rows of one pytest-benchmark JSON document, sorted by name."""
    rows = [
        Record(
            date,
            commit,
            machine,
            sizes,
            complete,
            load,
            short_name(b["fullname"]),
            float(b["stats"]["median"]),
            float(b["stats"]["iqr"]),
            int(b["stats"]["rounds"]),
        )
        for b in run.get("benchmarks", [])
    ]
    return sorted(rows, key=lambda r: r.benchmark)


def read(path: Path) -> list[Record]:
    """Every row of a history file (none when it does not exist yet)."""
    if not Path(path).exists():
        return []
    with open(path, newline="") as handle:
        return [
            Record(
                row["date"],
                row["commit"],
                row["machine"],
                row["sizes"],
                row["complete"] == "1",
                float(row["load"]) if row["load"] else None,
                row["benchmark"],
                float(row["median_s"]),
                float(row["iqr_s"]),
                int(row["rounds"]),
            )
            for row in csv.DictReader(handle)
        ]


def _csv(records: list[Record], header: bool) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(COLUMNS)
    for r in records:
        # 6 significant digits: run-to-run noise is in the 2nd or 3rd.
        writer.writerow(
            [
                r.date,
                r.commit,
                r.machine,
                r.sizes,
                int(r.complete),
                "" if r.load is None else f"{r.load:g}",
                r.benchmark,
                f"{r.median:.6g}",
                f"{r.iqr:.6g}",
                r.rounds,
            ]
        )
    return out.getvalue()


def append(path: Path, records: list[Record]) -> None:
    """Add rows at the end, atomically (a complete new file replaces the old)."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(old + _csv(records, header=not old))
    tmp.replace(path)


def runs(records: list[Record]) -> list[tuple[str, str]]:
    """The distinct runs ``(date, commit)``, oldest first."""
    return sorted({r.run for r in records})


# -- migration of the raw runs saved before the history -----------------------

_SAVED = re.compile(r"bench-(?P<stamp>\d{8}T\d{6})-(?P<commit>[^/]+)\.json$")


def stamp_date(stamp: str) -> str:
    """``20261127T213429`` -> ``2026-11-27T21:34:29Z``."""
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"


def migrate(path: Path) -> list[Record]:
    """The history rows of a raw run saved as ``bench-<stamp>-<commit>.json``.

    Date and commit come from the name (what the run was known by), the
    machine from the JSON with numpy's version unknown (``?``): those runs
    did not record it, so they form their own series and are never the
    baseline of a run that did. Load average: unknown.
    """
    found = _SAVED.search(str(path))
    if found is None:
        raise ValueError(f"{path}: not a saved run (bench-<stamp>-<commit>.json)")
    run = json.loads(Path(path).read_text())
    return records_from_run(
        run,
        stamp_date(found["stamp"]),
        found["commit"],
        run_fingerprint(run),
        run.get("kalib_sizes", UNKNOWN),
        not run.get("kalib_failed", False),
        None,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="migrate raw make-bench runs into the history")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("migrate", help="append raw runs (oldest first) to the history")
    cmd.add_argument("runs", nargs="+", type=Path)
    cmd.add_argument("--history", type=Path, default=RESULTS / HISTORY)
    args = parser.parse_args(argv)
    known = set(runs(read(args.history)))
    for path in sorted(args.runs, key=lambda p: p.name):
        records = migrate(path)
        if records and records[0].run in known:
            print(f"{path.name}: already in {args.history.name}", file=sys.stderr)
            continue
        append(args.history, records)
        print(f"{path.name}: {len(records)} benchmarks appended to {args.history}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
