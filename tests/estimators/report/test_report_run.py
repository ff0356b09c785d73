"""``kalib report`` end to end on the bundled data (both surveys, one part
each): outputs, reproducibility, the staff survey's rows against R ``survey``,
its sensitivity columns, refusal and atomicity, and the page as headless
Chromium renders it."""

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reference.ai_staff.r_values import R_RATES, r_value
from scipy import special

from estimators.cli import main
from estimators.inference.catalog import report_round
from estimators.inference.results import KEYRATE_COLUMNS
from estimators.report import ReportSettings, build_report
from estimators.report.html import published_matches
from estimators.report.pipeline import REPORT_COLUMNS, STEPS
from estimators.surveys import ai_staff, employers
from estimators.surveys.ai_staff.catalog import SOURCE_IDS as STAFF_IDS
from estimators.surveys.employers.catalog import KEY_RATES

B = 40  # replicates in these tests; the default 1000 is exercised by `make report`
STAFF = ai_staff.SURVEY.catalog
ROLES = ("general_manager", "job_consultant", "programme_leader", "work_production_leader")
# Two whole report runs in the module's fixture (about 25 s): its tests are slow.
slow = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two runs with the same seed: the command line (stderr captured, not a
    terminal, so no progress bars) and the Python entry point."""
    root = tmp_path_factory.mktemp("report")
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = main(["report", "--replicates", str(B), "--seed", "7", "--out", str(root / "cli")])
    assert code == 0
    run = build_report(ReportSettings(replicates=B, seed=7, out=root / "api", quiet=True))
    return {"cli": root / "cli", "stderr": stderr.getvalue(), "run": run}


@pytest.fixture(scope="module")
def report_dir(runs):
    return runs["cli"]


@pytest.fixture(scope="module")
def keyrates(report_dir):
    return pd.read_csv(
        report_dir / "keyrates.csv", keep_default_na=False, na_values=[""], dtype={"domain": str}
    )


@pytest.fixture(scope="module")
def page(report_dir):
    return (report_dir / "index.html").read_text(encoding="utf-8")


@slow
def test_same_seed_gives_byte_identical_keyrates_csv(runs):
    first, second = runs["cli"] / "keyrates.csv", Path(runs["run"].settings.out) / "keyrates.csv"
    assert first.read_bytes() == second.read_bytes()
    frame = pd.read_csv(first)
    answered = frame[frame["n"] > 0]
    assert (answered["se"] > 0).mean() > 0.95  # real SEs, not placeholders


@slow
def test_no_progress_bars_when_stderr_is_not_a_terminal(runs):
    lines = runs["stderr"].splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "kalib report: 68 key rates (employers_2017 44, ai_staff_2017 24)"
    )
    assert "\r" not in runs["stderr"]


@slow
def test_keyrates_csv_has_every_rate_and_domain_and_the_survey_last(keyrates):
    assert list(keyrates.columns) == REPORT_COLUMNS == KEYRATE_COLUMNS + ["survey"]
    by_survey = dict(tuple(keyrates.groupby("survey")))
    assert set(by_survey) == {"employers_2017", "ai_staff_2017"}
    emp, staff = by_survey["employers_2017"], by_survey["ai_staff_2017"]
    assert set(emp["rate"]) == {r.id for r in KEY_RATES}
    assert set(emp["domain_var"]) == {
        "all",
        "sector",
        "size_class",
        "sector*size_class",
        "nace_group",
    }
    # all 20 ids of section 3.2 (four as two items), overall and by role
    assert {r.split(".")[0] for r in staff["rate"]} == set(STAFF_IDS)
    assert set(staff["rate"]) == {r.id for r in STAFF}
    assert set(staff["domain_var"]) == {"all", "role"}
    assert len(staff) == len(STAFF) * (1 + len(ROLES))
    assert set(staff.loc[staff.domain_var == "role", "domain"]) == set(ROLES)
    for frame in (emp, staff):
        total = frame[frame.domain_var == "all"]
        assert len(total) == frame["rate"].nunique() and (total["domain"] == "all").all()
    answered = keyrates["n"] > 0
    proportion = keyrates["rate"] != "caseload_mean"
    assert keyrates.loc[answered & proportion, "estimate"].between(0, 1).all()
    assert keyrates.loc[~answered, "estimate"].isna().all()
    assert (keyrates.loc[~answered, "flag"] == "empty").all()
    ok = keyrates["ci_low"].notna()
    assert (keyrates.loc[ok, "ci_low"] <= keyrates.loc[ok, "estimate"]).all()
    assert (keyrates.loc[ok, "estimate"] <= keyrates.loc[ok, "ci_high"]).all()
    # a rate asked of job consultants only is empty in the other roles
    riv = staff[(staff.rate == "method_riv") & (staff.domain_var == "role")].set_index("domain")
    assert riv.loc["job_consultant", "n"] == 412
    assert (riv.drop("job_consultant")["flag"] == "empty").all()


@slow
def test_the_survey_column_is_appended_without_changing_a_byte_before_it(runs, report_dir):
    """Each part's rows are exactly what its own results write (the employer
    rows as before there was a second survey), plus ``,survey``."""
    lines = (report_dir / "keyrates.csv").read_text().splitlines()
    assert lines[0] == ",".join(KEYRATE_COLUMNS) + ",survey"
    for part in runs["run"].parts:
        own = (
            part.results.tidy(KEYRATE_COLUMNS)
            .to_csv(index=False, float_format=lambda v: repr(float(v)))
            .splitlines()[1:]
        )
        rows = [
            line[: -len(part.survey.id) - 1]
            for line in lines[1:]
            if line.endswith("," + part.survey.id)
        ]
        assert rows == own


@slow
def test_staff_rows_equal_r_survey(keyrates):
    """The staff survey's rows in keyrates.csv against R's svydesign(strata =
    ~role, fpc = ~N_role, weights = ~base_weight) (tests/reference/ai_staff)."""
    staff = keyrates[keyrates.survey == "ai_staff_2017"].set_index(
        ["rate", "domain_var", "domain"]
    )
    for name, rid in R_RATES.items():
        row = staff.loc[(rid, "all", "all")]
        assert row["estimate"] == pytest.approx(r_value(f"central.{name}.est")[0], rel=1e-8)
        assert row["se"] == pytest.approx(r_value(f"central.{name}.se")[0], rel=1e-8)
        assert row["deff"] == pytest.approx(r_value(f"central.{name}.deff")[0], rel=1e-8)
        assert [row["ci_low"], row["ci_high"]] == pytest.approx(
            r_value(f"central.{name}.ci_logit"), rel=1e-8
        )
        roles = staff.loc[rid].xs("role").loc[list(ROLES)]  # R's order (sorted)
        answered = roles[roles["n"] > 0]  # R's svyby drops the rest
        assert answered["estimate"].to_numpy() == pytest.approx(
            r_value(f"central.{name}.by_role"), rel=1e-8
        )
        assert answered["se"].to_numpy() == pytest.approx(
            r_value(f"central.{name}.by_role_se"), rel=1e-8
        )
    mean = staff.loc[("caseload_mean", "all", "all")]
    assert mean["estimate"] == pytest.approx(r_value("central.caseload_mean.est")[0], rel=1e-8)
    assert mean["se"] == pytest.approx(r_value("central.caseload_mean.se")[0], rel=1e-8)
    assert [mean["ci_low"], mean["ci_high"]] == pytest.approx(
        r_value("central.caseload_mean.ci"), rel=1e-8
    )


@slow
def test_staff_unweighted_rows_reproduce_the_chapter(keyrates):
    """Issue 15's acceptance: 350/412, 95 % of 596, 84 % of 726, 11.6 over 434."""
    staff = keyrates[(keyrates.survey == "ai_staff_2017") & (keyrates.domain_var == "all")]
    row = staff.set_index("rate")
    assert row.loc["method_ordinary_work_training", "n"] == 412
    assert row.loc["method_ordinary_work_training", "unweighted"] == pytest.approx(
        350 / 412, rel=1e-12
    )
    for rid, percent, n in (("active_recruitment_rate", 95, 596), ("aft_offered", 84, 726)):
        assert row.loc[rid, "n"] == n
        assert report_round(100 * row.loc[rid, "unweighted"], 0) == percent
    assert row.loc["caseload_mean", "n"] == 434
    assert str(report_round(row.loc["caseload_mean", "unweighted"], 1)) == "11.6"


