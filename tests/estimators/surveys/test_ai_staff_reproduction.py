"""The bundled staff survey reproduces every number chapter 7 states.

Every cell of ``published_ai_staff_2017.json`` is recomputed from
``load_ai_staff()``: printed counts exactly, printed percentages under the
report's double rounding, verbal numbers ("drøyt 80", "nær 60", "tre av ti",
"et flertall") inside their intervals
(:mod:`estimators.surveys.ai_staff.printed`), every printed base, the
caseload distribution, and the orderings the text states for the figures
without numbers. No cell is expected to fail: the chapter's contradictions
(``ai_staff_decisions.md``) are resolved in the codebook or lie outside the
cells (the bullet's 87 % of A-87-86 is checked with the key rates).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from estimators.surveys.ai_staff import codebook, load_ai_staff, published
from estimators.surveys.ai_staff.printed import cell_interval, stated

TOP2 = ("1", "2")
LEVELS = {
    None: TOP2,
    "top2": TOP2,
    "very_good": ("1",),
    "very_common": ("1",),
    "fully_agree": ("1",),
    "very_important": ("1",),
    "fairly_good": ("2",),
    "fairly_common": ("2",),
    "partly_agree": ("2",),
    "fairly_important": ("2",),
}
WORK_LEVEL = {"very_large": "1", "fairly_large": "2"}


@pytest.fixture(scope="module")
def df():
    return load_ai_staff()


def _question(qid):
    return next(q for q in published()["questions"] if q["id"] == qid)


def _counts(df, qid, table, cell):
    """(numerator, base) of one published cell."""
    cat = cell["category"]
    if qid in (
        "role",
        "has_market_consultants",
        "employer_followup_organisation",
        "market_consultants_fulltime",
        "active_employer_recruitment",
    ):
        col = df[qid]
        return int(col.eq(cat).sum()), int(col.notna().sum())
    if qid == "what_needed_open":  # share of all 752 respondents
        return int(df[qid].eq(cat).sum()), len(df)
    if qid == "measures_offered":
        col = df[f"{qid}.{cat}"]
        return int(col.eq("yes").sum()), int(col.notna().sum())
    if qid == "caseload":
        x = df[qid].dropna().astype(int)
        hit = {"le_10": x <= 10, "le_20": x <= 20, "eq_10": x == 10}[cat]
        return int(hit.sum()), len(x)
    if table["dimensions"]:  # line 2135: cross-tab of work methods
        dim = table["dimensions"][0]
        base = df[dim].eq(WORK_LEVEL[cell[dim]])
        item, answer = cat.split("=")
        return int((base & df[f"{qid}.{item}"].eq(WORK_LEVEL[answer])).sum()), int(base.sum())
    col = df[f"{qid}.{cat}"]
    base = col.notna() & col.ne("no_experience")  # usefulness: among the experienced
    return int((base & col.isin(LEVELS[cell.get("level")])).sum()), int(base.sum())


def _cells():
    for q in published()["questions"]:
        for table in q["published"]:
            for cell in table["cells"]:
                yield q["id"], table, cell


def test_every_stated_cell_is_reproduced(df):
    checked, wrong = 0, {}
    for qid, table, cell in _cells():
        interval = cell_interval(cell)
        if interval is None and cell.get("n") is None:
            continue  # "relativt lik": tested as an ordering below
        n, base = _counts(df, qid, table, cell)
        key = (qid, table["table_ref"], cell["category"], cell.get("level"))
        if cell.get("n") is not None:
            checked += 1
            if n != cell["n"]:
                wrong[key + ("n",)] = (n, cell["n"])
        if interval is not None:
            checked += 1
            if not interval.contains(n, base):
                wrong[key + ("pct",)] = (round(100 * n / base, 2), cell["pct_printed"])
    assert wrong == {}
    assert checked >= 60


def test_every_printed_base(df):
    bases = {}
    for qid, table, _ in _cells():
        for base in table["bases"]:
            if base.get("n") is not None and not table["dimensions"]:
                bases[(qid, table["table_ref"])] = base["n"]
    for q in published()["questions"]:
        if q.get("base_n") is not None:
            bases[(q["id"], "base_n")] = q["base_n"]
    checked = 0
    for (qid, ref), n in bases.items():
        columns = codebook()[qid].columns
        answered = df[columns].notna().any(axis=1)
        if qid == "what_needed_open" and ref != "base_n":
            answered = pd.Series(True, index=df.index)  # 58.6 % of all 752
        assert int(answered.sum()) == n, (qid, ref)
        checked += 1
    assert checked >= 20
    # printed Ns of the roles' questions: 434 of 445, 412, 409; 54 and 52 of 58
    jc = df["role"].eq("job_consultant")
    assert int((jc & df["caseload"].notna()).sum()) == 434 and int(jc.sum()) == 445


def test_a_grid_is_answered_whole(df):
    """Base N is the figure's: every item of a grid is answered by the same rows."""
    for q in codebook():
        if q.type == "likert5":
            present = df[q.columns].notna()
            assert present.all(axis=1).equals(present.any(axis=1)), q.id


