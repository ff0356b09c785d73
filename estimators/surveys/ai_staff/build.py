"""Rebuild the bundled staff survey ``ai_staff_2017`` (chapter 7, N = 752).

Run from the repository root (re-runnable; the output is byte-identical)::

    .venv/bin/python -m estimators.surveys.ai_staff.build [--shared ../shared]

Input (read-only, outside the repository): ``shared/survey/published_tables.json``.
Outputs in ``estimators/surveys/ai_staff/data/``:

* ``codebook.json`` — the questionnaire with its routing and break-offs
  (:mod:`estimators.io.codebook`);
* ``ai_staff_2017.csv`` — 752 reconstructed web answers, coded;
* ``published_ai_staff_2017.json`` — the chapter's printed numbers.

How the records are made. First the *response plan*: role (445/144/105/58),
complete or partial (592/160), for each partial the question where the
answers stop (break-off), and the few respondents who skip a question they
reached (``ai_staff_decisions.md``, S2-S4); together they give every printed
base (726, 434, 54, 52, 698, 412, 409, 646, 596, 591, 614, 605, 601, 604,
596, 441). Then every question is filled, in questionnaire order, for the
rows that answer it by one integer programme (:func:`estimators.surveys.milp.solve`)
whose constraints are the stated numbers read as intervals
(:mod:`estimators.surveys.ai_staff.printed`) and, where the report gives no
number, the decisions file's assumed shares; the objective is a seeded
Gumbel-perturbed plausibility score (a scale mean per item, shifted by role).
"""

from __future__ import annotations

import argparse
import itertools
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from estimators.io.codebook import Codebook
from estimators.surveys.ai_staff.printed import Interval, cell_interval
from estimators.surveys.employers.build import (
    Survey,
    _write_json,
    ask_multi,
    combos_with,
    eq,
    question_entry,
)

SEED = 20171011
DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[3].parent / "shared"
SURVEY_KEY = "ai_employees_web_2017"

ROLES = ("job_consultant", "work_production_leader", "programme_leader", "general_manager")
JC, WPL, PL, GM = ROLES
#: Respondents per role (line 2069).
ROLE_N = dict(zip(ROLES, (445, 144, 105, 58)))
LIKERT = ["1", "2", "3", "4", "5"]
TOP2 = ("1", "2")
#: Grid categories of the report's level names (code 1 is the scale's top).
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

# ----------------------------------------------------------------- response plan
#: Partial completes (160): the first question each leaves unanswered, by role
#: (decisions S2). Questionnaire order is the chapter's order.
BREAK_OFFS = {
    "measures_offered": {JC: 9, WPL: 9, PL: 6, GM: 2},
    "caseload": {JC: 2},
    "has_market_consultants": {GM: 2},
    "employer_followup_organisation": {GM: 2},
    "own_competence": {JC: 6, WPL: 8, PL: 5, GM: 1},
    "work_methods": {JC: 16},
    "assistance_frequency": {JC: 3},
    "success_by_disability": {JC: 20, WPL: 7, PL: 5, GM: 1},
    "measure_usefulness": {JC: 21, WPL: 4, PL: 3},
    "active_employer_recruitment": {JC: 3, WPL: 1},
    "factors_offer_trainee": {JC: 2},
    "factors_hire": {JC: 6, WPL: 1, PL: 1, GM: 1},
    "statements_inclusion": {GM: 1},
    "employer_support_needs_other": {JC: 4, PL: 1, GM: 1},
    "collaboration_importance": {JC: 1, PL: 1},
    "what_needed_open": {JC: 2, WPL: 1, GM: 1},
}
#: Complete respondents who reached a question and left it unanswered, by role,
#: with the missing code (decisions S3). The 20 "don't know" on active
#: recruitment also answer "don't know" to the competition grid; its counts
#: here are the 5 more who do.
SKIPS = {
    "own_competence": ({WPL: 1, PL: 1}, "no_answer"),
    "success_by_disability": ({WPL: 1, GM: 1}, "no_answer"),
    "active_employer_recruitment": ({JC: 5, WPL: 12, PL: 3}, "dont_know"),
    "competition_by_actor": ({JC: 3, WPL: 2}, "dont_know"),
    "statements_inclusion": ({JC: 1, WPL: 1, PL: 1}, "no_answer"),
}
#: Open questions: respondents who wrote something (441 printed; decisions S4).
OPEN_ANSWERED = {"employer_support_needs_other": 150, "what_needed_open": 441}

