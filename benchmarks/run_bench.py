"""Nightly benchmarks (``make bench``): run the suites, save, compare, alarm.

Runs every ``benchmarks/bench_*.py`` suite with pytest-benchmark at n = 1e3,
1e5 and 1e6 (``--quick``: 1e3 and 1e5 only), saves the JSON as
``benchmarks/results/bench-<UTC date-time>-<commit>.json``, compares each
median with the latest earlier saved run, re-runs the benchmarks that are more
than 20% slower once (keeping the faster median, to rule out noise), prints
the table (benchmark, median now, median before, ratio) and exits with 2 when
a benchmark failed (the others are still saved and compared, but such a run
is never a baseline), 1 when a benchmark is still more than 20% slower,
else 0.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import regression  # noqa: E402

FULL_SIZES = "1e3,1e5,1e6"
QUICK_SIZES = "1e3,1e5"


def run_suites(bench_dir: Path, json_path: Path, sizes: str, selection=(),
               extra_args=()) -> int:
    """Run the pytest-benchmark suites (or the node ids in ``selection``)."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "--rootdir", str(ROOT), "-o", "python_files=bench_*.py",
           "-o", "python_functions=test_* bench_*",
           "--benchmark-only", "--benchmark-sort=fullname",
           f"--benchmark-json={json_path}", *extra_args]
    cmd += list(selection) or [str(bench_dir)]
    env = dict(os.environ, KALIB_BENCH_SIZES=sizes)
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"sizes {QUICK_SIZES} only (default: {FULL_SIZES})")
    parser.add_argument("--threshold", type=float, default=regression.THRESHOLD,
                        help="relative slowdown that raises the alarm (default: %(default)s)")
    parser.add_argument("--bench-dir", type=Path, default=HERE)
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument("pytest_args", nargs="*",
                        help="extra pytest arguments, after --")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    sizes = os.environ.get("KALIB_BENCH_SIZES") or (QUICK_SIZES if args.quick else FULL_SIZES)
    args.results_dir.mkdir(parents=True, exist_ok=True)
    earlier = regression.saved_runs(args.results_dir, complete_only=True, sizes=sizes)
    previous = regression.load(earlier[-1]) if earlier else None

    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "run.json"
        code = run_suites(args.bench_dir, first, sizes, extra_args=args.pytest_args)
        if not first.exists():
            print(f"run_bench: the benchmark suites failed (pytest exit code {code}); "
                  "nothing saved", file=sys.stderr)
            return 2

        def rerun(names):
            again = Path(tmp) / "rerun.json"
            print(f"run_bench: {len(names)} benchmark(s) more than "
                  f"{args.threshold:.0%} slower; running them once more", file=sys.stderr)
            if run_suites(args.bench_dir, again, sizes, names, args.pytest_args) != 0:
                return {"benchmarks": []}
            return regression.load(again)

        run, rows = regression.check(regression.load(first), previous, rerun, args.threshold)
    # A run with failed benchmarks is kept for the record but is never the
    # baseline of a later comparison (see regression.saved_runs).
    run["kalib_failed"] = code != 0
    run["kalib_sizes"] = sizes

    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    out = args.results_dir / f"{regression.PREFIX}{stamp}-{regression.git_commit()}.json"
    regression.save(run, out)

    print()
    print(regression.format_table(rows))
    print()
    if previous is None:
        print(f"saved {out}; no earlier run to compare with")
        return 2 if code != 0 else 0
    print(f"saved {out}; compared with {earlier[-1].name}")
    if not regression.same_machine(run, previous):
        print("warning: the earlier run was on a different CPU; ratios compare machines")
    slower = [row for row in rows if row.slower]
    if slower:
        print(f"REGRESSION: {len(slower)} benchmark(s) more than {args.threshold:.0%} slower "
              f"than the previous run (after one re-run): "
              + ", ".join(row.name for row in slower))
    if code != 0:
        print(f"FAILED: some benchmarks failed (pytest exit code {code}); this run will not "
              "be a baseline")
        return 2
    return 1 if slower else 0


if __name__ == "__main__":
    raise SystemExit(main())