@slow
def test_sensitivity_columns_are_the_catalog_estimates_under_each_variant(runs):
    from estimators.inference.catalog import estimate_catalog
    from estimators.report.pipeline import page_frame

    run = runs["run"]
    part = run.part("employers_2017")
    frame = page_frame(part, run.settings).set_index(["rate", "domain_var", "domain"])
    for column, variant in (("sens_low", "low_public"), ("sens_high", "high_public")):
        design = part.uncalibrated.calibrate(employers.load_register_margins(variant))
        expected = estimate_catalog(design, KEY_RATES, ("all", "sector")).keyrates()
        expected = expected.set_index(["rate", "domain_var", "domain"])["estimate"]
        np.testing.assert_allclose(frame.loc[expected.index, column], expected, rtol=1e-12)
    # the public share moves the whole-sample estimates, not just relabels them
    total = frame.xs("all", level="domain_var")
    assert (total["sens_low"] - total["sens_high"]).abs().max() > 0.005


@slow
def test_staff_sensitivity_is_r_under_the_low_and_high_response_variants(runs):
    """The staff survey's variants change its design (population sizes,
    weights, fpc): overall they move the estimates through the general
    managers' share of the population only, within a role not at all."""
    from estimators.report.pipeline import page_frame

    run = runs["run"]
    frame = page_frame(run.part("ai_staff_2017"), run.settings).set_index(
        ["rate", "domain_var", "domain"]
    )
    for column, variant in (("sens_low", "low_response"), ("sens_high", "high_response")):
        for name, rid in R_RATES.items():
            assert frame.loc[(rid, "all", "all"), column] == pytest.approx(
                r_value(f"{variant}.{name}.est")[0], rel=1e-8
            )
        roles = frame.xs("role", level="domain_var").dropna(subset=["estimate"])
        np.testing.assert_allclose(roles[column], roles["estimate"], rtol=1e-12)
    assert run.part("ai_staff_2017").variant_shares == pytest.approx(
        {"central": 694 / 2017, "low": 0.30, "high": 0.45}, rel=1e-12
    )


