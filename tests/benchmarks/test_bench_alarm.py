"""The nightly benchmark alarm (benchmarks/regression.py, benchmarks/run_bench.py).

Doctored histories: the alarm must fire on a real step slowdown and on a slow
drift, and stay quiet on changes within the noise the history has seen,
below the absolute floor, across machine fingerprints or workload sizes, and
when the one re-run shows the slowdown was noise.
"""

import itertools
import json
import sys
import time
from pathlib import Path

import pytest
from repo_paths import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import history
import history_page
import regression
import run_bench
from history import Record

MS = 1e-3
NAME = "bench_a.py::test_rake[1e5]"


def rec(i, median, iqr=0.0, machine="M", sizes="1e3,1e5", complete=True, name=NAME):
    """The ``i``-th run's row (run i is dated i hours after the first)."""
    date = f"2026-01-{1 + i // 24:02d}T{i % 24:02d}:00:00Z"
    return Record(date, f"c{i:06d}", machine, sizes, complete, None, name, median, iqr, 100)


def series(medians, iqr_fraction=0.01, **kwargs):
    return [rec(i, m, iqr_fraction * m, **kwargs) for i, m in enumerate(medians)]


def verdict(history_rows, new):
    [v] = [v for v in regression.judge(history_rows, [new]) if v.name == new.benchmark]
    return v


QUIET = series([1.00 * MS, 1.02 * MS, 0.98 * MS, 1.01 * MS, 0.99 * MS], iqr_fraction=0.03)


# -- the rule ---------------------------------------------------------------


def test_fires_on_a_real_step_and_not_on_a_small_one():
    v = verdict(QUIET, rec(5, 1.5 * MS, 0.05 * MS))
    assert v.status == "SLOWER" and v.alarm
    assert v.baseline == pytest.approx(1.00 * MS) and v.runs == 5
    assert v.ratio == pytest.approx(1.5)
    # 20% above the baseline is the relative threshold here (the spread is smaller).
    assert verdict(QUIET, rec(5, 1.19 * MS, 0.03 * MS)).status == "ok"
    assert verdict(QUIET, rec(5, 1.21 * MS, 0.03 * MS)).status == "SLOWER"
    assert verdict(QUIET, rec(5, 0.80 * MS, 0.03 * MS)).status == "faster"


def test_quiet_on_changes_within_the_noise_seen():
    # Runs on a shared machine scatter from run to run: 2 x MAD = 40% of the baseline.
    noisy = series([1.0 * MS, 1.4 * MS, 0.8 * MS, 1.3 * MS, 1.0 * MS], iqr_fraction=0.1)
    v = verdict(noisy, rec(5, 1.45 * MS, 0.1 * MS))
    assert v.status == "ok" and v.spread == pytest.approx(0.4)
    assert v.ratio > 1.2  # the old 20%-of-the-last-run rule raised the alarm here
    assert verdict(noisy, rec(5, 1.85 * MS, 0.1 * MS)).status == "SLOWER"
    # A run whose own rounds scatter widely cannot prove a 50% slowdown either;
    # but the spread is relative: a slowdown that scales the rounds' IQR with
    # the median (here 16x, IQR 68% of it) does not widen its own tolerance.
    assert verdict(QUIET, rec(5, 1.5 * MS, 0.5 * MS)).status == "ok"
    assert verdict(QUIET, rec(5, 2.1 * MS, 0.5 * MS)).status == "SLOWER"
    assert verdict(QUIET, rec(5, 16 * MS, 0.68 * 16 * MS)).status == "SLOWER"


def test_quiet_below_the_absolute_floor():
    tiny = series([2e-6] * 5, iqr_fraction=0.05)
    assert verdict(tiny, rec(5, 4e-6)).status == "ok"  # 2x, but 2 µs
    assert verdict(tiny, rec(5, 40e-6)).status == "ok"  # 20x, still 38 µs
    small = series([100e-6] * 5, iqr_fraction=0.05)
    assert verdict(small, rec(5, 200e-6)).status == "SLOWER"  # 2x and 100 µs
    assert regression.Rule().floor == 50e-6
    assert verdict(tiny, rec(5, 4e-6)).baseline == pytest.approx(2e-6)