def test_completion_and_break_offs(df):
    assert df["completion"].value_counts().to_dict() == {"complete": 592, "partial": 160}
    assert df["break_off"].notna().sum() == 160
    assert df.loc[df["completion"].eq("partial"), "break_off"].notna().all()
    # a complete respondent reached the last question; item non-response is
    # "don't know" on recruitment/competition and a few skipped grids only
    codes = load_ai_staff(missing="codes")
    complete = codes["completion"].eq("complete")
    assert codes.loc[complete, "what_needed_open"].isin(["answered", "no_answer"]).all()
    assert (codes.loc[complete, "active_employer_recruitment"] == "dont_know").sum() == 20
    assert (codes.loc[complete, "competition_by_actor.NAV"] == "dont_know").sum() == 25


def test_caseload_distribution(df):
    x = df["caseload"].dropna().astype(int)
    assert len(x) == 434
    assert round(Fraction(int(x.sum()), len(x)), 1) == Fraction(116, 10)  # 11,6
    counts = x.value_counts()
    assert counts.idxmax() == 10 and (counts.drop(10) < counts[10]).all()  # the mode
    assert stated(48, None, "48 prosent").contains(int((x <= 10).sum()), 434)
    assert stated(96.5, None, "96,5 prosent").contains(int((x <= 20).sum()), 434)
    assert stated(13.6, None, "13,6 prosent").contains(int((x == 10).sum()), 434)
    assert 11 <= x.mean() <= 12  # "mellom 11-12" (7.12)


def test_work_methods_cross_tab_bases(df):
    ordinary = df["work_methods.ordinary_work_training"]
    assert ordinary.eq("2").sum() == 179 and ordinary.eq("1").sum() == 171
    assert ordinary.isin(TOP2).sum() == 350  # 84.95 % of 412 -> 85


def _top2(df, column, experienced=False):
    col = df[column]
    base = col.notna() & (col.ne("no_experience") if experienced else True)
    return col[base].isin(TOP2).mean()


def test_orderings_the_text_states(df):
    top2 = lambda q, i, **kw: _top2(df, f"{q}.{i}", **kw)  # noqa: E731
    # 7.2: health services and mental health are the weakest competences
    competence = {
        i: top2("own_competence", i)
        for i in (
            "mental_health",
            "health_services",
            "labour_market",
            "employer_interaction",
            "basic_skills_mapping",
            "pedagogical",
        )
    }
    assert max(competence["mental_health"], competence["health_services"]) < min(
        v for k, v in competence.items() if k not in ("mental_health", "health_services")
    )
    # pedagogical competence "relativt lik" basic-skills mapping
    assert abs(competence["pedagogical"] - competence["basic_skills_mapping"]) <= 0.03
    # 7.3 / 7.12: RiV < sheltered assessment < ordinary work training < combining
    work = [
        top2("work_methods", i)
        for i in (
            "ringer_i_vannet",
            "sheltered_assessment",
            "ordinary_work_training",
            "combine_methods",
        )
    ]
    assert work == sorted(work)
    # 7.4: interview training is the least common assistance
    assist = {
        i: top2("assistance_frequency", i)
        for i in ("career_guidance", "job_search", "cv", "job_placement", "interview_training")
    }
    assert min(assist, key=assist.get) == "interview_training"
    # 7.5: best cognitive, slow pace, social; worst stability; sensory has most
    # without experience; 'svært godt' is rare for every group
    items = [i.code for i in codebook()["success_by_disability"].items]
    success = {i: top2("success_by_disability", i, experienced=True) for i in items}
    ranked = sorted(success, key=success.get, reverse=True)
    assert set(ranked[:3]) == {"cognitive", "slow_pace", "social"}
    assert ranked[-1] == "stability"
    assert success["substance_crime"] < np.median(list(success.values()))
    no_exp = {i: df[f"success_by_disability.{i}"].eq("no_experience").mean() for i in items}
    assert max(no_exp, key=no_exp.get) == "sensory"
    assert all(df[f"success_by_disability.{i}"].eq("1").mean() < 0.15 for i in items)
    # 7.6: oppfølging and AFT most useful, then the wage subsidies; AMO among the lowest
    useful = {
        i.code: top2("measure_usefulness", i.code, experienced=True)
        for i in codebook()["measure_usefulness"].items
    }
    ranked = sorted(useful, key=useful.get, reverse=True)
    assert set(ranked[:2]) == {"oppfolging", "AFT"}
    assert set(ranked[2:4]) == {"wage_subsidy_temp", "wage_subsidy_perm"}
    assert "AMO" in ranked[-3:]
    for item in ("function_assistance", "mentor", "KVP"):  # fewer with experience
        assert (
            df[f"measure_usefulness.{item}"].eq("no_experience").mean()
            > df["measure_usefulness.oppfolging"].eq("no_experience").mean()
        )
    # 7.7: NAV first, then other AI companies and commercial; the rest "i liten grad"
    actors = {
        i.code: top2("competition_by_actor", i.code)
        for i in codebook()["competition_by_actor"].items
    }
    assert sorted(actors, key=actors.get, reverse=True)[:3] == [
        "NAV",
        "other_ai_companies",
        "commercial",
    ]
    assert all(actors[a] < 0.25 for a in ("non_profit", "staffing", "vekstbedrifter"))