#: Caseload of the 434 job consultants who answered (decisions S5): 208 <= 10
#: (47.9 % -> 48), 419 <= 20 (96.5 %), 59 at the mode 10 (13.6 %), mean 11.62.
CASELOAD = {
    1: 2,
    2: 3,
    3: 5,
    4: 9,
    5: 22,
    6: 24,
    7: 20,
    8: 35,
    9: 29,
    10: 59,
    11: 15,
    12: 48,
    13: 21,
    14: 22,
    15: 44,
    16: 14,
    17: 9,
    18: 16,
    19: 4,
    20: 18,
    22: 3,
    23: 1,
    24: 2,
    25: 7,
    30: 1,
    35: 1,
}

# ----------------------------------------------------------------- assumptions
# Shares (percent of the item's base) the report does not print (decisions S8, S9).
# Each grid item: {codes: percent} pinned to the nearest count, plus a scale
# mean for the unpinned points; ``no_experience`` shares are of all who answered.
ASSUMED: dict[str, dict[str, dict[str | tuple[str, ...], float]]] = {
    "own_competence": {
        "labour_market": {"1": 45},
        "employer_interaction": {"1": 42},
        "basic_skills_mapping": {},
        "pedagogical": {"1": 29, TOP2: 75},
        "health_services": {TOP2: 45},
        "mental_health": {TOP2: 55},
    },
    "work_methods": {"sheltered_assessment": {TOP2: 65}},
    "assistance_frequency": {
        "job_search": {"1": 55},
        "cv": {"1": 45},
        "job_placement": {"1": 44},
        "interview_training": {"1": 20, TOP2: 55},
    },
    "success_by_disability": {  # 'svært godt' is rare for every group (line 2017)
        "cognitive": {"no_experience": 3, "1": 12, TOP2: 70},
        "slow_pace": {"no_experience": 3, "1": 11, TOP2: 68},
        "social": {"no_experience": 2, "1": 10, TOP2: 66},
        "musculoskeletal": {"no_experience": 5, "1": 8, TOP2: 55},
        "physical_mobility": {"no_experience": 10, "1": 8, TOP2: 50},
        "language": {"no_experience": 6, "1": 7, TOP2: 50},
        "motivation": {"no_experience": 2, "1": 6, TOP2: 48},
        "substance_crime": {"no_experience": 8, "1": 4, TOP2: 35},
        "sensory": {"no_experience": 30, "1": 5, TOP2: 30},
        "stability": {"no_experience": 2, "1": 3, TOP2: 28},
    },
    "measure_usefulness": {  # no_experience of all; the rest of the experienced
        "oppfolging": {"no_experience": 8, "1": 55},
        "AFT": {"no_experience": 5, "1": 57},
        "wage_subsidy_temp": {"no_experience": 10, "1": 45},
        "wage_subsidy_perm": {"no_experience": 12, "1": 47},
        "AMO": {"no_experience": 15, "1": 18, TOP2: 55},
        "function_assistance": {"no_experience": 40, "1": 22, TOP2: 60},
        "mentor": {"no_experience": 35, "1": 24, TOP2: 62},
        "inclusion_grant": {"no_experience": 35, "1": 26, TOP2: 65},
        "KVP": {"no_experience": 45, "1": 16, TOP2: 50},
    },
    "competition_by_actor": {
        "NAV": {"1": 25},
        "other_ai_companies": {"1": 16},
        "commercial": {"1": 13},
        "non_profit": {"1": 3, TOP2: 15},
        "staffing": {"1": 3, TOP2: 12},
        "vekstbedrifter": {"1": 2, TOP2: 10},
    },
    "factors_offer_trainee": {
        "candidate_suitability": {"1": 70, TOP2: 96},
        "csr": {"1": 45, TOP2: 85},
        "recruitment_need": {"1": 40, TOP2: 80},
        "company_culture": {"1": 35, TOP2: 76},
        "nav_economic_measures": {"1": 33, TOP2: 74},
        "competence_need": {"1": 25, TOP2: 62},
        "industry": {"1": 8, TOP2: 36},
        "firm_size": {"1": 8, TOP2: 35},
        "ia_agreement": {"1": 5, TOP2: 25},
    },
    "factors_hire": {
        "prior_placement_experience": {"1": 78, TOP2: 97},
        "candidate_suitability": {"1": 70, TOP2: 96},
        "recruitment_need": {"1": 55, TOP2: 90},
        "competence_need": {"1": 45, TOP2: 82},
        "nav_economic_measures": {"1": 35, TOP2: 76},
        "csr": {"1": 35, TOP2: 76},
        "company_culture": {"1": 33, TOP2: 75},
        "industry": {"1": 10, TOP2: 38},
        "firm_size": {"1": 10, TOP2: 38},
        "ia_agreement": {"1": 5, TOP2: 22},
    },
    "statements_inclusion": {
        "goodwill_hiring": {TOP2: 50},
        "unskilled_harder": {"1": 22},
        "employers_exploit": {"1": 20},
        "disability_view_varies": {"1": 35},
    },
    "employer_support_needs": {
        "accommodate_followup": {"1": 40, TOP2: 80},
        "nav_measures_info": {"1": 25},
        "other_services_info": {"1": 8, TOP2: 35},
    },
    "collaboration_importance": {
        "nav_worklife_centre": {"1": 35, TOP2: 70},
        "gps": {"1": 45, TOP2: 80},
        "mental_health_substance": {"1": 50, TOP2: 84},
    },
}
#: Role shifts of the scale mean (positive: towards the bottom of the scale).
ROLE_SHIFT = {
    "own_competence": {GM: -0.3, WPL: 0.2},
    "competition_by_actor": {WPL: 0.4, PL: 0.1},
    "employer_support_needs": {WPL: 0.2},
}
#: Assumed answers to the managers' follow-ups without a printed count (S7).
MARKET_FULLTIME = {"full_time": 15, "part_time": 8}