def test_quiet_across_machine_fingerprints_and_workload_sizes():
    new = rec(5, 3 * MS, machine="other CPU")
    assert verdict(QUIET, new).status == "new"
    assert verdict(QUIET, rec(5, 3 * MS)).status == "SLOWER"  # same numbers, same machine
    # A quick run (1e3,1e5) is not the baseline of a nightly one (1e3,1e5,1e6).
    assert verdict(QUIET, rec(5, 3 * MS, sizes="1e3,1e5,1e6")).status == "new"


def test_a_run_with_failed_benchmarks_is_never_the_baseline():
    failed = [rec(5 + i, 0.1 * MS, complete=False) for i in range(3)]
    # With the failed runs as baselines the median of the last 5 would be 0.1 ms.
    v = verdict(QUIET + failed, rec(8, 1.0 * MS, 0.03 * MS))
    assert v.status == "ok" and v.baseline == pytest.approx(1.0 * MS)


def test_fires_on_a_slow_drift_and_restarts_after_reporting_it():
    # +2% a run: each run is only 6% above the median of the 5 before it.
    verdicts = regression.judge_series(series([MS * 1.02**i for i in range(30)]))
    assert "SLOWER" not in [v.status for v in verdicts]
    drift = [i for i, v in enumerate(verdicts) if v.status == "DRIFT"]
    # The first: 1.02^12 > 1.2 x 1.02^2 (the reference: the median of runs 0-4); the
    # reference then restarts at run 12 (median of runs 12-16: 1.02^14).
    assert drift == [12, 24]
    assert verdicts[12].reference == pytest.approx(MS * 1.02**2)
    assert verdicts[24].reference == pytest.approx(MS * 1.02**14)


def test_an_accepted_step_stops_the_alarm_once_it_is_the_baseline():
    verdicts = regression.judge_series(series([MS] * 10 + [2 * MS] * 10))
    # SLOWER while most of the last 5 runs are at the old level; then the new
    # level is the baseline, and the drift reference restarted at the flagged runs.
    assert [v.status for v in verdicts] == ["new"] + ["ok"] * 9 + ["SLOWER"] * 3 + ["ok"] * 7


def test_gone_benchmarks_are_listed():
    other = [rec(i, MS, name="bench_b.py::test_gone") for i in range(5)]
    verdicts = regression.judge(QUIET + other, [rec(5, MS)])
    assert {v.name: v.status for v in verdicts} == {NAME: "ok", "bench_b.py::test_gone": "gone"}


# -- the re-run of the suspects -----------------------------------------------


def bench_json(medians: dict[str, float], iqr=0.0001, cpu="test cpu") -> dict:
    """A pytest-benchmark document with the given medians (seconds)."""
    return {
        "machine_info": {"cpu": {"brand_raw": cpu, "count": 2}, "python_version": "3.11"},
        "benchmarks": [
            {
                "name": name.split("::")[-1],
                "fullname": name,
                "stats": {"median": m, "iqr": iqr, "rounds": 10},
            }
            for name, m in medians.items()
        ],
    }


FULL = "benchmarks/" + NAME
OTHER = "benchmarks/bench_b.py::test_jkn[1e3]"
HISTORY = [rec(i, 10 * MS, 0.1 * MS) for i in range(5)] + [
    rec(i, 2 * MS, 0.1 * MS, name="bench_b.py::test_jkn[1e3]") for i in range(5)
]


def rows(run):
    return history.records_from_run(run, "2026-02-01T00:00:00Z", "new", "M", "1e3,1e5", True, None)


def medians(run):
    return {b["fullname"]: b["stats"]["median"] for b in run["benchmarks"]}


def never_rerun(names):
    raise AssertionError(f"nothing should be re-run, asked for {names}")


def test_alarm_fires_when_the_rerun_confirms():
    asked = []

    def rerun(names):
        asked.extend(names)
        return bench_json({name: 14.7 * MS for name in names})  # still slow

    run = bench_json({FULL: 15 * MS, OTHER: 2 * MS})
    saved, verdicts = regression.check(run, rows, HISTORY, rerun)
    assert asked == [FULL]
    assert [v.name for v in verdicts if v.alarm] == [NAME]
    assert saved["kalib_rerun"] == [FULL]
    assert medians(saved)[FULL] == pytest.approx(14.7 * MS)  # the faster


def test_alarm_quiet_when_the_rerun_shows_noise():
    def rerun(names):
        return bench_json({name: 10.2 * MS for name in names})

    saved, verdicts = regression.check(
        bench_json({FULL: 15 * MS, OTHER: 2 * MS}), rows, HISTORY, rerun
    )
    assert {v.status for v in verdicts} == {"ok"}
    assert medians(saved)[FULL] == pytest.approx(10.2 * MS)


