"""The whole ``kalib report`` run on the bundled surveys.

Read, validate, calibrate to the register margins, 1000 re-calibrated
bootstrap replicates (the report's default), every key rate by sector and
size class with CIs, figures and the HTML page, written to a temporary
directory. One size only: the report is of the surveys as they are.

``test_kalib_report`` is the default run (every bundled survey);
``test_kalib_report_employers`` the employer survey alone (``--survey
employers_2017``, issue 14's target: under 3 s), with the pipeline's step
timings of its last round (``run.json``) in ``extra_info``. Both run in this
process, so their rounds after the first import nothing;
``test_kalib_report_process`` is what a user waits for, ``kalib report`` as
a whole process (start-up and imports included; its CPU seconds, its
worker processes' included, in ``extra_info``).
"""

import json

from bench_startup import kalib_argv, timed_process

from estimators.cli import main


def test_kalib_report(benchmark, tmp_path):
    out = tmp_path / "report"
    argv = ["report", "--out", str(out), "--force", "--quiet"]
    code = benchmark.pedantic(main, args=(argv,), rounds=3, iterations=1, warmup_rounds=0)
    assert code == 0
    assert any(out.rglob("*.html"))


def test_kalib_report_employers(benchmark, tmp_path):
    out = tmp_path / "report"
    argv = ["report", "--survey", "employers_2017", "--out", str(out), "--force", "--quiet"]
    code = benchmark.pedantic(main, args=(argv,), rounds=3, iterations=1, warmup_rounds=0)
    assert code == 0
    run = json.loads((out / "run.json").read_text())
    benchmark.extra_info["steps_seconds"] = run["timings_seconds"]
    benchmark.extra_info["target_seconds"] = 3.0


def test_kalib_report_process(benchmark, tmp_path):
    out = tmp_path / "report"
    timed_process(benchmark, kalib_argv() + ["report", "--out", str(out), "--force", "--quiet"])
    assert (out / "index.html").exists()
