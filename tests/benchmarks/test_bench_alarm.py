"""The nightly benchmark alarm (benchmarks/regression.py, benchmarks/run_bench.py).

The alarm must fire when a benchmark's median is more than 20% above the
previous saved run's and the one re-run confirms it, and must stay quiet on a
clean comparison or when the re-run shows the slowdown was noise.
"""
import json
import sys
from pathlib import Path

import pytest

from repo_paths import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import regression  # noqa: E402
import run_bench  # noqa: E402


def bench_json(medians: dict[str, float], cpu="test cpu") -> dict:
    """A pytest-benchmark document with the given medians (seconds)."""
    return {"machine_info": {"cpu": {"brand_raw": cpu}},
            "benchmarks": [{"name": name.split("::")[-1], "fullname": name,
                            "stats": {"median": m, "min": m, "mean": m}, "extra_info": {}}
                           for name, m in medians.items()]}


NOW = {"benchmarks/bench_a.py::test_rake[1e5]": 0.010,
       "benchmarks/bench_a.py::test_rake[1e6]": 0.100,
       "benchmarks/bench_b.py::test_jkn[1e3]": 0.002}


def never_rerun(names):
    raise AssertionError(f"nothing should be re-run, asked for {names}")


def test_alarm_fires_on_doctored_previous_and_confirming_rerun():
    # The previous run is doctored to be 1.5x faster for one benchmark.
    before = dict(NOW)
    before["benchmarks/bench_a.py::test_rake[1e5]"] = 0.010 / 1.5
    asked = []

    def rerun(names):
        asked.extend(names)
        return bench_json({name: NOW[name] * 0.98 for name in names})  # still slow

    saved, rows = regression.check(bench_json(NOW), bench_json(before), rerun)
    slower = [row.name for row in rows if row.slower]
    assert asked == ["benchmarks/bench_a.py::test_rake[1e5]"]
    assert slower == ["benchmarks/bench_a.py::test_rake[1e5]"]
    assert saved["kalib_rerun"] == asked
    # The saved run keeps the faster of the two medians.
    assert regression.medians(saved)["benchmarks/bench_a.py::test_rake[1e5]"] == \
        pytest.approx(0.0098)


def test_alarm_quiet_when_rerun_shows_noise():
    before = {name: m / 1.5 for name, m in NOW.items()}

    def rerun(names):  # the re-run is back at the old speed
        return bench_json({name: before[name] * 1.05 for name in names})

    _, rows = regression.check(bench_json(NOW), bench_json(before), rerun)
    assert not any(row.slower for row in rows)
    assert {row.status for row in rows} == {"ok"}


def test_alarm_quiet_on_clean_previous():
    _, rows = regression.check(bench_json(NOW), bench_json(NOW), never_rerun)
    assert not any(row.slower for row in rows)
    assert [row.ratio for row in rows] == [1.0, 1.0, 1.0]


def test_threshold_edges_and_new_or_gone_benchmarks():
    assert not regression.Row("x", now=1.20, before=1.0).slower
    assert regression.Row("x", now=1.21, before=1.0).slower
    assert regression.Row("x", now=1.0, before=2.0).status == "faster"
    rows = regression.compare({"new": 1.0, "kept": 1.0}, {"gone": 1.0, "kept": 1.0})
    assert {r.name: r.status for r in rows} == {"gone": "gone", "kept": "ok", "new": "new"}
    assert not any(r.slower for r in rows)


def test_table_lists_now_before_and_ratio():
    rows = regression.compare({"b::t[1e5]": 0.003}, {"b::t[1e5]": 0.002})
    table = regression.format_table(rows)
    assert table.splitlines()[0].split() == ["benchmark", "median", "now", "median",
                                             "before", "ratio"]
    assert "b::t[1e5]" in table and "3 ms" in table and "2 ms" in table
    assert "1.50" in table and "SLOWER" in table


TINY_SUITE = '''
def test_tiny(benchmark):
    benchmark(sorted, list(range(2000, 0, -1)))
'''