# =========================================================================== codebook
def _categories(q: dict) -> list[dict]:
    out = []
    for k, c in enumerate(q["categories"]):
        code = str(c["code"])
        value = int(code) if code.isdigit() else k + 1
        out.append(
            {
                "code": code,
                "label_no": c.get("label_no", ""),
                "label_en": c.get("label_en", ""),
                "value": value,
            }
        )
    return out


def build_codebook(staff: dict) -> dict:
    """Codebook JSON from the published question list plus the paradata."""
    questions: list[dict[str, Any]] = [
        {
            "id": "completion",
            "type": "single",
            "text_no": "Status i SurveyXact (paradata)",
            "text_en": "Completion status (paradata)",
            "routing": "ALL",
            "routing_description": "All respondents",
            "categories": [
                {"code": "complete", "label_no": "Fullført", "label_en": "Complete", "value": 1},
                {
                    "code": "partial",
                    "label_no": "Delvis besvart",
                    "label_en": "Partial (broke off)",
                    "value": 2,
                },
            ],
            "notes": "592 complete, 160 partial (line 1978).",
        }
    ]
    asked = []
    for q in staff["questions"]:
        entry = question_entry(q)
        if q["type"] == "likert5":
            entry["categories"] = _categories(q)
            entry["items"] = [
                dict(i, value=k + 1)
                for k, i in enumerate(q["items"])
                if i["code"] != "other_items_unknown"
            ]
        elif q["type"] == "multi":
            entry["items"] = [
                dict(c, value=k + 1)
                for k, c in enumerate(q["categories"])
                if c["code"] != "unnamed"
            ]
            entry["categories"] = [
                {"code": "yes", "label_no": "Ja", "label_en": "Mentioned", "value": 1},
                {"code": "no", "label_no": "Nei", "label_en": "Not mentioned", "value": 0},
            ]
            entry["min_choices"] = 1
        elif q["type"] == "open":
            entry["categories"] = [
                {
                    "code": "answered",
                    "label_no": "Besvart (tekst ikke gjengitt)",
                    "label_en": "Answered (text not reconstructed)",
                    "value": 1,
                }
            ]
        else:
            entry["categories"] = _categories(q)
        asked.append(entry)
    by_id = {q["id"]: q for q in asked}
    # Figur 7.7 has N = 591, more than the ~566 who recruit actively: the grid
    # went to everybody who reached it (decisions A-7.7-base).
    by_id["competition_by_actor"]["routing"] = "ALL"
    by_id["competition_by_actor"]["routing_description"] = (
        "All respondents (the printed N = 591 exceeds the active recruiters; A-7.7-base)"
    )
    questions.append(
        {
            "id": "break_off",
            "type": "single",
            "break_off": True,
            "text_no": "Første ubesvarte spørsmål for delvis besvarte skjemaer (paradata)",
            "text_en": "First question left unanswered by a partial respondent (paradata)",
            "routing": "completion == 'partial'",
            "routing_description": "Partial respondents; nothing is answered from this question on",
            "categories": [
                {
                    "code": q["id"],
                    "label_no": q["text_no"],
                    "label_en": q["text_en"],
                    "value": k + 1,
                }
                for k, q in enumerate(asked[1:])
            ],
        }
    )
    return {
        "survey": SURVEY_KEY,
        "notes": [
            "Generated by estimators/surveys/ai_staff/build.py from "
            "shared/survey/published_tables.json.",
            "Questionnaire order = the chapter's order (7.1 opens the "
            "questionnaire, 7.11 closes it; lines 2069, 2279).",
        ],
        "questions": questions + asked,
    }


