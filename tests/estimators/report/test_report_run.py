"""``kalib report`` end to end on the bundled data: outputs, reproducibility,
refusal and atomicity, and the page as headless Chromium renders it."""
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimators.cli import main
from estimators.inference.results import KEYRATE_COLUMNS
from estimators.report import ReportSettings, build_report
from estimators.report.html import published_matches
from estimators.report.pipeline import STEPS
from estimators.surveys.employers import SURVEY
from estimators.surveys.employers.catalog import KEY_RATES

B = 40  # replicates in these tests; the default 1000 is exercised by `make report`

# Two whole report runs in the module's fixture (about 15 s): its tests are slow.
slow = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs with the same seed: the command line (stderr captured, not a
    terminal, so no progress bars) and the Python entry point."""
    root = tmp_path_factory.mktemp("report")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(["report", "--replicates", str(B), "--seed", "7",
                     "--out", str(root / "cli")])
    assert code == 0
    run = build_report(ReportSettings(replicates=B, seed=7, out=root / "api", quiet=True))
    return {"cli": root / "cli", "stderr": stderr.getvalue(), "run": run}


@pytest.fixture(scope="module")
def report_dir(runs):
    return runs["cli"]


@slow
def test_same_seed_gives_byte_identical_keyrates_csv(runs):
    first, second = runs["cli"] / "keyrates.csv", Path(runs["run"].settings.out) / "keyrates.csv"
    assert first.read_bytes() == second.read_bytes()
    frame = pd.read_csv(first)
    assert (frame["se"] > 0).sum() > 0.9 * len(frame)   # replicate SEs, not placeholders


@slow
def test_no_progress_bars_when_stderr_is_not_a_terminal(runs):
    lines = runs["stderr"].splitlines()
    assert len(lines) == 1 and lines[0].startswith("kalib report: ")
    assert "\r" not in runs["stderr"]


@slow
def test_sensitivity_columns_are_the_catalog_estimates_under_each_variant(runs):
    from estimators.inference.catalog import estimate_catalog
    from estimators.surveys.employers import load_register_margins
    run = runs["run"]
    frame = run.page_frame().set_index(["rate", "domain_var", "domain"])
    for column, variant in (("sens_low", "low_public"), ("sens_high", "high_public")):
        design = run.uncalibrated.calibrate(load_register_margins(variant))
        expected = estimate_catalog(design, KEY_RATES, ("all", "sector")).keyrates()
        expected = expected.set_index(["rate", "domain_var", "domain"])["estimate"]
        np.testing.assert_allclose(frame.loc[expected.index, column], expected, rtol=1e-12)
    # the public share moves the whole-sample estimates, not just relabels them
    total = frame.xs("all", level="domain_var")
    assert (total["sens_low"] - total["sens_high"]).abs().max() > 0.005


@slow
def test_keyrates_csv_has_every_rate_and_domain_with_the_cli_columns(report_dir):
    frame = pd.read_csv(report_dir / "keyrates.csv", keep_default_na=False,
                        na_values=[""], dtype={"domain": str})
    assert list(frame.columns) == KEYRATE_COLUMNS
    assert set(frame["rate"]) == {r.id for r in KEY_RATES}
    assert set(frame["domain_var"]) == {"all", "sector", "size_class", "sector*size_class",
                                        "nace_group"}
    total = frame[frame.domain_var == "all"]
    assert len(total) == len(KEY_RATES) and (total["domain"] == "all").all()
    answered = frame["n"] > 0
    assert frame.loc[answered, "estimate"].between(0, 1).all()
    assert frame.loc[~answered, "estimate"].isna().all()
    assert (frame.loc[~answered, "flag"] == "empty").all()
    ok = frame["ci_low"].notna()
    assert (frame.loc[ok, "ci_low"] <= frame.loc[ok, "estimate"]).all()
    assert (frame.loc[ok, "estimate"] <= frame.loc[ok, "ci_high"]).all()


@slow
def test_netcdf_weights_and_replicates_agree_with_the_csv(report_dir):
    import xarray as xr
    frame = pd.read_csv(report_dir / "keyrates.csv", dtype={"domain": str})
    with xr.open_dataset(report_dir / "keyrates.nc") as ds:
        assert set(ds["rate"].values) == {r.id for r in KEY_RATES}
        value = float(ds["values"].sel(rate="trainee_now_rate", domain="all",
                                       statistic="estimate"))
    row = frame[(frame.rate == "trainee_now_rate") & (frame.domain_var == "all")]
    assert value == row["estimate"].iloc[0]
    weights = pd.read_csv(report_dir / "weights.csv")
    assert list(weights.columns) == ["id", "base_weight", "weight"]
    assert weights["id"].is_unique and len(weights) == 1000
    reps = pd.read_parquet(report_dir / "replicate_weights.parquet")
    sidecar = json.loads((report_dir / "replicate_weights.json").read_text())
    assert sidecar["seed"] == 7 and sidecar["method"] == "bootstrap"
    rep_cols = [c for c in reps.columns if c.startswith("rep_")]
    assert len(rep_cols) == B
    np.testing.assert_allclose(reps["weight"], weights["weight"], rtol=1e-12)
    # every replicate is re-raked: its grand total equals the full sample's
    np.testing.assert_allclose(reps[rep_cols].sum(), weights["weight"].sum(), rtol=1e-8)


@slow
def test_run_json_records_inputs_settings_versions_and_step_timings(report_dir):
    record = json.loads((report_dir / "run.json").read_text())
    assert list(record["timings_seconds"]) == list(STEPS)
    assert STEPS == ("load", "validate", "design", "calibrate", "replicate", "estimate",
                     "sensitivity", "analysis", "figures", "page", "write")
    assert record["survey"] == "employers_2017"
    assert all(v >= 0 for v in record["timings_seconds"].values())
    assert record["settings"]["replicates"] == B and record["settings"]["seed"] == 7
    assert {"numpy", "pandas", "kalib", "python"} <= set(record["versions"])
    assert record["inputs"], "no inputs recorded"
    for item in record["inputs"]:
        digest = hashlib.sha256(Path(item["path"]).read_bytes()).hexdigest()
        assert digest == item["sha256"], item["path"]
    assert record["replicates"]["B"] == B
    assert record["replicates"]["converged"] == B


@slow
def test_every_difference_from_a_published_value_is_explained(report_dir):
    frame = pd.read_csv(report_dir / "keyrates.csv", dtype={"domain": str})
    pub = frame[frame["published"].notna()]
    differing = pub[[not published_matches(p, u) for p, u in zip(pub.published, pub.unweighted)]]
    for row in differing.itertuples():
        assert SURVEY.explain(row.rate, row.domain_var, row.domain, "en"), (row.rate, row.domain)
        assert SURVEY.explain(row.rate, row.domain_var, row.domain, "no"), (row.rate, row.domain)


def test_existing_output_is_refused_without_force(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["report", "--out", str(out), "--quiet", "--replicates", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--force" in err
    assert (out / "keep.txt").read_text() == "mine"


def test_bad_margin_fails_with_one_line_and_leaves_nothing(tmp_path, capsys):
    margin = tmp_path / "sector.csv"
    margin.write_text("sector,total\npublic,10000\nprivate,190000\nngo,5000\n")
    out = tmp_path / "out"
    code = main(["report", "--margins", str(margin), "--out", str(out), "--quiet",
                 "--replicates", "5"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "ngo" in err
    assert list(tmp_path.iterdir()) == [margin]


@slow
def test_failure_after_writing_began_leaves_no_partial_output(tmp_path, monkeypatch):
    from estimators.report import pipeline
    from weighting.errors import KalibError

    def broken(self, tmp):
        (tmp / "index.html").write_text("half")
        raise KalibError("disk full")

    monkeypatch.setattr(pipeline.ReportRun, "_write_files", broken)
    old = tmp_path / "out"
    old.mkdir()
    (old / "index.html").write_text("previous report")
    with pytest.raises(KalibError, match="disk full"):
        build_report(ReportSettings(replicates=5, out=old, force=True, quiet=True,
                                    variance="bootstrap"))
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (old / "index.html").read_text() == "previous report"


def chromium_executable() -> str:
    """The Chromium on PATH. Without one the browser test is skipped, unless
    ``KALIB_REQUIRE_BROWSER=1`` (set by ``make test``, which installs it), when
    it fails."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        message = "no chromium or chromium-browser on PATH (make test installs Debian's)"
        if os.environ.get("KALIB_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; KALIB_REQUIRE_BROWSER=1 requires it")
        pytest.skip(message)
    return exe


def _chromium(*args, cwd):
    cmd = [chromium_executable(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--allow-file-access-from-files", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=True)


@slow
@pytest.mark.browser
def test_chromium_renders_every_key_rate_row_and_every_figure(report_dir):
    page = (report_dir / "index.html").resolve()
    dom = _chromium("--dump-dom", page.as_uri(), cwd=report_dir).stdout
    for rate in KEY_RATES:
        assert f'id="rate-{rate.id}--all--all"' in dom, rate.id
    figure_files = sorted(p.stem for p in (report_dir / "figures").glob("*.png"))
    assert len(figure_files) >= 10
    rendered = re.findall(r'<figure id="fig-([^"]+)"><img src="data:image/png;base64,', dom)
    assert sorted(rendered) == figure_files
    for key in ("trainees", "hiring", "reasons", "competence", "accommodation", "nav",
                "disability"):
        assert f"forest_{key}" in figure_files
    shot = report_dir.parent / "screenshot.png"
    _chromium(f"--screenshot={shot}", "--window-size=1280,6000", page.as_uri(),
              cwd=report_dir)
    import matplotlib.image as mpimg
    pixels = mpimg.imread(shot)
    assert pixels.shape[:2] == (6000, 1280)
    assert pixels[..., :3].std() > 0.05          # not a blank page


@pytest.mark.parametrize("required", ["1", None])
def test_a_missing_chromium_skips_or_fails_as_the_environment_says(monkeypatch, required):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    if required is None:
        monkeypatch.delenv("KALIB_REQUIRE_BROWSER", raising=False)
        with pytest.raises(pytest.skip.Exception, match="no chromium"):
            chromium_executable()
    else:
        monkeypatch.setenv("KALIB_REQUIRE_BROWSER", required)
        with pytest.raises(pytest.fail.Exception, match="KALIB_REQUIRE_BROWSER=1 requires it"):
            chromium_executable()