@slow
def test_clustering_widens_the_logit_interval_by_kishs_factor(runs):
    """For every proportion, logit(CI) - logit(p) grows by sqrt(1 + (m - 1) rho),
    m = staff respondents of the base / 55; general managers (one per company)
    keep their interval; the mean's t interval grows by the same factor."""
    from estimators.report.pipeline import page_frame

    run = runs["run"]
    part = run.part("ai_staff_2017")
    frame = page_frame(part, run.settings)
    frame = frame[frame["n"] > 0]
    staff = ai_staff.load_ai_staff()
    for row in frame.itertuples():
        rate = ai_staff.SURVEY.get_rate(row.rate)
        base = rate.base.mask(staff)
        if rate.mean_of is not None:
            base &= staff[rate.mean_of].notna().to_numpy()
        if row.domain_var == "role":
            base &= (staff["role"] == row.domain).to_numpy()
        m = max(int((base & (staff["role"] != "general_manager").to_numpy()).sum()) / 55, 1)
        for k, rho in enumerate(ai_staff.RHOS):
            factor = np.sqrt(1 + (m - 1) * rho)
            high = getattr(row, f"clus{k}_high")
            if row.kind == "mean":
                assert high - row.estimate == pytest.approx(
                    factor * (row.ci_high - row.estimate), rel=1e-10
                )
                continue
            assert special.logit(high) - special.logit(row.estimate) == pytest.approx(
                factor * (special.logit(row.ci_high) - special.logit(row.estimate)), rel=1e-10
            )
            if row.domain == "general_manager":
                assert (getattr(row, f"clus{k}_low"), high) == pytest.approx(
                    (row.ci_low, row.ci_high), rel=1e-12
                )