# =========================================================================== response plan
def response_plan(cb: Codebook, rng: np.random.Generator):
    """Role, completion and break-off of 752 respondents, and who answers what.

    Returns the frame (``role``, ``completion``, ``break_off``),
    ``{question id: mask}`` of the rows that reach the question and answer it
    if routed there, and ``{question id: mask}`` of the rows that reach it
    and skip it (``SKIPS``).
    """
    roles = np.repeat(np.array(ROLES, dtype=object), [ROLE_N[r] for r in ROLES])
    n = len(roles)
    order = [q.id for q in cb.asked if q.id not in ("completion", "break_off", "role")]
    position = np.full(n, len(order))  # index of the first unanswered question
    skipped = {qid: np.zeros(n, bool) for qid in SKIPS}
    for role in ROLES:
        rows = rng.permutation(np.flatnonzero(roles == role))
        taken = 0
        for qid, counts in BREAK_OFFS.items():
            k = counts.get(role, 0)
            position[rows[taken : taken + k]] = order.index(qid)
            taken += k
        completes = rows[taken:]
        dont_know = completes[: SKIPS["active_employer_recruitment"][0].get(role, 0)]
        skipped["active_employer_recruitment"][dont_know] = True
        skipped["competition_by_actor"][dont_know] = True
        rest = completes[len(dont_know) :]
        for qid, (counts, _) in SKIPS.items():
            if qid == "active_employer_recruitment":
                continue
            k = counts.get(role, 0)
            skipped[qid][rest[:k]] = True
            rest = rest[k:]
    partial = position < len(order)
    frame = pd.DataFrame(
        {
            "role": roles,
            "completion": np.where(partial, "partial", "complete").astype(object),
            "break_off": np.array(
                [order[p] if p < len(order) else "not_asked" for p in position], dtype=object
            ),
        }
    )
    answering = {
        qid: (position > k) & ~skipped.get(qid, np.zeros(n, bool)) for k, qid in enumerate(order)
    }
    return frame, answering, skipped


