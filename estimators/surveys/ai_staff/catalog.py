"""The key-rate catalog of the staff survey (published_tables.md, 3.2).

All 20 ids of section 3.2, as :class:`~estimators.inference.catalog.KeyRate`
definitions on the codebook columns of ``load_ai_staff()``. A rate with two
items expands to one definition per item, named ``id.item``
(``competence_labour_market_employers.labour_market``, ``assist_cv_placement.cv``,
``useful_oppfolging_aft.AFT``, ``competence_basic_skills.very_good``).

Bases are the answered items (the printed N of the figure: 596, 591, 698,
412, 409, 601, 596, 726); a rate routed to one role carries the role in its
base (job consultants: work methods, assistance, caseload), so that it is
estimated in that role's domain. The usefulness of a measure is rated among
those with experience of it (``no_experience`` leaves the base; the report
prints no N for Figur 7.6, decision S8). ``caseload_mean`` is a mean
(:attr:`KeyRate.mean_of`), with a t interval.

Published values: chapter 7 prints no table, only numbers in its text, some
in words. An exact percentage is a :class:`Published` with its decimals; a
number in words keeps its nominal value and wording, and the interval of
exact shares it allows (:mod:`estimators.surveys.ai_staff.printed`).
Nothing is printed by role.
"""

from __future__ import annotations

from estimators.inference.catalog import KeyRate, Published
from estimators.inference.domains import Chosen, Equals, Everyone, NotMissing, OneOf
from estimators.surveys.ai_staff.printed import stated

DEFAULT_DOMAINS = ("all", "role")
#: Role differences: job consultants (the largest group) against the
#: supervisors and against the general managers; the rates asked of job
#: consultants only have no contrast and drop out.
DEFAULT_CONTRASTS = (
    ("role", "job_consultant", "work_production_leader"),
    ("role", "job_consultant", "general_manager"),
)
TOP2 = ("1", "2")
JOB_CONSULTANT = Equals("role", "job_consultant")


def _p(percent: float, line: int, qualifier: str | None = None, text: str = "") -> Published:
    """A published number; in words (``qualifier``) with its interval."""
    interval = stated(percent, qualifier, text or f"{percent} prosent")
    decimals = 1 if float(percent) % 1 else 0
    if qualifier is None:
        return Published(float(percent), decimals, line)
    assert interval is not None  # stated() gives None only without a percent
    return Published(
        float(percent),
        decimals,
        line,
        low=float(interval.low),
        high=float(interval.high),
        text=text,
    )


def _grid(question: str, item: str, codes=TOP2, base=None, rated_only=False):
    """Numerator and base of a grid item's share of ``codes``."""
    column = f"{question}.{item}"
    answered = NotMissing(column)
    if rated_only:
        answered = answered & ~Equals(column, "no_experience")
    return OneOf(column, tuple(codes)), answered if base is None else base & answered


