"""Rebuild the bundled employer survey ``cati_employers_2017`` and its margins.

Run from the repository root (re-runnable; the output is byte-identical)::

    .venv/bin/python -m estimators.surveys.employers.build [--shared ../shared]

Inputs (read-only, outside the repository): ``shared/survey/published_tables.json``
and ``shared/register/establishments_2018-01-01_by_section_size.csv``.
Outputs in ``estimators/surveys/employers/data/``:

* ``codebook.json`` — the questionnaire (see :mod:`estimators.io.codebook`);
* ``cati_employers_2017.csv`` — 1000 reconstructed interviews, coded;
* ``published_employers_2017.json`` — the printed numbers (for the tests/report);
* ``ssb_establishments_2018-01-01.csv`` — the register table, copied;
* ``register_margins.csv`` (margins of the three variants with provenance) and
  ``design_strata.csv`` (strata, register counts, base weights).

How the records are made: every question is filled by one integer programme
(:func:`estimators.surveys.milp.solve`) whose constraints are the printed
counts (with the corrections of ``cati_decisions.md``) and whose objective is a
seeded Gumbel-perturbed plausibility score. Questions are filled in
questionnaire order, each conditional on the answers before it, so routing is
obeyed by construction and joint tables (Figur 5.5) can be pinned.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from estimators.io.codebook import MISSING_CODES, Codebook
from estimators.surveys import milp as _milp
from estimators.surveys.employers import published, registry
from estimators.surveys.published import count_range, parse_printed

SEED = 20170602
DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[3].parent / "shared"
SIZES = ["1-4", "5-19", "20-49", "50+"]
SIZE_RANK = {s: i for i, s in enumerate(SIZES)}
LIKERT = ["1", "2", "3", "4", "5"]

# Public units per NACE section (decisions D3): O/P/Q hold 158 of 200 (79 %,
# line 1571); the other 42 are municipal utilities, culture, transport etc.
PUBLIC_NACE = {
    "O": 29,
    "P": 60,
    "Q": 69,
    "E": 6,
    "R": 8,
    "H": 4,
    "N": 3,
    "M": 4,
    "S": 6,
    "L": 3,
    "J": 3,
    "D": 3,
    "F": 2,
}


# =========================================================================== codebook
def question_entry(q: dict) -> dict:
    """A codebook question's id, type, texts and routing from the published
    question list (each survey's builder adds its categories and items)."""
    return {
        "id": q["id"],
        "type": q["type"],
        "text_no": q["text_no"],
        "text_en": q["text_en"],
        "routing": q["routing"]["condition"],
        "routing_description": q["routing"]["description"],
    }


def build_codebook(employers: dict) -> dict:
    """Codebook JSON from the published question list plus derived variables."""
    questions = []
    for q in employers["questions"]:
        entry = question_entry(q)
        if q["type"] == "likert5":
            entry["categories"] = [
                dict(c, code=str(c["code"]), value=int(c["code"])) for c in q["categories"]
            ]
            entry["items"] = [
                dict(i, value=k + 1)
                for k, i in enumerate(q["items"])
                if i["code"] != "other_items_unknown"
            ]
        elif q["type"] == "multi":
            entry["items"] = [dict(c, value=k + 1) for k, c in enumerate(q["categories"])]
            entry["categories"] = [
                {"code": "yes", "label_no": "Ja", "label_en": "Mentioned", "value": 1},
                {"code": "no", "label_no": "Nei", "label_en": "Not mentioned", "value": 0},
            ]
            entry["min_choices"] = 1
            entry["max_choices"] = q.get("max_choices") or (
                3 if q["id"] == "reasons_not_hired" else None
            )
        else:
            entry["categories"] = [dict(c, value=k + 1) for k, c in enumerate(q["categories"])]
        questions.append(entry)
    by_id = {q["id"]: q for q in questions}
    by_id["alternative_tasks"]["exclusive"] = ["no"]
    by_id["alternative_tasks"]["max_choices"] = 2
    # Figur 5.6 has n = 281, not the 556 with accommodation experience: the filter
    # must be "hired people who needed accommodation" (decisions D14).
    by_id["reasons_hire_accommodation"]["routing"] = (
        "accommodation_situations.hire_transitional == 'yes' or "
        "accommodation_situations.hire_permanent_need == 'yes'"
    )
    by_id["trainee_ever"]["derived"] = {
        "condition": "trainee_now == 'yes' or trainee_before == 'yes'",
        "true": "yes",
        "false": "no",
    }
    by_id["trainee_ever"]["notes"] = (
        "Missing trainee_now / trainee_before count as 'no', "
        "as the report's base of 1000 implies (304+10+7 = 321)."
    )
    groups = registry.NACE_GROUPS
    nace_group = {
        "id": "nace_group",
        "type": "single",
        "text_no": "Næringsgruppe (NACE-hovednæringer slått sammen, minst 20 respondenter)",
        "text_en": "NACE section group (sections collapsed to >= 20 respondents per group)",
        "routing": "ALL",
        "routing_description": "All firms; derived",
        "categories": [
            {"code": g, "label_no": "+".join(secs), "label_en": "+".join(secs), "value": k + 1}
            for k, (g, secs) in enumerate(groups.items())
        ],
        "derived": {
            "source": "nace_section",
            "map": {s: g for g, secs in groups.items() for s in secs},
        },
        "notes": "Calibration variable; see docs/data.md, 'Collapsing rule'.",
    }
    pos = [q["id"] for q in questions].index("nace_section")
    questions.insert(pos + 1, nace_group)
    return {
        "survey": "employers_cati_2017",
        "notes": [
            "Generated by estimators/surveys/employers/build.py from "
            "shared/survey/published_tables.json."
        ],
        "questions": questions,
    }


# =========================================================================== helpers
class Survey:
    """The frame under construction: coded answers plus an NA view for routing."""

    def __init__(self, codebook: Codebook, frame: pd.DataFrame, seed: int):
        self.cb = codebook
        self.coded = frame
        self.seed = seed
        self.step = 0

    def view(self) -> pd.DataFrame:
        """Answers with every missing code replaced by NA (what routing sees)."""
        return self.coded.apply(lambda s: s.where(~s.isin(list(MISSING_CODES))))

    def rng(self) -> np.random.Generator:
        self.step += 1
        return np.random.default_rng([self.seed, self.step])

    def routed(self, qid: str) -> np.ndarray:
        return self.cb.routed(self.view(), qid)

    def put(self, column: str, routed: np.ndarray, values) -> None:
        col = np.full(len(self.coded), "not_asked", dtype=object)
        col[routed] = values
        self.coded[column] = col

    def ask(self, qid: str, cats: list[str], scores, groups, column=None) -> None:
        """Fill one column (default: ``qid``) for the rows routed to ``qid``.

        ``scores`` and ``groups`` are functions of the routed sub-frame (NA
        view): an (n, K) score array and a list of count bounds (:func:`eq`,
        :func:`between`, :func:`pct`) over category labels ``cats``.
        """
        routed = self.routed(qid)
        sub = self.view()[routed].reset_index(drop=True)
        spec = groups(sub)
        index = {c: k for k, c in enumerate(cats)}
        resolved = [(mask, [index[c] for c in cs], lo, hi) for mask, cs, lo, hi in spec]
        score = scores(sub)
        choice = _milp.solve(column or qid, score, resolved, self.rng())
        self.put(column or qid, routed, np.array(cats, dtype=object)[choice])


def eq(mask, cats, n):
    return (np.asarray(mask, bool), list(cats), n, n)


def between(mask, cats, lo, hi):
    return (np.asarray(mask, bool), list(cats), lo, hi)


def pct(mask, cats, percent, base, decimals=0):
    """Counts of ``base`` the report prints as ``percent`` (double rounding)."""
    ok = count_range(percent, base, decimals)
    if not ok:
        raise ValueError(f"no count of {base} prints as {percent}")
    return (np.asarray(mask, bool), list(cats), ok[0], ok[-1])


def effects(
    sub: pd.DataFrame,
    cats: list[str],
    base: dict,
    by: dict | None = None,
    size_slope: dict | None = None,
) -> np.ndarray:
    """Log-odds scores: ``base[c]`` + per-column effects + slope in size rank."""
    n = len(sub)
    out = np.zeros((n, len(cats)))
    rank = sub["size_class"].map(SIZE_RANK).to_numpy(float)
    for k, c in enumerate(cats):
        out[:, k] += base.get(c, 0.0)
        for col, table in (by or {}).items():
            out[:, k] += sub[col].map(lambda v: table.get(v, {}).get(c, 0.0)).to_numpy(float)
        if size_slope:
            out[:, k] += size_slope.get(c, 0.0) * rank
    return out


def likert_scores(sub: pd.DataFrame, mean: dict, spread: float, extra_cats=()) -> np.ndarray:
    """Scores of the 5 scale points around a sector-specific mean."""
    mu = sub["sector"].map(mean).to_numpy(float)[:, None]
    points = np.arange(1, 6)[None, :]
    s = -((points - mu) ** 2) / (2 * spread**2)
    return np.hstack([s] + [np.zeros((len(sub), 1))] * len(extra_cats))


SECTION_N = dict(
    zip(
        "ABCDEFGHIJKLMNOPQRST",
        [19, 6, 106, 8, 12, 71, 237, 39, 45, 31, 14, 27, 81, 32, 29, 75, 99, 24, 44, 1],
    )
)


def _table(qid: str, ref: str) -> dict:
    question = next(q for q in published()["questions"] if q["id"] == qid)
    return next(t for t in question["published"] if t["table_ref"].startswith(ref))


def figure_cells(qid: str, ref: str, bases: dict, base_key: str = "nace_section") -> dict:
    """(section, category) -> count range that prints as the published percent.

    Uses the report's double rounding; a cell without any integer solution gets
    the count nearest to the printed percentage (listed in the decisions file).
    """
    out = {}
    for cell in _table(qid, ref)["cells"]:
        base = bases[cell[base_key]]
        ok = count_range(cell["pct"], base, _decimals(cell["pct_printed"]))
        if not ok:
            ok = [round(cell["pct"] * base / 100)]
        out[(cell["nace_section"], cell["category"])] = (ok[0], ok[-1])
    return out


def figure_counts(qid: str, ref: str, bases: dict, exclude=()) -> dict:
    return {
        sec: rng for (sec, _), rng in figure_cells(qid, ref, bases).items() if sec not in exclude
    }


def _decimals(printed: str) -> int:
    parsed = parse_printed(printed)
    if parsed is None:
        raise ValueError(f"printed percentage {printed!r} states no number")
    return parsed[1]


# =========================================================================== frame
def build_frame(survey_counts: dict, register: pd.DataFrame, rng) -> pd.DataFrame:
    """Sector, size and NACE section for 1000 units (Tabell 5.2, 5.3)."""
    strata = survey_counts["strata"]
    nace_total = survey_counts["nace"]
    rows = [(sec, size) for (sec, size), n in strata.items() for _ in range(n)]
    frame = pd.DataFrame(rows, columns=["sector", "size_class"])
    sections = list(nace_total)
    shares = registry.section_size_counts(register)  # >=1 employee, 2018
    prob = shares.div(shares.sum(axis=0), axis=1)  # P(section | size)
    score = (
        np.log(prob.reindex(sections).fillna(1e-6).clip(lower=1e-6))
        .T.reindex(frame["size_class"])
        .to_numpy()
    )
    public = frame["sector"].eq("public").to_numpy()
    groups = []
    for k, s in enumerate(sections):
        n_pub = PUBLIC_NACE.get(s, 0)
        groups.append((public, [k], n_pub, n_pub))
        groups.append((~public, [k], nace_total[s] - n_pub, nace_total[s] - n_pub))
    choice = _milp.solve("nace_section", score, groups, rng)
    frame["nace_section"] = np.array(sections, dtype=object)[choice]
    return frame


# =========================================================================== questions
def fill_trainee_block(sv: Survey, ever_cells: dict) -> None:
    pub = lambda s: s["sector"].eq("public")  # noqa: E731 (short local predicates)
    nace = lambda s, *codes: s["nace_section"].isin(codes)  # noqa: E731

    # trainee_now: yes/no/no_answer (Tabell 5.4, 5.6 bases, Figur 5.1, decisions D4-D5).
    # Figur 5.1 counts are those the report's double rounding prints; R (45 % of
    # 24) needs 4 non-answers: 9 of 20.
    cats = ["yes", "no", "no_answer"]
    fig51 = figure_counts("trainee_now", "Figur 5.1", SECTION_N, exclude={"O", "R"})
    fig51.update({"O": (17, 17), "R": (9, 9)})

    def groups(s):
        g = [
            eq(pub(s), ["yes"], 102),
            eq(~pub(s), ["yes"], 193),
            eq(pub(s), ["no_answer"], 2),
            eq(~pub(s), ["no_answer"], 5),
            eq(pub(s) & nace(s, "R"), ["no_answer"], 2),
            eq(nace(s, "R"), ["no_answer"], 4),
            eq(~pub(s) & ~nace(s, "F", "H", "J", "K", "L", "M", "R"), ["no_answer"], 0),
        ]
        g += [between(nace(s, sec), ["yes"], lo, hi) for sec, (lo, hi) in fig51.items()]
        g += [eq(nace(s, *(set(fig51) - {"R"})), ["no_answer"], 0)]
        # every sector x size cell keeps at least one firm whose experience is
        # only from earlier years (Tabell 5.5 'ever' minus 'now' is never zero)
        for (sec, size), n_ever in ever_cells.items():
            cell = s["sector"].eq(sec) & s["size_class"].eq(size)
            g.append(between(cell, ["yes"], 0, n_ever - 1))
        return g

    sv.ask(
        "trainee_now",
        cats,
        lambda s: effects(
            s,
            cats,
            {"yes": -0.9, "no_answer": -2},
            by={
                "sector": {"public": {"yes": 0.9}},
                "nace_section": {k: {"yes": 0.8} for k in "OPQ"},
            },
            size_slope={"yes": 0.35},
        ),
        groups,
    )

    # trainee_before: asked if trainee_now == 'no' (Tabell 5.4, 5.5, Figur 5.2)
    view = sv.view()
    now_yes = view["trainee_now"].eq("yes")
    cats = ["yes", "no", "no_answer"]
    fig52 = figure_counts("trainee_ever", "Figur 5.2", {s: 679 for s in SECTION_N})
    fig52["S"] = (max(fig52["S"][0], 28), fig52["S"][1])  # the 8 named sections lead
    now_by_cell = view[now_yes].groupby(["sector", "size_class"]).size()
    now_by_nace = view[now_yes].groupby("nace_section").size()

    def trainee_before_groups(s):
        g = [
            eq(pub(s), ["yes"], 69),
            eq(~pub(s), ["yes"], 315),
            eq(pub(s), ["no_answer"], 1),
            eq(~pub(s), ["no_answer"], 9),
        ]
        for (sec, size), n_ever in ever_cells.items():
            cell = s["sector"].eq(sec) & s["size_class"].eq(size)
            g.append(eq(cell, ["yes"], n_ever - int(now_by_cell.get((sec, size), 0))))
        for sec in sorted(set(view["nace_section"])):
            k = int(now_by_nace.get(sec, 0))
            lo, hi = fig52.get(sec, (0, 27))
            g.append(between(nace(s, sec), ["yes"], max(lo - k, 0), hi - k))
        return g

    sv.ask(
        "trainee_before",
        cats,
        lambda s: effects(
            s,
            cats,
            {"yes": 0.2, "no_answer": -3},
            by={"nace_section": {k: {"yes": 0.7} for k in "FCISG"}},
            size_slope={"yes": 0.4},
        ),
        trainee_before_groups,
    )

    # trainee_plans_next_year: asked if trainee_now == 'no' (text 5.2, decisions D6-D7)
    cats = ["yes", "no"]

    def plans_groups(s):
        before = s["trainee_before"].eq("yes")
        never = ~before
        g = [
            eq(pub(s) & before, ["yes"], 38),
            eq(~pub(s) & before, ["yes"], 118),
            eq(pub(s) & never, ["yes"], 3),
            eq(~pub(s) & never, ["yes"], 18),
            eq(never & s["size_class"].isin(["1-4", "5-19"]), ["no"], 222),
            eq(never & nace(s, "G"), ["no"], 84),
            eq(never & nace(s, "M"), ["no"], 35),
        ]
        return g

    sv.ask(
        "trainee_plans_next_year",
        cats,
        lambda s: effects(
            s,
            cats,
            {"yes": -1.2},
            by={"trainee_before": {"yes": {"yes": 1.4}}, "sector": {"public": {"yes": 0.6}}},
            size_slope={"yes": 0.35},
        ),
        plans_groups,
    )


def fill_trainee_followups(sv: Survey) -> None:
    pub = lambda s: s["sector"].eq("public")  # noqa: E731

    # reasons_offer_trainee (Figur 5.3/5.4, n = 700; item counts from decisions D8)
    targets = {  # item: (public top2, private top2, public dk, private dk)
        "csr": (158, 395, 0, 0),
        "make_difference": (158, 379, 0, 0),
        "prior_experience": (112, 260, 3, 1),
        "training_for_hiring": (62, 280, 5, 0),
        "recruitment_need": (45, 260, 1, 1),
        "ia_agreement": (130, 126, 0, 0),
        "work_environment": (92, 231, 0, 0),
        "internal_policy": (104, 150, 0, 0),
    }
    for item, (tp, tq, dp, dq) in targets.items():
        cats = LIKERT + ["dont_know"]
        mean = {"public": 1 + 4 * tp / 174, "private": 1 + 4 * tq / 526}
        sv.ask(
            "reasons_offer_trainee",
            cats,
            lambda s, m=mean: likert_scores(s, m, 1.2, ["dk"]) - np.r_[0, 0, 0, 0, 0, 3],
            lambda s, tp=tp, tq=tq, dp=dp, dq=dq: [
                eq(pub(s), ["4", "5"], tp),
                eq(~pub(s), ["4", "5"], tq),
                eq(pub(s), ["dont_know"], dp),
                eq(~pub(s), ["dont_know"], dq),
            ],
            column=f"reasons_offer_trainee.{item}",
        )
    _tune_correlation(
        sv, "reasons_offer_trainee.csr", "reasons_offer_trainee.make_difference", target=0.46
    )

    # trainee_task_type (Tabell 5.6): exact by sector
    cats = ["ordinary", "adapted", "training", "extra", "other"]
    pub_n = dict(zip(cats, [49, 22, 15, 6, 10]))
    pri_n = dict(zip(cats, [118, 28, 21, 18, 8]))
    sv.ask(
        "trainee_task_type",
        cats,
        lambda s: effects(s, cats, {"ordinary": 1.0}),
        lambda s: (
            [eq(pub(s), [c], pub_n[c]) for c in cats] + [eq(~pub(s), [c], pri_n[c]) for c in cats]
        ),
    )

    # trainee_count (text 5.2): 152 x 1, 65 x 2, 22 x 3, 56 with 4+ incl. 17/20/25/27/50;
    # larger firms take more (the positive regression), and no firm has more
    # trainees than the top of its size class has employees.
    counts = {
        1: 152,
        2: 65,
        3: 22,
        4: 16,
        5: 11,
        6: 7,
        7: 3,
        8: 4,
        10: 5,
        12: 3,
        15: 2,
        17: 1,
        20: 1,
        25: 1,
        27: 1,
        50: 1,
    }
    cats = [str(v) for v in counts]
    ceiling = {"1-4": 4, "5-19": 19, "20-49": 49, "50+": np.inf}

    def scores(s):
        values = np.array(list(counts), float)[None, :]
        rank = s["size_class"].map(SIZE_RANK).to_numpy(float)[:, None]
        cap = s["size_class"].map(ceiling).to_numpy(float)[:, None]
        return np.where(values <= cap, np.log(values) * (rank - 1.2) * 0.9, -np.inf)

    sv.ask(
        "trainee_count",
        cats,
        scores,
        lambda s: [eq(np.ones(len(s), bool), [str(v)], n) for v, n in counts.items()],
    )

    # reason_no_trainee (text 5.4; base 521 = not now and no plans; decisions D9)
    cats = [
        "no_need",
        "too_costly",
        "cannot_accommodate",
        "no_requests",
        "prior_nav_experience",
        "sickness_or_environment",
        "colleagues_negative",
        "lack_knowledge",
        "other",
    ]
    totals = dict(zip(cats, [156, 78, 42, 30, 14, 10, 6, 25, 160]))
    sv.ask(
        "reason_no_trainee",
        cats,
        lambda s: effects(
            s,
            cats,
            {"no_need": 0.5},
            by={
                "sector": {
                    "public": {"cannot_accommodate": 1.0, "no_requests": 1.2, "too_costly": -0.8}
                }
            },
        ),
        lambda s: [eq(np.ones(len(s), bool), [c], n) for c, n in totals.items()],
    )

    # hired_after_trainee (Tabell 5.7): exact by sector, 16 missing
    cats = ["yes", "no", "no_answer"]
    sv.ask(
        "hired_after_trainee",
        cats,
        lambda s: effects(s, cats, {}, size_slope={"yes": 0.3}),
        lambda s: [
            eq(pub(s), ["yes"], 28),
            eq(pub(s), ["no"], 32),
            eq(pub(s), ["no_answer"], 9),
            eq(~pub(s), ["yes"], 227),
            eq(~pub(s), ["no"], 81),
            eq(~pub(s), ["no_answer"], 7),
        ],
    )

    # hired_position_type (Tabell 5.8): multi, per option counts by sector
    options = ["permanent", "temporary", "on_call", "wage_subsidy", "adapted_part_time"]
    pub_n = dict(zip(options, [17, 17, 5, 3, 2]))
    pri_n = dict(zip(options, [184, 36, 32, 24, 21]))
    ask_multi(
        sv,
        "hired_position_type",
        options,
        max_size=3,
        groups=lambda s, combos: (
            [eq(pub(s), combos_with(combos, o), pub_n[o]) for o in options]
            + [eq(~pub(s), combos_with(combos, o), pri_n[o]) for o in options]
        ),
        size_penalty=1.3,
    )

    # reasons_not_hired (Tabell 5.9): up to three mentions, 155 in total
    options = [
        "no_recruitment_need",
        "lacks_formal_competence",
        "wrong_candidate",
        "misc_grouped",
        "other",
    ]
    totals = dict(zip(options, [50, 24, 12, 15, 54]))
    ask_multi(
        sv,
        "reasons_not_hired",
        options,
        max_size=3,
        groups=lambda s, combos: [
            eq(np.ones(len(s), bool), combos_with(combos, o), n) for o, n in totals.items()
        ],
        size_penalty=1.0,
    )


def fill_competence(sv: Survey) -> None:
    pub = lambda s: s["sector"].eq("public")  # noqa: E731
    cats = [
        "craft_certificate",
        "higher_education",
        "unskilled",
        "courses_certification",
        "specialist_education",
        "other",
    ]
    pub_n = dict(zip(cats, [38, 120, 13, 5, 7, 17]))
    pri_n = dict(zip(cats, [274, 187, 177, 53, 42, 67]))  # 187, not the printed 274
    # Tabell 5.11 (decisions D10): counts per industry that print as the table's
    # percentages; F 'unskilled' and 'higher_education', N 'unskilled' and S's
    # two 20 % cells have no integer solution and take the nearest count.
    t511: dict[str, dict[str, int]] = {}
    for (sec, cat), (lo, hi) in figure_cells("competence_need", "Tabell 5.11", SECTION_N).items():
        t511.setdefault(sec, {})[cat] = (lo + hi) // 2

    def groups(s):
        g = [eq(pub(s), [c], pub_n[c]) for c in cats] + [eq(~pub(s), [c], pri_n[c]) for c in cats]
        for sec, printed in t511.items():
            in_sec = s["nace_section"].eq(sec)
            g += [eq(in_sec, [c], n) for c, n in printed.items()]
            # the printed categories are the industry's top three
            g += [between(in_sec, [c], 0, min(printed.values())) for c in cats if c not in printed]
        g.append(eq(~pub(s) & s["size_class"].eq("50+"), ["craft_certificate"], 77))
        return g

    sv.ask(
        "competence_need",
        cats,
        lambda s: effects(
            s,
            cats,
            {"craft_certificate": 0.5, "higher_education": 0.3, "unskilled": 0.2},
            by={"sector": {"public": {"higher_education": 1.0}}},
            size_slope={"unskilled": -0.3, "craft_certificate": 0.2},
        ),
        groups,
    )


def fill_accommodation(sv: Survey) -> None:
    pub = lambda s: s["sector"].eq("public")  # noqa: E731
    # accommodation_experience (Tabell 5.12) jointly with trainee_now (Figur 5.5, D12)
    cats = ["yes", "no", "no_answer"]
    joint = {
        ("yes", "yes"): 224,
        ("yes", "no"): 67,
        ("yes", "no_answer"): 4,
        ("no", "yes"): 330,
        ("no", "no"): 366,
        ("no", "no_answer"): 2,
        (None, "yes"): 2,
        (None, "no"): 2,
        (None, "no_answer"): 3,
    }

    def groups(s):
        g = [
            eq(pub(s), ["yes"], 165),
            eq(pub(s), ["no"], 33),
            eq(pub(s), ["no_answer"], 2),
            eq(~pub(s), ["yes"], 391),
            eq(~pub(s), ["no"], 402),
            eq(~pub(s), ["no_answer"], 7),
        ]
        for (now, acc), n in joint.items():
            rows = s["trainee_now"].isna() if now is None else s["trainee_now"].eq(now)
            g.append(eq(rows, [acc], n))
        return g

    sv.ask(
        "accommodation_experience",
        cats,
        lambda s: effects(
            s,
            cats,
            {"yes": -0.3, "no_answer": -3},
            by={"sector": {"public": {"yes": 1.5}}},
            size_slope={"yes": 0.5},
        ),
        groups,
    )

    # accommodation_situations (Tabell 5.13 with 491; text 5.6; D13-D14)
    options = ["sickness_absence", "hire_transitional", "hire_permanent_need", "adapted_part_time"]

    def situations_groups(s, combos):
        every = np.ones(len(s), bool)
        either = [c for c in combos if "hire_transitional" in c or "hire_permanent_need" in c]
        return [
            eq(pub(s), combos_with(combos, "sickness_absence"), 136),
            eq(~pub(s), combos_with(combos, "sickness_absence"), 267),
            eq(every, combos_with(combos, "hire_transitional"), 205),
            eq(pub(s), combos_with(combos, "hire_permanent_need"), 69),
            eq(~pub(s), combos_with(combos, "hire_permanent_need"), 94),
            eq(pub(s), combos_with(combos, "adapted_part_time"), 30),
            eq(~pub(s), combos_with(combos, "adapted_part_time"), 35),
            (every, either, 281, 281),
        ]

    ask_multi(
        sv,
        "accommodation_situations",
        options,
        max_size=4,
        groups=situations_groups,
        size_penalty=0.8,
    )

    # reasons_hire_accommodation (Figur 5.6, n = 281)
    targets = {
        "csr": 205,
        "competence_need": 84,
        "recruitment_need": 104,
        "nav_followup_measures": 126,
        "prior_experience_candidate": 115,
    }
    for item, top2 in targets.items():
        mean = {"public": 1 + 4 * top2 / 281, "private": 1 + 4 * top2 / 281}
        sv.ask(
            "reasons_hire_accommodation",
            LIKERT,
            lambda s, m=mean: likert_scores(s, m, 1.2),
            lambda s, t=top2: [eq(np.ones(len(s), bool), ["4", "5"], t)],
            column=f"reasons_hire_accommodation.{item}",
        )

    # reason_not_hire_accommodation (Tabell 5.14): exact by sector
    cats = [
        "no_recruitment_need",
        "no_time_followup",
        "too_costly",
        "insufficient_public_support",
        "burden_on_colleagues",
        "already_accommodate_sick",
        "other",
    ]
    pub_n = dict(zip(cats, [6, 2, 1, 2, 0, 0, 22]))
    pri_n = dict(zip(cats, [96, 54, 26, 3, 3, 0, 220]))
    sv.ask(
        "reason_not_hire_accommodation",
        cats,
        lambda s: effects(s, cats, {}),
        lambda s: (
            [eq(pub(s), [c], pub_n[c]) for c in cats] + [eq(~pub(s), [c], pri_n[c]) for c in cats]
        ),
    )


def fill_disability_and_tasks(sv: Survey) -> None:
    pub = lambda s: s["sector"].eq("public")  # noqa: E731
    every = lambda s: np.ones(len(s), bool)  # noqa: E731
    # disability_compatibility (Figur 5.7/5.8): value-1 and 1+2 shares, by sector
    spec = {  # item: (total 1+2 %, value-1 %, value-2 %, public 1+2 %, private 1+2 %)
        "cognitive": (56, None, None, None, None),
        "social": (51, 30, 21, 61, 48),
        "stability": (75, None, None, None, None),
        "motivation": (72, None, None, None, None),
        "sensory": (None, 49, 18, None, None),
        "substance_crime": (None, 42, 15, 66, 55),
        "physical_mobility": (49, 35, None, 35, 53),
        "musculoskeletal": (None, None, None, 21, 43),
        "language": (49, None, None, None, None),
        "slow_pace": (30, None, None, None, None),
    }
    for item, (t12, t1, t2, p12, q12) in spec.items():

        def groups(s, t12=t12, t1=t1, t2=t2, p12=p12, q12=q12):
            g = []
            n_pub = int(pub(s).sum())
            if t12 is not None:
                g.append(pct(every(s), ["1", "2"], t12, len(s)))
            if t1 is not None:
                g.append(pct(every(s), ["1"], t1, len(s)))
            if t2 is not None:
                g.append(pct(every(s), ["2"], t2, len(s)))
            if p12 is not None:
                g.append(pct(pub(s), ["1", "2"], p12, n_pub))
                g.append(pct(~pub(s), ["1", "2"], q12, len(s) - n_pub))
            return g

        share = (t12 or ((t1 or 0) + (t2 or 0)) or 40) / 100
        mean = {"public": 1.5 + 3.5 * (1 - share), "private": 1.5 + 3.5 * (1 - share)}
        sv.ask(
            "disability_compatibility",
            LIKERT,
            lambda s, m=mean: likert_scores(s, m, 1.3),
            groups,
            column=f"disability_compatibility.{item}",
        )

    # alternative_tasks (Tabell 5.15; 'no' exclusive; line 1744 industry shares)
    combos = ["full_time", "part_time", "full_time+part_time", "no"]
    shares = figure_cells(
        "alternative_tasks",
        "text line 1744",
        {"full_time": 168, "part_time": 432},
        base_key="category",
    )

    def alternative_groups(s, combos):
        sec = lambda *c: s["nace_section"].isin(c)  # noqa: E731
        full, part = combos_with(combos, "full_time"), combos_with(combos, "part_time")
        g = [
            eq(pub(s), ["full_time"], 6),
            eq(pub(s), ["part_time"], 63),
            eq(pub(s), ["full_time+part_time"], 36),
            eq(pub(s), ["no"], 95),
            eq(~pub(s), ["full_time"], 29),
            eq(~pub(s), ["part_time"], 236),
            eq(~pub(s), ["full_time+part_time"], 97),
            eq(~pub(s), ["no"], 438),
            between(sec("S"), full, 12, 17),
        ]
        for (nace_sec, option), (lo, hi) in shares.items():
            g.append(between(sec(nace_sec), full if option == "full_time" else part, lo, hi))
        for other in sorted(set(s["nace_section"]) - set("GCQS")):
            g.append(between(sec(other), full, 0, 11))
        for other in sorted(set(s["nace_section"]) - set("GCQPM")):
            g.append(between(sec(other), part, 0, 30))
        return g

    ask_multi(
        sv,
        "alternative_tasks",
        ["full_time", "part_time", "no"],
        alternative_groups,
        combos=combos,
        scores=lambda s: effects(s, combos, {"no": 0.3}, size_slope={"no": -0.3}),
    )

    # inclusion_measures_importance (Figur 5.9): top-2 shares
    targets = {"nav_communication": 850, "free_trial": 832, "nav_economic_measures": 750}
    for item, top2 in targets.items():
        mean = {"public": 1 + 4 * top2 / 1000, "private": 1 + 4 * top2 / 1000}
        sv.ask(
            "inclusion_measures_importance",
            LIKERT,
            lambda s, m=mean: likert_scores(s, m, 1.0),
            lambda s, t=top2: [eq(every(s), ["4", "5"], t)],
            column=f"inclusion_measures_importance.{item}",
        )


# =========================================================================== multi / grids
def combos_with(combos, option):
    return [c for c in combos if option in c.split("+")]


def ask_multi(
    sv: Survey,
    qid: str,
    options: list[str],
    groups,
    max_size: int | None = None,
    size_penalty: float = 1.0,
    combos: list[str] | None = None,
    scores=None,
) -> None:
    """A multi-response question as one categorical over option combinations.

    ``combos`` lists the allowed combinations (``"a+b"``); by default every
    non-empty set of at most ``max_size`` options, scored so that each extra
    mention costs ``size_penalty``. ``groups(sub, combos)`` gives the bounds.
    """
    if combos is None:
        if max_size is None:
            raise ValueError(f"{qid}: ask_multi needs combos or max_size")
        combos = [
            "+".join(c) for r in range(1, max_size + 1) for c in itertools.combinations(options, r)
        ]

    if scores is None:

        def scores(s):
            size = np.array([len(c.split("+")) for c in combos], float)
            return np.tile(-size_penalty * (size - 1), (len(s), 1))

    column = f"_{qid}"
    sv.ask(qid, combos, scores, lambda s: groups(s, combos), column=column)
    combo = sv.coded.pop(column)
    for option in options:
        sv.coded[f"{qid}.{option}"] = combo.map(
            lambda v, o=option: v if v == "not_asked" else ("yes" if o in v.split("+") else "no")
        )


def _tune_correlation(sv: Survey, a: str, b: str, target: float) -> None:
    """Swap ``b`` between respondents with the same sector and the same top-2
    status (so every published count stays) until Pearson r(a, b) rounds to
    ``target`` at two decimals (text 5.3: r = .46)."""
    rng = sv.rng()
    x = pd.to_numeric(sv.coded[a], errors="coerce")
    y = pd.to_numeric(sv.coded[b], errors="coerce").to_numpy(float)
    ok = (x.notna() & ~np.isnan(y)).to_numpy()
    x = x.to_numpy(float)
    key = (sv.coded["sector"] + "/" + (y >= 4).astype(str)).to_numpy()

    def r(yy):
        return np.corrcoef(x[ok], yy[ok])[0, 1]

    current = r(y)
    for _ in range(200000):
        if round(current, 2) == target:
            break
        i, j = rng.choice(np.flatnonzero(ok), 2, replace=False)
        if key[i] != key[j] or y[i] == y[j]:
            continue
        y2 = y.copy()
        y2[i], y2[j] = y[j], y[i]
        new = r(y2)
        if abs(new - target) < abs(current - target):
            y, current = y2, new
    else:
        raise RuntimeError(f"could not bring r({a}, {b}) to {target}")
    coded = sv.coded[b].copy()
    coded[ok] = [str(int(v)) for v in y[ok]]
    sv.coded[b] = coded


# =========================================================================== main
def build(shared: Path = SHARED, out: Path = DATA, seed: int = SEED) -> pd.DataFrame:
    tables = json.loads((shared / "survey" / "published_tables.json").read_text("utf-8"))
    employers = tables["surveys"]["employers_cati_2017"]
    register_src = shared / "register" / "establishments_2018-01-01_by_section_size.csv"
    out.mkdir(parents=True, exist_ok=True)
    _write_json(
        out / "published_employers_2017.json",
        dict(
            employers,
            inconsistencies=[
                i for i in tables["inconsistencies_and_gaps"] if i.get("survey") == "employers"
            ],
        ),
    )
    shutil.copyfile(register_src, out / registry.REGISTER_FILE)
    register = registry.read_register(out / registry.REGISTER_FILE)

    cb_raw = build_codebook(employers)
    _write_json(out / "codebook.json", cb_raw)
    cb = Codebook.from_dict(cb_raw)

    bg = employers["background_variables"]
    strata = {("public", s): n for s, n in zip(SIZES, [25, 55, 65, 55])}
    strata.update({("private", s): n for s, n in zip(SIZES, [240, 240, 160, 160])})
    nace = {s["code"]: s["n"] for s in bg["nace_section"]["sections"]}
    frame = build_frame(
        {"strata": strata, "nace": nace}, register, np.random.default_rng([seed, 0])
    )
    sv = Survey(cb, frame.astype(object), seed)

    ever_cells = {("public", s): n for s, n in zip(SIZES, [21, 43, 55, 52])}
    ever_cells.update({("private", s): n for s, n in zip(SIZES, [127, 128, 122, 131])})
    fill_trainee_block(sv, ever_cells)
    fill_trainee_followups(sv)
    fill_competence(sv)
    fill_accommodation(sv)
    fill_disability_and_tasks(sv)

    derived = cb.derive(sv.view())
    for q in cb.derived:
        sv.coded[q.id] = derived[q.id]
    coded = _finish(sv.coded, cb, np.random.default_rng([seed, 999]))
    coded.to_csv(out / "cati_employers_2017.csv", index=False, lineterminator="\n")
    registry.write_margins(register, coded, out)
    return coded


def _finish(coded: pd.DataFrame, cb: Codebook, rng) -> pd.DataFrame:
    """Shuffle rows (ids carry no information), add id and stratum, order columns."""
    order = rng.permutation(len(coded))
    coded = coded.iloc[order].reset_index(drop=True)
    coded.insert(0, "id", np.arange(1, len(coded) + 1))
    coded.insert(1, "stratum", coded["sector"] + ":" + coded["size_class"])
    columns = ["id", "stratum"] + cb.columns()
    return coded[columns]


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=SHARED,
        help="folder holding survey/ and register/ (default ../shared)",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    coded = build(args.shared, DATA, args.seed)
    print(f"wrote {len(coded)} records to {DATA / 'cati_employers_2017.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