class Staff(Survey):
    """The frame under construction (the employer survey's :class:`Survey`),
    with a question's routing narrowed to the rows that reach it and answer
    it (the plan's break-offs and skips)."""

    def __init__(self, codebook: Codebook, frame: pd.DataFrame, seed: int, answering: dict):
        super().__init__(codebook, frame, seed)
        self.answering = answering

    def routed(self, qid: str) -> np.ndarray:
        return super().routed(qid) & self.answering[qid]


# =========================================================================== constraints
def count_of(percent, base: int) -> int:
    """An assumed share pinned to the nearest count (half up)."""
    return int(Fraction(str(percent)) * base / 100 + Fraction(1, 2))


def stated_count(mask, cats, interval: Interval, base: int):
    """A stated number pinned to the count nearest its target (decisions S1)."""
    return eq(mask, cats, interval.nearest(base))


def _question(staff: dict, qid: str) -> dict:
    return next(q for q in staff["questions"] if q["id"] == qid)


def stated_cells(staff: dict, qid: str) -> list[dict]:
    """The published cells of a question that state a number."""
    return [
        c
        for t in _question(staff, qid)["published"]
        for c in t["cells"]
        if cell_interval(c) is not None
    ]


def _stated_interval(cell: dict) -> Interval:
    """The interval of a cell :func:`stated_cells` keeps (one that states a number)."""
    interval = cell_interval(cell)
    if interval is None:
        raise ValueError(f"published cell {cell!r} states no number")
    return interval


def scale_scores(
    sub: pd.DataFrame, mean: float, qid: str, spread: float = 1.0, extra: int = 0
) -> np.ndarray:
    """Scores of the five scale points around ``mean`` shifted by role (plus
    ``extra`` flat columns for categories off the scale)."""
    mu = mean + sub["role"].map(ROLE_SHIFT.get(qid, {})).fillna(0.0).to_numpy(float)
    s = -((np.arange(1, 6)[None, :] - mu[:, None]) ** 2) / (2 * spread**2)
    return np.hstack([s] + [np.zeros((len(sub), 1))] * extra)


def _scale_mean(targets: dict) -> float:
    """A scale mean that puts about the targeted share in the top two points."""
    top = targets.get(TOP2, targets.get("1", 40) + 30)
    return 1.0 + 3.5 * (1 - top / 100)


def everyone(sub: pd.DataFrame) -> np.ndarray:
    return np.ones(len(sub), bool)


def fill_grid(sv: Staff, staff: dict, qid: str, extra_groups=None, skip=()) -> None:
    """Every item of a grid question (but ``skip``): the stated numbers
    (intervals) plus the assumed shares of ``ASSUMED``; ``extra_groups(item,
    sub)`` adds more bounds."""
    question = sv.cb[qid]
    cats = [c.code for c in question.categories]
    off_scale = [c for c in cats if c not in LIKERT]
    stated: dict[str, list[tuple[tuple[str, ...], Interval]]] = {}
    for cell in stated_cells(staff, qid):
        stated.setdefault(cell["category"], []).append(
            (LEVELS[cell.get("level")], _stated_interval(cell))
        )
    for item in (i.code for i in question.items if i.code not in skip):
        assumed = ASSUMED.get(qid, {}).get(item, {})

        def groups(sub, item=item, assumed=assumed):
            every = everyone(sub)
            g, n = [], len(sub)
            rated = n
            if "no_experience" in assumed:
                k = count_of(assumed["no_experience"], n)
                g.append(eq(every, ["no_experience"], k))
                rated = n - k
            for codes, share in assumed.items():
                if codes != "no_experience":
                    codes = (codes,) if isinstance(codes, str) else codes
                    g.append(eq(every, list(codes), count_of(share, rated)))
            for codes, interval in stated.get(item, []):
                g.append(stated_count(every, list(codes), interval, rated))
            if extra_groups is not None:
                g += extra_groups(item, sub)
            return g

        targets = dict(assumed)
        for codes, interval in stated.get(item, []):
            targets.setdefault(codes, float(interval.aim))
        mean = _scale_mean(targets)
        sv.ask(
            qid,
            cats,
            lambda sub, m=mean: scale_scores(sub, m, qid, extra=len(off_scale)),
            groups,
            column=f"{qid}.{item}",
        )