def test_factor_orderings_of_figures_7_8_and_7_9(df):
    offer = {
        i.code: _top2(df, f"factors_offer_trainee.{i.code}")
        for i in codebook()["factors_offer_trainee"].items
    }
    hire = {i.code: _top2(df, f"factors_hire.{i.code}") for i in codebook()["factors_hire"].items}
    ranked = sorted(offer, key=offer.get, reverse=True)
    assert ranked[:3] == ["candidate_suitability", "csr", "recruitment_need"]
    assert offer["recruitment_need"] > offer["competence_need"]
    assert ranked[-1] == "ia_agreement" and set(ranked[-3:]) == {
        "ia_agreement",
        "firm_size",
        "industry",
    }
    assert max(hire, key=hire.get) == "prior_placement_experience"
    assert min(hire, key=hire.get) == "ia_agreement"
    assert hire["competence_need"] > offer["competence_need"]
    assert hire["recruitment_need"] > offer["recruitment_need"]
    assert hire["csr"] < offer["csr"]
    assert abs(hire["candidate_suitability"] - offer["candidate_suitability"]) <= 0.02


def test_statements_and_collaboration(df):
    top2 = lambda q, i: _top2(df, f"{q}.{i}")  # noqa: E731
    # goodwill falls from placements to hiring ("synker betraktelig")
    assert (
        top2("statements_inclusion", "goodwill_hiring")
        < top2("statements_inclusion", "goodwill_placements") - 0.2
    )
    # exploitation: "en noenlunde lik andel" as unskilled_harder
    assert (
        abs(
            top2("statements_inclusion", "employers_exploit")
            - top2("statements_inclusion", "unskilled_harder")
        )
        <= 0.03
    )
    # Figur 7.11: accommodation/follow-up most frequent, other services least
    needs = {
        i.code: top2("employer_support_needs", i.code)
        for i in codebook()["employer_support_needs"].items
    }
    assert max(needs, key=needs.get) == "accommodate_followup"
    assert min(needs, key=needs.get) == "other_services_info"
    # Figur 7.12: NAV Arbeidslivssenter less important than the NAV offices
    very = lambda i: df[f"collaboration_importance.{i}"].dropna().eq("1").mean()  # noqa: E731
    assert very("nav_worklife_centre") < very("nav_offices") < very("local_employers")


def test_managers_follow_ups(df):
    managers = df[df["role"].eq("general_manager")]
    assert managers["has_market_consultants"].value_counts().to_dict() == {"no": 31, "yes": 23}
    asked = managers["market_consultants_fulltime"].dropna()
    assert len(asked) == 23 and asked.eq("full_time").mean() > 0.5  # "et flertall"
    one = managers["employer_followup_organisation"].eq("one_consultant").sum()
    assert one == 18 and stated(33.3, "approximately").contains(one, 52)  # "Cirka én av tre"
    # routed questions are empty outside their role
    staff = df[~df["role"].eq("general_manager")]
    assert staff[["has_market_consultants", "employer_followup_organisation"]].isna().all().all()
    others = df[~df["role"].eq("job_consultant")]
    assert others.filter(regex=r"^(caseload|work_methods|assistance_frequency)").isna().all().all()
