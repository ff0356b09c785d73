"""The staff survey's key-rate catalog: all 20 ids of published_tables.md 3.2,
unweighted estimates equal to the published numbers (exact ones under the
report's double rounding, numbers in words inside their intervals), the
routed rates in their role's domain, the mean with a t interval."""

from __future__ import annotations

import numpy as np
import pytest

from estimators.inference.catalog import estimate_catalog, report_round
from estimators.surveys.ai_staff import SURVEY, design, load_ai_staff, published
from estimators.surveys.ai_staff.catalog import DEFAULT_DOMAINS, KEY_RATES, SOURCE_IDS
from estimators.surveys.employers.catalog import KEY_RATES as EMPLOYER_RATES


@pytest.fixture(scope="module")
def results():
    return estimate_catalog(design(), KEY_RATES, DEFAULT_DOMAINS).frame


@pytest.fixture(scope="module")
def overall(results):
    return results[results["domain_var"].eq("all")].set_index("rate")


def test_catalog_holds_every_published_id_once():
    ids = [r["id"] for r in published()["key_rates"]]
    assert len(ids) == 20 and list(SOURCE_IDS) == ids
    assert len({r.id for r in KEY_RATES}) == len(KEY_RATES) == 24
    # ids are unique across the two surveys (keyrates.csv holds both)
    assert not {r.id for r in KEY_RATES} & {r.id for r in EMPLOYER_RATES}


def test_unweighted_equals_published(overall):
    for rate in KEY_RATES:
        p = rate.published
        row = overall.loc[rate.id]
        if rate.mean_of is not None:
            assert round(row["unweighted"], p.decimals) == p.percent
        elif p.is_interval:  # a number in words: inside its interval
            assert p.low <= row["unweighted"] * 100 <= p.high, rate.id
            if p.text.lower().startswith(("over", "drøyt")):  # strictly above
                assert row["unweighted"] * 100 > p.low, rate.id
        else:
            assert report_round(row["unweighted"] * 100, p.decimals) == report_round(
                p.percent, p.decimals
            ), rate.id


def test_the_issue_s_reproductions(overall):
    row = overall.loc["method_ordinary_work_training"]
    assert (round(row["unweighted"] * row["n"]), row["n"]) == (350, 412)
    assert SURVEY.get_rate("method_ordinary_work_training").printed_counts == (350, 412)
    row = overall.loc["active_recruitment_rate"]
    assert row["n"] == 596 and report_round(row["unweighted"] * 100, 0) == 95
    row = overall.loc["aft_offered"]
    assert row["n"] == 726 and report_round(row["unweighted"] * 100, 0) == 84
    row = overall.loc["caseload_mean"]
    assert row["n"] == 434 and round(row["unweighted"], 1) == 11.6


def test_bases_are_the_printed_ns(overall):
    n = overall["n"].to_dict()
    assert n["competition_from_nav"] == 591 and n["competence_basic_skills.very_good"] == 698
    assert n["method_riv"] == 412 and n["assist_cv_placement.cv"] == 409
    assert n["goodwill_placements_agree"] == 601
    assert n["collab_nav_offices_very_important"] == 596


def test_contradictions_resolved_one_way(overall):
    # A-87-86: 86 (56 + 30, lines 2234/2400/3563), not the bullet's 87
    need = overall.loc["need_more_employer_work_agree", "unweighted"]
    assert report_round(need * 100, 0) == 86
    df = load_ai_staff()
    col = df["statements_inclusion.need_more_employer_work"].dropna()
    assert report_round(col.eq("1").mean() * 100, 0) == 56
    assert report_round(col.eq("2").mean() * 100, 0) == 30
    # A-62-60: "om lag 62" and the Kortrapport's "drøyt 60" both hold
    nav = overall.loc["competition_from_nav"]
    assert report_round(nav["unweighted"] * 100, 0) == 62 and nav["unweighted"] > 0.60
    # A-cv-80: two items, both at 80 %
    assert report_round(overall.loc["assist_cv_placement.cv", "unweighted"] * 100, 0) == 80
    assert (
        report_round(overall.loc["assist_cv_placement.job_placement", "unweighted"] * 100, 0) == 80
    )


def test_routed_rates_live_in_the_job_consultants_domain(results):
    routed = [r.id for r in KEY_RATES if "job_consultant" in str(r.base)]
    assert set(routed) == {
        "method_ordinary_work_training",
        "method_combine",
        "method_riv",
        "assist_career_guidance",
        "assist_job_search",
        "assist_cv_placement.cv",
        "assist_cv_placement.job_placement",
        "caseload_mean",
    }
    by_role = results[results["domain_var"].eq("role") & results["rate"].isin(routed)]
    assert (by_role["domain"].eq("job_consultant") == by_role["n"].gt(0)).all()
    assert by_role.loc[by_role["n"].eq(0), "flag"].eq("empty").all()
    overall = results[results["domain_var"].eq("all") & results["rate"].isin(routed)]
    consultants = by_role[by_role["domain"].eq("job_consultant")]
    assert overall["estimate"].to_numpy() == pytest.approx(
        consultants["estimate"].to_numpy(), rel=1e-12
    )


def test_within_a_role_weighted_equals_unweighted(results):
    """Weights are constant within role (RHG), so a role's estimate is its
    unweighted share; overall they differ where roles differ."""
    by_role = results[results["domain_var"].eq("role") & results["n"].gt(0)]
    assert by_role["estimate"].to_numpy() == pytest.approx(
        by_role["unweighted"].to_numpy(), rel=1e-12
    )
    overall = results[results["domain_var"].eq("all")]
    assert not np.allclose(overall["estimate"], overall["unweighted"], rtol=1e-6)


def test_mean_rate_has_a_t_interval_and_published_mean(overall):
    row = overall.loc["caseload_mean"]
    assert row["kind"] == "mean" and row["published"] == 11.6
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    assert row["estimate"] - row["ci_low"] == pytest.approx(row["ci_high"] - row["estimate"])
    proportions = overall.drop(index="caseload_mean")
    assert proportions["kind"].eq("proportion").all()
    assert ((proportions["ci_low"] > 0) & (proportions["ci_high"] < 1)).all()  # logit


def test_published_words_keep_their_wording():
    p = SURVEY.get_rate("goodwill_placements_agree").published
    assert (p.percent, p.low, p.high, p.text) == (80.0, 80.0, 83.0, "Drøyt 80 prosent")
    assert p.is_interval and not SURVEY.get_rate("aft_offered").published.is_interval
    assert SURVEY.get_rate("unskilled_harder_agree").published.high == 60.5