# =========================================================================== questions
def fill_background(sv: Staff, staff: dict) -> None:
    every = everyone
    # measures_offered (Figur 7.1, N = 726): option shares of the text, 132 "annet" (S6)
    options = [i.code for i in sv.cb["measures_offered"].items]
    stated = {c["category"]: _stated_interval(c) for c in stated_cells(staff, "measures_offered")}

    def groups(s, combos):
        g = [
            stated_count(every(s), combos_with(combos, o), iv, len(s)) for o, iv in stated.items()
        ]
        return g + [eq(every(s), combos_with(combos, "other"), 132)]

    # about 2.5 measures per company (610 + 428 + 319 + 290 + 132 mentions / 726)
    combos = [
        "+".join(c) for r in range(1, len(options) + 1) for c in itertools.combinations(options, r)
    ]
    size = np.array([len(c.split("+")) for c in combos], float)
    ask_multi(
        sv,
        "measures_offered",
        options,
        groups,
        combos=combos,
        scores=lambda s: np.tile(-0.6 * (size - 2.5) ** 2, (len(s), 1)),
    )

    # caseload (job consultants, 434): the distribution of decisions S5
    values = [str(v) for v in CASELOAD]
    sv.ask(
        "caseload",
        values,
        lambda s: np.zeros((len(s), len(values))),
        lambda s: [eq(every(s), [str(v)], k) for v, k in CASELOAD.items()],
    )

    # general managers (54, 23 yes; 52: 26 varies, 8 several, 18 one; S7)
    sv.ask(
        "has_market_consultants",
        ["yes", "no"],
        lambda s: np.zeros((len(s), 2)),
        lambda s: [eq(every(s), ["yes"], 23), eq(every(s), ["no"], 31)],
    )
    sv.ask(
        "market_consultants_fulltime",
        list(MARKET_FULLTIME),
        lambda s: np.zeros((len(s), 2)),
        lambda s: [eq(every(s), [c], k) for c, k in MARKET_FULLTIME.items()],
    )
    cats = ["varies", "one_consultant", "several_consultants"]
    sv.ask(
        "employer_followup_organisation",
        cats,
        lambda s: np.zeros((len(s), 3)),
        lambda s: [
            eq(every(s), ["varies"], 26),
            eq(every(s), ["several_consultants"], 8),
            eq(every(s), ["one_consultant"], 18),
        ],
    )


def fill_methods(sv: Staff, staff: dict) -> None:
    fill_grid(sv, staff, "own_competence")
    # work methods: ordinary work training first (179 fairly + 171 very large),
    # then the other items with the cross-tab of line 2135
    question = _question(staff, "work_methods")
    cross = next(t for t in question["published"] if t["dimensions"])
    pinned = {b["work_methods.ordinary_work_training"]: b["n"] for b in cross["bases"]}
    level = {"very_large": "1", "fairly_large": "2"}
    sv.ask(
        "work_methods",
        LIKERT,
        lambda s: scale_scores(s, 1.9, "work_methods"),
        lambda s: [eq(everyone(s), [level[k]], n) for k, n in pinned.items()],
        column="work_methods.ordinary_work_training",
    )

    def crosstab(item, s):
        g = []
        for cell in cross["cells"]:
            other, answer = cell["category"].split("=")
            if other == item:
                rows = s["work_methods.ordinary_work_training"].eq(
                    level[cell["work_methods.ordinary_work_training"]]
                )
                g.append(eq(rows, [level[answer]], cell["n"]))
        return g

    fill_grid(sv, staff, "work_methods", crosstab, skip=("ordinary_work_training",))
    fill_grid(sv, staff, "assistance_frequency")


