"""Nightly benchmarks (``make bench``): run the suites, judge, record, draw.

Runs every ``benchmarks/bench_*.py`` suite with pytest-benchmark at n = 1e3,
1e5 and 1e6 (``--quick``: 1e3 and 1e5 only) and judges each median against
the earlier runs of the same benchmark on the same machine fingerprint
(``regression.py``: the median of the last 5 runs, their spread, an absolute
floor, a drift check). Suspects are run once more, keeping the faster median.
Then it appends the run's rows to ``benchmarks/results/history.csv``
(committed), keeps the raw pytest-benchmark JSON of this run only in
``benchmarks/results/last/`` (ignored by git), renders
``benchmarks/history.html`` and prints the table (benchmark, median now,
baseline, ratio, spread, status). Exit code 2 when a benchmark failed (the
others are still judged and recorded, but such a run is never a baseline),
1 when a benchmark is still SLOWER or DRIFT after its re-run, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import history  # noqa: E402
import history_page  # noqa: E402
import regression  # noqa: E402

FULL_SIZES = "1e3,1e5,1e6"
QUICK_SIZES = "1e3,1e5"
LAST = "last"  # results/last/: the latest raw run, ignored by git
PREFIX = "bench-"


def run_suites(bench_dir: Path, json_path: Path, sizes: str, selection=(), extra_args=()) -> int:
    """Run the pytest-benchmark suites (or the node ids in ``selection``)."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(ROOT),
        "-o",
        "python_files=bench_*.py",
        "-o",
        "python_functions=test_* bench_*",
        "--benchmark-only",
        "--benchmark-sort=fullname",
        f"--benchmark-json={json_path}",
        *extra_args,
    ]
    cmd += list(selection) or [str(bench_dir)]
    env = dict(os.environ, KALIB_BENCH_SIZES=sizes)
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def parse_args(argv=None):
    rule = regression.Rule()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"sizes {QUICK_SIZES} only (default: {FULL_SIZES})"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=rule.threshold,
        help="relative slowdown that may raise the alarm (default: %(default)s)",
    )
    parser.add_argument(
        "--floor-us",
        type=float,
        default=rule.floor * 1e6,
        help="changes smaller than this many µs never raise it (default: %(default)s)",
    )
    parser.add_argument("--bench-dir", type=Path, default=HERE)
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=HERE / "results",
        help="history.csv, last/ and the peer runs (default: %(default)s)",
    )
    parser.add_argument("--page", type=Path, default=history_page.PAGE)
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    return parser.parse_args(argv)


def load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def keep_last(run: dict, directory: Path, name: str) -> Path:
    """Write the raw run as ``directory/name`` (temp + rename) and remove the
    earlier raw runs there: only the latest is kept."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    tmp = path.with_name(name + ".tmp")
    tmp.write_text(json.dumps(run, indent=1))
    tmp.replace(path)
    for old in directory.glob(f"{PREFIX}*.json"):
        if old != path:
            old.unlink()
    return path


def main(argv=None) -> int:
    args = parse_args(argv)
    rule = regression.Rule(threshold=args.threshold, floor=args.floor_us * 1e-6)
    sizes = os.environ.get("KALIB_BENCH_SIZES") or (QUICK_SIZES if args.quick else FULL_SIZES)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    history_path = args.results_dir / history.HISTORY
    earlier = history.read(history_path)
    loads = [load_average()]

    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "run.json"
        code = run_suites(args.bench_dir, first, sizes, extra_args=args.pytest_args)
        if not first.exists():
            print(
                f"run_bench: the benchmark suites failed (pytest exit code {code}); nothing saved",
                file=sys.stderr,
            )
            return 2
        loads.append(load_average())
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        commit = regression.git_commit()
        raw = json.loads(first.read_text())
        machine = history.run_fingerprint(raw, history.numpy_version())
        load = max((x for x in loads if x is not None), default=None)

        def rows(run):
            return history.records_from_run(
                run, history.stamp_date(stamp), commit, machine, sizes, code == 0, load
            )

        def rerun(names):
            again = Path(tmp) / "rerun.json"
            print(
                f"run_bench: {len(names)} benchmark(s) flagged; running them once more",
                file=sys.stderr,
            )
            if run_suites(args.bench_dir, again, sizes, names, args.pytest_args) != 0:
                return {"benchmarks": []}
            return json.loads(again.read_text())

        run, verdicts = regression.check(raw, rows, earlier, rerun, rule)
    run["kalib_failed"], run["kalib_sizes"] = code != 0, sizes
    last = keep_last(run, args.results_dir / LAST, f"{PREFIX}{stamp}-{commit}.json")
    history.append(history_path, rows(run))
    history_page.write(args.results_dir, args.page, rule)

    print()
    print(regression.format_table(verdicts))
    print()
    baselines = max((v.runs for v in verdicts), default=0)
    print(f"recorded in {history_path} ({machine}); raw run {last}; page {args.page}")
    if not baselines:
        print(
            "no earlier complete run on this machine with these sizes: this run starts "
            "the baseline"
        )
    flagged = [v for v in verdicts if v.alarm]
    cores = os.cpu_count()
    if load is not None and cores and load > cores:
        print(
            f"warning: load average up to {load:g} on {cores} cores: the machine was "
            "shared during the run"
            + (
                "; run make bench again on a quiet machine before believing the alarm"
                if flagged
                else ""
            )
        )
    if flagged:
        print(
            f"REGRESSION: {len(flagged)} benchmark(s) slower than their history allows "
            "(after one re-run): " + ", ".join(f"{v.name} ({v.status})" for v in flagged)
        )
    if code != 0:
        print(
            f"FAILED: some benchmarks failed (pytest exit code {code}); this run will not "
            "be a baseline"
        )
        return 2
    return 1 if flagged else 0


if __name__ == "__main__":
    raise SystemExit(main())