def _build() -> list[KeyRate]:
    rates = [
        KeyRate(
            "active_recruitment_rate",
            "Company actively recruits new employers",
            Equals("active_employer_recruitment", "yes"),
            NotMissing("active_employer_recruitment"),
            _p(95, 2186),
        )
    ]
    num, base = _grid("competition_by_actor", "NAV")
    rates.append(
        KeyRate(
            "competition_from_nav",
            "Very/fairly large competition from NAV",
            num,
            base,
            _p(62, 2193, "approximately", "Om lag 62 prosent"),
        )
    )
    for item, meaning in (
        ("labour_market", "the labour market"),
        ("employer_interaction", "interaction with employers"),
    ):
        num, base = _grid("own_competence", item)
        rates.append(
            KeyRate(
                f"competence_labour_market_employers.{item}",
                f"Own company's competence on {meaning} very or fairly good",
                num,
                base,
                _p(90, 2110, "more_than", "Over 90 prosent"),
            )
        )
    for level, code, published in (
        ("very_good", "1", _p(30, 2110, "verbal", "tre av ti")),
        ("fairly_good", "2", _p(44, 2110)),
    ):
        num, base = _grid("own_competence", "basic_skills_mapping", (code,))
        rates.append(
            KeyRate(
                f"competence_basic_skills.{level}",
                f"Competence in basic-skills mapping: {level.replace('_', ' ')}",
                num,
                base,
                published,
            )
        )
    for rid, item, meaning, published, counts in (
        (
            "method_ordinary_work_training",
            "ordinary_work_training",
            "Uses ordinary work training (SE/IPS) to a very/fairly large extent",
            _p(85, 2002),
            (350, 412),
        ),
        (
            "method_combine",
            "combine_methods",
            "Combines methods to a very/fairly large extent",
            _p(90, 2124),
            None,
        ),
        (
            "method_riv",
            "ringer_i_vannet",
            "Uses Ringer i vannet to a very/fairly large extent",
            _p(49, 2003),
            None,
        ),
    ):
        num, base = _grid("work_methods", item, base=JOB_CONSULTANT)
        rates.append(KeyRate(rid, meaning, num, base, published, printed_counts=counts))
    for rid, item, meaning, percent in (
        ("assist_career_guidance", "career_guidance", "Career guidance very/fairly common", 94),
        ("assist_job_search", "job_search", "Job-search guidance very/fairly common", 88),
        ("assist_cv_placement.cv", "cv", "Help writing a CV very/fairly common", 80),
        (
            "assist_cv_placement.job_placement",
            "job_placement",
            "Job-placement/recruitment assistance very/fairly common",
            80,
        ),
    ):
        num, base = _grid("assistance_frequency", item, base=JOB_CONSULTANT)
        rates.append(KeyRate(rid, meaning, num, base, _p(percent, 2146)))
    rates.append(
        KeyRate(
            "caseload_mean",
            "Mean number of participants per job consultant",
            Everyone(),
            JOB_CONSULTANT,
            Published(11.6, 1, 2074),
            mean_of="caseload",
        )
    )
    for rid, item, meaning, published in (
        (
            "goodwill_placements_agree",
            "goodwill_placements",
            "Experience employer goodwill for placements (fully/partly agree)",
            _p(80, 2054, "more_than", "Drøyt 80 prosent"),
        ),
        (
            "unskilled_harder_agree",
            "unskilled_harder",
            "Harder to place unskilled candidates now (fully/partly agree)",
            _p(60, 2056, "slightly_less_than_or_about", "Nær 60 prosent"),
        ),
        (
            "employers_exploit_agree",
            "employers_exploit",
            "Some employers exploit placements for free labour (fully/partly agree)",
            _p(60, 2396, "verbal", "Seks av ti"),
        ),
        (
            "disability_view_varies_agree",
            "disability_view_varies",
            "Employers' view of disability varies across industries (fully/partly agree)",
            _p(77, 2058),
        ),
        (
            "need_more_employer_work_agree",
            "need_more_employer_work",
            "Need to work more with employers (fully/partly agree)",
            _p(86, 2400),
        ),
    ):
        num, base = _grid("statements_inclusion", item)
        rates.append(KeyRate(rid, meaning, num, base, published))
    for rid, item, meaning, percent, line in (
        (
            "collab_local_employers_very_important",
            "local_employers",
            "Cooperation with local employers very important",
            79,
            2063,
        ),
        (
            "collab_nav_offices_very_important",
            "nav_offices",
            "Cooperation with NAV offices very important",
            68,
            2064,
        ),
    ):
        num, base = _grid("collaboration_importance", item, ("1",))
        rates.append(KeyRate(rid, meaning, num, base, _p(percent, line)))
    rates.append(
        KeyRate(
            "aft_offered",
            "Works in a company offering AFT",
            Chosen("measures_offered", "AFT"),
            NotMissing("measures_offered.AFT"),
            _p(84, 1989),
        )
    )
    for item, meaning in (("oppfolging", "Oppfølging"), ("AFT", "AFT")):
        num, base = _grid("measure_usefulness", item, rated_only=True)
        rates.append(
            KeyRate(
                f"useful_oppfolging_aft.{item}",
                f"{meaning} very/fairly useful (among those with experience of it)",
                num,
                base,
                _p(90, 2023, "approximately", "cirka 90 prosent"),
            )
        )
    return rates


KEY_RATES: tuple[KeyRate, ...] = tuple(_build())
"""Every staff key rate of published_tables.md section 3.2, expanded."""

SOURCE_IDS = tuple(dict.fromkeys(r.id.split(".")[0] for r in KEY_RATES))
"""The 20 ids of section 3.2, in its order."""
