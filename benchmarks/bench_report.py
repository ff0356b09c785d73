"""The whole ``kalib report`` run on the bundled employer survey (n = 1000).

Read, validate, calibrate to the register margins, 1000 re-calibrated
bootstrap replicates (the report's default), every key rate by sector and
size class with CIs, figures and the HTML page, written to a temporary
directory. One size only: the report is of the survey as it is.
"""
from estimators.cli import main


def test_kalib_report(benchmark, tmp_path):
    out = tmp_path / "report"
    argv = ["report", "--out", str(out), "--force", "--quiet"]
    code = benchmark.pedantic(main, args=(argv,), rounds=3, iterations=1, warmup_rounds=0)
    assert code == 0
    assert any(out.rglob("*.html"))