@slow
def test_netcdf_weights_and_replicates_agree_with_the_csv(report_dir, keyrates):
    import xarray as xr

    with xr.open_dataset(report_dir / "keyrates.nc") as ds:
        assert set(ds["rate"].values) == set(keyrates["rate"])
        surveys = dict(zip(ds["rate"].values, ds["survey"].values))
        value = float(
            ds["values"].sel(rate="trainee_now_rate", domain="all", statistic="estimate")
        )
        staff = float(
            ds["values"].sel(rate="aft_offered", domain="role=job_consultant", statistic="se")
        )
    assert surveys["trainee_now_rate"] == "employers_2017"
    assert surveys["caseload_mean"] == "ai_staff_2017"
    row = keyrates[(keyrates.rate == "trainee_now_rate") & (keyrates.domain_var == "all")]
    assert value == row["estimate"].iloc[0]
    row = keyrates[(keyrates.rate == "aft_offered") & (keyrates.domain == "job_consultant")]
    assert staff == row["se"].iloc[0]
    weights = pd.read_csv(report_dir / "weights.csv")
    assert list(weights.columns) == ["id", "base_weight", "weight", "survey"]
    emp = weights[weights.survey == "employers_2017"]
    assert emp["id"].is_unique and len(emp) == 1000
    staff_w = weights[weights.survey == "ai_staff_2017"]
    assert len(staff_w) == 752 and (staff_w["weight"] == staff_w["base_weight"]).all()
    assert staff_w["weight"].sum() == pytest.approx(95 + 2017, rel=1e-12)  # no calibration
    reps = pd.read_parquet(report_dir / "replicate_weights.parquet")
    sidecar = json.loads((report_dir / "replicate_weights.json").read_text())
    assert sidecar["seed"] == 7 and sidecar["method"] == "bootstrap"
    rep_cols = [c for c in reps.columns if c.startswith("rep_")]
    assert len(rep_cols) == B
    np.testing.assert_allclose(reps["weight"], emp["weight"], rtol=1e-12)
    # every replicate is re-raked: its grand total equals the full sample's
    np.testing.assert_allclose(reps[rep_cols].sum(), emp["weight"].sum(), rtol=1e-8)
    assert not list(report_dir.glob("staff_replicate_weights*"))  # linearization


@slow
def test_a_run_leaves_only_its_output_beside_it(runs, report_dir):
    """keyrates.nc and the replicate weights, written by the workers into a
    temporary directory beside --out while the page is made, are moved into
    the output: nothing else is left beside it."""
    assert sorted(p.name for p in report_dir.parent.iterdir()) == ["api", "cli"]
    assert {"keyrates.nc", "replicate_weights.parquet", "replicate_weights.json"} <= {
        p.name for p in report_dir.iterdir()
    }


@slow
def test_a_failed_page_leaves_nothing_beside_out(tmp_path, monkeypatch):
    """The error path of the one above: step page fails after the workers
    began writing the early files; their temporary directory goes with the
    run, and no output is made."""
    from estimators.report import pipeline
    from weighting.errors import KalibError

    def broken(*args, **kwargs):
        raise KalibError("page failed")

    monkeypatch.setattr(pipeline, "render", broken)
    settings = ReportSettings(survey="ai_staff_2017", out=tmp_path / "out", quiet=True)
    with pytest.raises(KalibError, match="page failed"):
        build_report(settings)
    assert list(tmp_path.iterdir()) == []


@slow
def test_a_linked_out_elsewhere_is_staged_beside_its_target(tmp_path, monkeypatch):
    """--out a link to a directory on another filesystem (/dev/shm here): the
    workers' early files and step write's staging directory are both made
    beside the link's target (the early ones beside the link made the rename
    into the output fail: "Invalid cross-device link"); the link stays."""
    from estimators.io import files
    from estimators.report import pipeline

    made, original = [], files.temporary_sibling

    def recorded(out):
        made.append(out.parent)
        return original(out)

    monkeypatch.setattr(pipeline, "temporary_sibling", recorded)
    monkeypatch.setattr(files, "temporary_sibling", recorded)
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as other:
        link = tmp_path / "out"
        link.symlink_to(Path(other) / "report")
        assert main(["report", "--survey", "ai_staff_2017", "--out", str(link), "--quiet"]) == 0
        assert made == [Path(other)] * 2  # the early files and step write
        assert link.is_symlink() and list(tmp_path.iterdir()) == [link]
        assert [p.name for p in Path(other).iterdir()] == ["report"]
        assert {"keyrates.nc", "index.html"} <= {p.name for p in link.iterdir()}


@slow
def test_run_json_records_inputs_settings_versions_and_step_timings(report_dir):
    record = json.loads((report_dir / "run.json").read_text())
    assert list(record["timings_seconds"]) == list(STEPS)
    assert STEPS == (
        "load",
        "validate",
        "design",
        "calibrate",
        "replicate",
        "estimate",
        "sensitivity",
        "analysis",
        "figures",
        "page",
        "write",
    )
    assert record["surveys"] == ["employers_2017", "ai_staff_2017"]
    assert all(v >= 0 for v in record["timings_seconds"].values())
    assert record["settings"]["replicates"] == B and record["settings"]["seed"] == 7
    assert {"numpy", "pandas", "kalib", "python"} <= set(record["versions"])
    assert {item["survey"] for item in record["inputs"]} == set(record["surveys"])
    for item in record["inputs"]:
        digest = hashlib.sha256(Path(item["path"]).read_bytes()).hexdigest()
        assert digest == item["sha256"], item["path"]
    emp, staff = record["parts"]["employers_2017"], record["parts"]["ai_staff_2017"]
    assert emp["replicates"]["B"] == B and emp["replicates"]["converged"] == B
    assert emp["variance"] == "bootstrap" and emp["calibration"]["converged"]
    assert staff["variance"] == "linearization" and staff["n"] == 752
    assert staff["calibration"] is None and staff["replicates"] is None
    # each part's share of the steps it runs part by part
    assert list(staff["timings_seconds"]) == list(STEPS[:8])
    for step in STEPS[:8]:
        assert (
            emp["timings_seconds"][step] + staff["timings_seconds"][step]
            <= record["timings_seconds"][step] + 1e-3
        )