def fill_employers(sv: Staff, staff: dict) -> None:
    fill_grid(sv, staff, "success_by_disability")
    fill_grid(sv, staff, "measure_usefulness")
    (yes,) = [_stated_interval(c) for c in stated_cells(staff, "active_employer_recruitment")]
    sv.ask(
        "active_employer_recruitment",
        ["yes", "no"],
        lambda s: np.tile([1.5, 0.0], (len(s), 1)),
        lambda s: [stated_count(everyone(s), ["yes"], yes, len(s))],
    )
    fill_grid(sv, staff, "competition_by_actor")
    fill_grid(sv, staff, "factors_offer_trainee")
    fill_grid(sv, staff, "factors_hire")
    fill_grid(sv, staff, "statements_inclusion")
    fill_grid(sv, staff, "employer_support_needs")
    fill_open(sv, "employer_support_needs_other")
    fill_grid(sv, staff, "collaboration_importance")
    fill_open(sv, "what_needed_open")


def fill_open(sv: Staff, qid: str) -> None:
    """An open question: who wrote something (the text is not reconstructed)."""
    answering = sv.answering[qid]
    chosen = sv.rng().permutation(np.flatnonzero(answering))[: OPEN_ANSWERED[qid]]
    wrote = np.zeros(len(answering), bool)
    wrote[chosen] = True
    sv.answering = dict(sv.answering, **{qid: wrote})
    sv.put(qid, sv.routed(qid), "answered")


# =========================================================================== finish
def missing_codes(coded: pd.DataFrame, cb: Codebook, skipped: dict) -> pd.DataFrame:
    """Routed rows without an answer: ``dont_know`` where the plan has a
    "vet ikke" skip, ``no_answer`` otherwise (a break-off, a skipped grid, an
    empty open question; decisions S3)."""
    out = coded.copy()
    view = out.where(out.ne("not_asked"))
    for q in cb.asked:
        routed = cb.routed(view, q.id)
        mask, code = skipped.get(q.id), SKIPS.get(q.id, (None, "no_answer"))[1]
        for col in q.columns:
            gap = routed & out[col].eq("not_asked").to_numpy()
            out.loc[gap, col] = "no_answer"
            if mask is not None:
                out.loc[gap & mask, col] = code
    return out


def _finish(coded: pd.DataFrame, cb: Codebook, rng) -> pd.DataFrame:
    """Shuffle rows (ids carry no information), add the id, order columns."""
    order = rng.permutation(len(coded))
    coded = coded.iloc[order].reset_index(drop=True)
    coded.insert(0, "id", np.arange(1, len(coded) + 1))
    return coded[["id"] + cb.columns()]


def build(shared: Path = SHARED, out: Path = DATA, seed: int = SEED) -> pd.DataFrame:
    tables = json.loads((shared / "survey" / "published_tables.json").read_text("utf-8"))
    staff = tables["surveys"][SURVEY_KEY]
    out.mkdir(parents=True, exist_ok=True)
    _write_json(
        out / "published_ai_staff_2017.json",
        dict(
            staff,
            inconsistencies=[
                i for i in tables["inconsistencies_and_gaps"] if i.get("survey") == "ai_employees"
            ],
        ),
    )
    cb_raw = build_codebook(staff)
    _write_json(out / "codebook.json", cb_raw)
    cb = Codebook.from_dict(cb_raw)

    frame, answering, skipped = response_plan(cb, np.random.default_rng([seed, 0]))
    sv = Staff(cb, frame.astype(object), seed, answering)
    fill_background(sv, staff)
    fill_methods(sv, staff)
    fill_employers(sv, staff)
    coded = missing_codes(sv.coded, cb, skipped)
    coded = _finish(coded, cb, np.random.default_rng([seed, 999]))
    coded.to_csv(out / "ai_staff_2017.csv", index=False, lineterminator="\n")
    return coded


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=SHARED, help="folder holding survey/ (default ../shared)"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    coded = build(args.shared, DATA, args.seed)
    print(f"wrote {len(coded)} records to {DATA / 'ai_staff_2017.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