@pytest.fixture
def tiny_bench(tmp_path):
    bench_dir = tmp_path / "suite"
    bench_dir.mkdir()
    (bench_dir / "bench_tiny.py").write_text(TINY_SUITE)
    return bench_dir, tmp_path / "results"


def run_cli(bench_dir, results):
    return run_bench.main(["--quick", "--bench-dir", str(bench_dir), "--results-dir",
                           str(results), "--", "--benchmark-min-rounds=3",
                           "--benchmark-max-time=0.02"])


def doctor_latest(results: Path, factor: float) -> None:
    """Scale every median of the latest saved run by ``factor``."""
    latest = regression.saved_runs(results)[-1]
    run = json.loads(latest.read_text())
    for bench in run["benchmarks"]:
        bench["stats"]["median"] *= factor
    latest.write_text(json.dumps(run))


def test_make_bench_alarm_end_to_end(tiny_bench, capsys):
    """run_bench.main on a tiny suite: baseline, doctored history, exit codes."""
    bench_dir, results = tiny_bench
    assert run_cli(bench_dir, results) == 0          # first run: the baseline
    assert len(regression.saved_runs(results)) == 1
    doctor_latest(results, 1 / 20)                   # history claims 20x faster
    assert run_cli(bench_dir, results) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "test_tiny" in out and "median before" in out
    assert len(regression.saved_runs(results)) == 2
    doctor_latest(results, 20)                       # history claims 20x slower
    assert run_cli(bench_dir, results) == 0
    assert "REGRESSION" not in capsys.readouterr().out


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
    assert (first.base_weight.sum() == pytest.approx(first.nace_totals.sum(), rel=1e-12))
    assert set(first.nace.tolist()) == set(range(len(NACE_GROUPS)))
    assert set(first.stratum.tolist()) == set(range(8))
    # Strata follow the quota: 20% public.
    assert first.sector.mean() == pytest.approx(0.20, abs=0.005)


def test_peer_targets_treat_a_capped_peer_as_a_lower_bound():
    import peers

    row = {"kalib": {"seconds": 1.0, "peak_mb": 100.0},
           "R survey": {"capped": True}, "svy": {"seconds": 30.0, "peak_mb": 900.0}}
    text = peers.targets_text({"bootstrap": {"1e5": row}}, cap=120.0)
    assert "kalib >= 300x R survey: > 120x (peer capped) — undecided" in text
    assert "kalib >= 20x svy: 30x — met" in text
    text = peers.targets_text({"bootstrap": {"1e5": row}}, cap=600.0)
    assert "kalib >= 300x R survey: > 600x (peer capped) — met" in text


def test_a_run_with_failed_benchmarks_is_never_the_baseline(tmp_path):
    complete, failed = bench_json(NOW), bench_json({name: m / 10 for name, m in NOW.items()})
    failed["kalib_failed"] = True
    regression.save(complete, tmp_path / "bench-20260101T000000-aaaaaaa.json")
    regression.save(failed, tmp_path / "bench-20260102T000000-bbbbbbb.json")
    assert [p.name[:15] for p in regression.saved_runs(tmp_path)] == \
        ["bench-20260101T", "bench-20260102T"]
    baseline = regression.saved_runs(tmp_path, complete_only=True)[-1]
    assert baseline.name.startswith("bench-20260101T")
    _, rows = regression.check(bench_json(NOW), regression.load(baseline), never_rerun)
    assert not any(row.slower for row in rows)


def test_a_quick_run_is_not_the_baseline_of_a_nightly_run(tmp_path):
    quick, nightly = bench_json(NOW), bench_json(NOW)
    quick["kalib_sizes"], nightly["kalib_sizes"] = "1e3,1e5", "1e3,1e5,1e6"
    regression.save(nightly, tmp_path / "bench-20260101T000000-aaaaaaa.json")
    regression.save(quick, tmp_path / "bench-20260102T000000-bbbbbbb.json")
    latest = regression.saved_runs(tmp_path, sizes="1e3,1e5,1e6")[-1]
    assert latest.name.startswith("bench-20260101T")
    assert regression.saved_runs(tmp_path, sizes="1e3,1e5")[-1].name.startswith("bench-20260102T")