@slow
def test_every_difference_from_a_published_value_is_explained(keyrates):
    for survey in (employers.SURVEY, ai_staff.SURVEY):
        frame = keyrates[(keyrates.survey == survey.id) & keyrates["published"].notna()]
        for row in frame.itertuples():
            p = survey.published(row.rate, row.domain_var, row.domain)
            rate = survey.get_rate(row.rate)
            if published_matches(
                row.published,
                row.unweighted,
                p.decimals,
                low=p.low,
                high=p.high,
                scale=1 if rate.mean_of else 100,
            ):
                continue
            assert survey.explain(row.rate, row.domain_var, row.domain, "en"), row.rate
            assert survey.explain(row.rate, row.domain_var, row.domain, "no"), row.rate
    # the staff survey's numbers all agree: exact ones printed, words in their interval
    staff = keyrates[(keyrates.survey == "ai_staff_2017") & (keyrates.domain_var == "all")]
    assert len(staff) == 24 and staff["published"].notna().all()


@slow
def test_the_page_has_both_parts_with_every_staff_row_and_anchor(page):
    assert "Part 1. Reweighted employer survey" in page
    assert "Part 2. Staff of the work-inclusion companies" in page
    ids = set(re.findall(r"id='([^']+)'", page))
    for href in re.findall(r"href='#([^']+)'", page):
        assert href in ids, href  # every link lands somewhere
    for key in (
        "sample",
        "weights",
        "keyrates",
        "forest",
        "flags",
        "domains",
        "methods",
        "assumptions",
    ):
        assert f"staff_{key}" in ids
    assert "model" in ids and "staff_model" not in ids
    for rate in STAFF:
        assert f"rate-{rate.id}--all--all" in ids
    assert "rate-method_riv--role--job_consultant" in ids
    assert "rate-method_riv--role--general_manager" not in ids  # not asked
    for role in ROLES:
        assert f"rate-aft_offered--role--{role}" in ids


def _row(page, row_id):
    return re.search(rf"<tr[^>]*id='{re.escape(row_id)}'>(.*?)</tr>", page).group(1)


def _cells(row):
    return re.findall(r"<td[^>]*>(.*?)</td>", row)


@slow
def test_staff_table_marks_unpublished_words_and_means(page):
    header = re.search(r"<section id='staff_keyrates'>.*?<thead>(.*?)</thead>", page, re.S).group(
        1
    )
    heads = [re.sub("<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>(.*?)</th>", header)]
    assert heads[5:8] == ["SE", "95 % CI", "deff"]
    assert heads[11:14] == [f"95 % CI if ρ = {r:.2f}" for r in ai_staff.RHOS]
    role = _cells(_row(page, "rate-aft_offered--role--job_consultant"))
    assert "not published" in role[2] and role[3] == "82.80"
    words = _row(page, "rate-goodwill_placements_agree--all--all")
    cells = _cells(words)
    assert cells[2] == "80–83" and cells[3] == "81.53"
    assert "class='num ok'>81.53<" in words and "Drøyt 80 prosent" in cells[-1]
    mean = _cells(_row(page, "rate-caseload_mean--all--all"))
    assert mean[2] == "11.6" and mean[3] == "11.62" and mean[4] == "11.6"
    assert mean[6] == "11.2 – 12.0"
    manager = _cells(_row(page, "rate-aft_offered--role--general_manager"))
    assert manager[11] == manager[12] == manager[13] == manager[6]  # one per company
    overall = _cells(_row(page, "rate-aft_offered--all--all"))
    assert len({overall[6], overall[11], overall[12], overall[13]}) == 4