def test_nothing_rerun_on_a_clean_run():
    _, verdicts = regression.check(
        bench_json({FULL: 10 * MS, OTHER: 2 * MS}), rows, HISTORY, never_rerun
    )
    assert [v.ratio for v in verdicts] == [1.0, 1.0]


def test_table_lists_now_baseline_ratio_and_status():
    verdicts = regression.judge(QUIET, [rec(5, 1.5 * MS, 0.05 * MS)])
    table = regression.format_table(verdicts)
    assert table.splitlines()[0].split() == [
        "benchmark",
        "median",
        "now",
        "baseline",
        "ratio",
        "spread",
        "status",
    ]
    assert NAME in table and "1.5 ms" in table and "1 ms" in table
    assert "1.50" in table and "SLOWER" in table


# -- make bench end to end ------------------------------------------------------

TINY_SUITE = """
def test_tiny(benchmark):
    benchmark(sum, range(200_000))
"""


@pytest.fixture
def tiny_bench(tmp_path):
    bench_dir = tmp_path / "suite"
    bench_dir.mkdir()
    (bench_dir / "bench_tiny.py").write_text(TINY_SUITE)
    return bench_dir, tmp_path / "results"


def run_cli(bench_dir, results):
    return run_bench.main(
        [
            "--quick",
            "--bench-dir",
            str(bench_dir),
            "--results-dir",
            str(results),
            "--page",
            str(results / "page.html"),
            "--",
            "--benchmark-min-rounds=3",
            "--benchmark-max-time=0.02",
        ]
    )


def doctor(results: Path, factor: float, copies: int = 5) -> None:
    """Append ``copies`` doctored runs: the latest run's rows times ``factor``."""
    rows_ = history.read(results / history.HISTORY)
    latest = [r for r in rows_ if r.run == max(r.run for r in rows_)]
    for i in range(copies):
        date = f"{latest[0].date[:-1]}.{i}Z"  # after the latest, before the next run
        history.append(
            results / history.HISTORY,
            [
                Record(
                    date,
                    "doctored",
                    r.machine,
                    r.sizes,
                    True,
                    None,
                    r.benchmark,
                    r.median * factor,
                    r.iqr * factor,
                    r.rounds,
                )
                for r in latest
            ],
        )


@pytest.fixture
def minute_apart_runs(monkeypatch):
    """Stamp each run_bench run a minute after the one before. A run is told
    apart by its (date, commit), dated to the second, and two runs of the
    tiny suite at one commit often fall within the same second: they would
    merge into one run of the history."""
    real_gmtime, minutes = time.gmtime, itertools.count()
    start = 1_767_225_600  # 2026-01-01T00:00:00Z
    monkeypatch.setattr(
        run_bench.time, "gmtime", lambda *_: real_gmtime(start + 60 * next(minutes))
    )


@pytest.mark.slow
def test_make_bench_end_to_end(tiny_bench, minute_apart_runs, capsys):
    """run_bench.main on a tiny suite: history, last raw run, page, exit codes."""
    bench_dir, results = tiny_bench
    assert run_cli(bench_dir, results) == 0  # first run: the baseline starts
    recorded = history.read(results / history.HISTORY)
    assert [r.benchmark for r in recorded] == ["bench_tiny.py::test_tiny"]
    assert recorded[0].machine.endswith(f"numpy {history.numpy_version()}")
    assert "this run starts the baseline" in capsys.readouterr().out
    doctor(results, 1 / 20)  # the history claims 20x faster
    assert run_cli(bench_dir, results) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "test_tiny (SLOWER)" in out
    assert len(history.runs(history.read(results / history.HISTORY))) == 7
    assert len(list((results / "last").glob("bench-*.json"))) == 1  # only the last raw run
    page = (results / "page.html").read_text()
    assert page.count("<svg") == 1 and history_page.ALARM_COLOUR in page
    doctor(results, 20)  # the history claims 20x slower
    assert run_cli(bench_dir, results) == 0
    assert "REGRESSION" not in capsys.readouterr().out


# -- the history file ------------------------------------------------------------


def test_migrate_a_saved_raw_run_and_refuse_it_twice(tmp_path, capsys):
    run = bench_json({FULL: 0.0123456789, OTHER: 2 * MS}, cpu="AMD EPYC")
    run.update(kalib_sizes="1e3,1e5,1e6", kalib_failed=True)
    raw = tmp_path / "bench-20261127T213429-2794413+dirty.json"
    raw.write_text(json.dumps(run))
    target = tmp_path / "history.csv"
    assert history.main(["migrate", str(raw), "--history", str(target)]) == 0
    first = history.read(target)
    assert [r.benchmark for r in first] == [
        "bench_a.py::test_rake[1e5]",
        "bench_b.py::test_jkn[1e3]",
    ]
    assert first[0] == Record(
        "2026-11-27T21:34:29Z",
        "2794413+dirty",
        "AMD EPYC; 2 cores; Python 3.11; numpy ?",
        "1e3,1e5,1e6",
        False,
        None,
        NAME,
        0.0123457,
        0.0001,
        10,
    )  # 6 significant digits
    history.main(["migrate", str(raw), "--history", str(target)])
    assert "already in history.csv" in capsys.readouterr().err
    assert history.read(target) == first


def test_kernel_scaling_reads_the_latest_run_of_the_history(tmp_path):
    def row(i, name, median):
        return Record(f"2026-01-0{i}T00:00:00Z", "c", "M", "s", True, None, name, median, 0, 1)

    history.append(
        tmp_path / "history.csv",
        [
            row(1, "bench_calibrate.py::test_rake[1e3]", 9.0),
            row(2, "bench_calibrate.py::test_rake[1e3]", 1.0),
            row(2, "bench_calibrate.py::test_rake[1e5]", 2.0),
            row(2, "bench_distances.py::test_calibrate[1e3-logit]", 3.0),
            row(2, "bench_distances.py::test_calibrate[1e5-logit]", 4.0),
            row(2, "bench_scale.py::test_scale", 5.0),
        ],
    )
    assert regression.kernel_scaling(tmp_path) == {
        "rake": {1_000: 1.0, 100_000: 2.0},
        "calibrate[logit]": {1_000: 3.0, 100_000: 4.0},
    }


def test_no_raw_run_is_tracked_and_the_last_one_is_ignored():
    import subprocess

    try:
        tracked = subprocess.run(
            ["git", "ls-files", "benchmarks/results"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    assert "benchmarks/results/history.csv" in tracked
    assert not [path for path in tracked if Path(path).name.startswith("bench-")]
    generated = ["benchmarks/results/last/bench-x.json", "benchmarks/history.html"]
    ignored = subprocess.run(
        ["git", "check-ignore", *generated], cwd=REPO, capture_output=True, text=True
    ).stdout.split()
    assert ignored == generated
    # The committed history parses, and each run's rows share one machine and sizes.
    rows_ = history.read(REPO / "benchmarks" / "results" / history.HISTORY)
    assert len({(r.run, r.machine, r.sizes) for r in rows_}) == len(history.runs(rows_)) >= 3


# -- what the alarm compares must be comparable: the workloads are fixed ------


def test_workloads_are_deterministic_and_consistent():
    from workloads import NACE_GROUPS, make_workload

    first = make_workload(1_000)
    make_workload.cache_clear()
    again = make_workload(1_000)
    assert first.fingerprint() == again.fingerprint()
    assert first.fingerprint() != make_workload(1_001).fingerprint()
    # Both margins describe the same population, and every category has respondents.
    assert first.sector_size_totals.sum() == pytest.approx(first.nace_totals.sum(), rel=1e-12)
    assert first.base_weight.sum() == pytest.approx(first.nace_totals.sum(), rel=1e-12)
    assert set(first.nace.tolist()) == set(range(len(NACE_GROUPS)))
    assert set(first.stratum.tolist()) == set(range(8))
    # Strata follow the quota: 20% public.
    assert first.sector.mean() == pytest.approx(0.20, abs=0.005)


def test_peer_targets_treat_a_capped_peer_as_a_lower_bound():
    import peers

    row = {
        "kalib": {"seconds": 1.0, "peak_mb": 100.0},
        "R survey": {"capped": True},
        "svy": {"seconds": 30.0, "peak_mb": 900.0},
    }
    text = peers.targets_text({"bootstrap": {"1e5": row}}, cap=120.0)
    assert "kalib >= 300x R survey: > 120x (peer capped) — undecided" in text
    assert "kalib >= 20x svy: 30x — met" in text
    text = peers.targets_text({"bootstrap": {"1e5": row}}, cap=600.0)
    assert "kalib >= 300x R survey: > 600x (peer capped) — met" in text