@slow
def test_the_closing_note_lists_every_assumption_and_where_the_page_states_it(page):
    note = re.search(r"<section id='staff_assumptions'>(.*?)</section>", page, re.S).group(1)
    items = re.findall(r"<li>(.*?)</li>", note, re.S)
    titles = [re.search(r"<strong>(.*?)\.</strong>", item).group(1) for item in items]
    assert titles == [
        "Net number of questionnaires sent",
        "Strata and weights",
        "General managers",
        "Staff population sizes",
        "What the population is",
        "Company clustering",
        "No calibration",
        "Variance",
        "The records",
    ]
    for item in items:
        assert re.search(r"stated in <a href='#staff_", item), item
    assert "r = 694 / 2,017 = 34.4 %" in note and "m = 12.6" in note
    methods = re.search(r"<section id='staff_methods'>(.*?)</section>", page, re.S).group(1)
    assert "4 strata (role)" in methods and "N_role" in methods and "748 degrees" in methods
    assert "none: the design&#x27;s weights are the final weights" in methods


@slow
def test_the_ordinal_model_is_in_the_regression_section_with_its_figure(page, report_dir):
    model = page[page.index("<section id='model'>") : page.index("<section id='domains'>")]
    assert "Importance of the recruitment need as a reason to offer placements" in model
    assert "proportional-odds" in model and "sector[T.public]" in model
    assert "id='fig-model_rating'" in model
    assert (report_dir / "figures" / "model_rating.png").exists()


@slow
def test_one_survey_alone_with_its_own_options(tmp_path, capsys):
    """--survey ai_staff_2017 makes the staff part alone, in linearization
    whatever --variance says; --ci percentile cannot be had without replicates."""
    out = tmp_path / "staff"
    assert (
        main(["report", "--survey", "ai_staff_2017", "--lang", "no", "--out", str(out), "--quiet"])
        == 0
    )
    frame = pd.read_csv(out / "keyrates.csv")
    assert set(frame["survey"]) == {"ai_staff_2017"} and len(frame) == 24 * 5
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "Ansatte i arbeidsinkluderingsbedriftene" in html and "Del 1." not in html
    assert "ikke publisert" in html and "Forutsetninger i designet" in html
    assert not list(out.glob("*replicate_weights*"))
    code = main(
        [
            "report",
            "--survey",
            "ai_staff_2017",
            "--ci",
            "percentile",
            "--out",
            str(tmp_path / "p"),
            "--quiet",
        ]
    )
    assert code == 2
    assert "ai_staff_2017 is estimated by linearization" in capsys.readouterr().err


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
    code = main(
        ["report", "--margins", str(margin), "--out", str(out), "--quiet", "--replicates", "5"]
    )
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
        build_report(
            ReportSettings(replicates=5, out=old, force=True, quiet=True, variance="bootstrap")
        )
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
    cmd = [
        chromium_executable(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
        *args,
    ]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, check=True)


@slow
@pytest.mark.browser
def test_chromium_renders_every_key_rate_row_and_every_figure(report_dir):
    page = (report_dir / "index.html").resolve()
    dom = _chromium("--dump-dom", page.as_uri(), cwd=report_dir).stdout
    for rate in (*KEY_RATES, *STAFF):
        assert f'id="rate-{rate.id}--all--all"' in dom, rate.id
    figure_files = sorted(p.stem for p in (report_dir / "figures").glob("*.png"))
    assert len(figure_files) >= 18
    rendered = re.findall(r'<figure id="fig-([^"]+)"><img src="data:image/png;base64,', dom)
    assert sorted(rendered) == figure_files
    for key in (
        "trainees",
        "hiring",
        "reasons",
        "competence",
        "accommodation",
        "nav",
        "disability",
    ):
        assert f"forest_{key}" in figure_files
    for key in ("employers", "competence", "methods", "caseload", "statements", "measures"):
        assert f"staff_forest_{key}" in figure_files
    assert {"model_rating", "staff_sample_vs_frame"} <= set(figure_files)
    # the second part is laid out after the first, below it
    assert dom.index('id="staff_part"') > dom.index('id="methods"')
    shot = report_dir.parent / "screenshot.png"
    _chromium(f"--screenshot={shot}", "--window-size=1280,40000", page.as_uri(), cwd=report_dir)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)
    assert pixels.shape[:2] == (40000, 1280)
    # not a blank page, and the page goes on into the second part: both
    # halves of a screenshot tall enough for both parts hold content
    assert pixels[:20000, :, :3].std() > 0.05
    assert pixels[20000:, :, :3].std() > 0.05


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
