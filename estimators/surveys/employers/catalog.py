"""The key-rate catalog of the employer survey (published_tables.md, 3.1).

Every headline rate of SINTEF report 2019:0060 is written here as a
declarative :class:`~estimators.inference.catalog.KeyRate`: a numerator and a
base condition on codebook ids, the published value(s) with the number of
printed decimals, and the counts printed beside them. A rate with several
items or categories expands to one definition per item, named ``id.item``
(for example ``disability_difficult_rates.stability``).

The engine (estimation by domain, contrasts, the report's rounding) is
:mod:`estimators.inference.catalog`; this module is the employer survey's
data for it: ``KEY_RATES``, the report's domains (``DEFAULT_DOMAINS``) and
contrasts (``DEFAULT_CONTRASTS``).
"""

from __future__ import annotations

from estimators.inference.catalog import KeyRate, Published
from estimators.inference.domains import Chosen, Equals, Everyone, NotMissing, OneOf

DEFAULT_DOMAINS = ("all", "sector", "size_class", "sector*size_class", "nace_group")
DEFAULT_CONTRASTS = (("sector", "public", "private"), ("size_class", "1-4", "50+"))


def _p(percent, decimals, line=None):
    return Published(float(percent), decimals, line)


def _sector(public=None, private=None, decimals=1, line=None):
    out = {}
    if public is not None:
        out[("sector", "public")] = _p(public, decimals, line)
    if private is not None:
        out[("sector", "private")] = _p(private, decimals, line)
    return out


YES = "yes"
NOW_YES = Equals("trainee_now", YES)
NOW_NO = Equals("trainee_now", "no")
BEFORE_YES = Equals("trainee_before", YES)
# trainee_ever is derived: missing answers count as "no" (published_tables.md).
EVER_YES = NOW_YES | BEFORE_YES
EVER_NO = ~EVER_YES
ROUTED_REASONS = NOW_YES | BEFORE_YES | Equals("trainee_plans_next_year", YES)
HIRED_YES = Equals("hired_after_trainee", YES)


def _grid_top(question, item, values, base):
    column = f"{question}.{item}"
    return OneOf(column, tuple(values)), base & NotMissing(column)


def _build() -> list[KeyRate]:
    rates = [
        KeyRate(
            "trainee_now_rate",
            "Share of firms with trainee(s) now",
            NOW_YES,
            NotMissing("trainee_now"),
            _p(29.7, 1, 1321),
            printed_counts=(295, 993),
        ),
        KeyRate(
            "trainee_before_among_not_now",
            "Earlier trainees among firms without trainees now",
            BEFORE_YES,
            NOW_NO & NotMissing("trainee_before"),
            _p(55.8, 1, 1321),
            printed_counts=(384, 688),
        ),
        KeyRate(
            "trainee_ever_rate",
            "Share of firms with trainee experience now or in recent years",
            EVER_YES,
            Everyone(),
            _p(67.9, 1, 1321),
            printed_counts=(679, 1000),
        ),
    ]
    for sector, pct, counts in (("public", 85.5, (171, 200)), ("private", 63.5, (508, 800))):
        rates.append(
            KeyRate(
                f"trainee_ever_rate_by_sector.{sector}",
                f"Trainee experience (now or earlier), {sector} sector",
                EVER_YES,
                Equals("sector", sector),
                _p(pct, 1, 1321),
                printed_counts=counts,
            )
        )
    rates += [
        KeyRate(
            "plans_next_year_among_not_now",
            "Plans to take in a trainee next year, among firms without trainees now",
            Equals("trainee_plans_next_year", YES),
            NOW_NO,
            _p(25, 0, 1340),
            _sector(43, 23, 0, 1340),
        ),
        KeyRate(
            "plans_among_earlier_experience",
            "Plans next year among firms with earlier (not current) trainees",
            Equals("trainee_plans_next_year", YES),
            NOW_NO & BEFORE_YES,
            _p(41, 0, 1342),
        ),
        KeyRate(
            "no_plans_among_never",
            "No plans among firms never having had trainees",
            Equals("trainee_plans_next_year", "no"),
            EVER_NO & NotMissing("trainee_plans_next_year"),
            _p(93, 0, 1342),
        ),
        KeyRate(
            "hired_after_trainee_rate",
            "Firms that hired someone after a placement",
            HIRED_YES,
            BEFORE_YES & NotMissing("hired_after_trainee"),
            _p(69.3, 1, 1506),
            _sector(46.7, 73.7, 1, 1506),
            (255, 368),
        ),
        KeyRate(
            "permanent_position_among_hired",
            "Permanent position among firms that hired after placement",
            Chosen("hired_position_type", "permanent"),
            HIRED_YES,
            _p(78.8, 1, 1521),
            _sector(60.7, 81.1, 1, 1521),
            (201, 255),
        ),
        KeyRate(
            "ordinary_tasks_among_now",
            "Trainees mainly doing ordinary tasks (firms with trainees now)",
            Equals("trainee_task_type", "ordinary"),
            NOW_YES,
            _p(56.6, 1, 1468),
            _sector(48.0, 61.1, 1, 1468),
            (167, 295),
        ),
    ]
    for rid, item, meaning, total, by in (
        ("csr_reason_important", "csr", "CSR", (79, 1420), _sector(91, None, 0, 1420)),
        (
            "make_difference_reason_important",
            "make_difference",
            "'Make a difference'",
            (77, 1420),
            _sector(91, 72, 0, 1420),
        ),
        (
            "work_environment_reason_important",
            "work_environment",
            "Positive work-environment effect",
            (46, 1434),
            _sector(53, 44, 0, 1436),
        ),
        (
            "recruitment_reason_important",
            "recruitment_need",
            "Recruitment need / test candidate",
            (43.7, 1428),
            _sector(36.6, 49.5, 1, 1428),
        ),
    ):
        decimals = 1 if isinstance(total[0], float) else 0
        num, base = _grid_top("reasons_offer_trainee", item, (4, 5), ROUTED_REASONS)
        rates.append(
            KeyRate(
                rid,
                f"{meaning} important reason for offering placements (4-5)",
                num,
                base,
                _p(total[0], decimals, total[1]),
                by,
            )
        )
    competence = {
        "craft_certificate": (31.2, 312, 19, 34.3),
        "higher_education": (30.7, 307, 60, 23.4),
        "unskilled": (19.0, 190, 6.5, 22.2),
        "courses_certification": (None, None, None, None),
        "specialist_education": (None, None, None, None),
        "other": (None, None, None, None),
    }
    # `printed`: a percentage the report prints, or None (other loops' `pct` always is one)
    for category, (printed, count, public, private) in competence.items():
        rates.append(
            KeyRate(
                f"competence_need_distribution.{category}",
                f"Most-needed formal competence: {category}",
                Equals("competence_need", category),
                Everyone(),
                _p(printed, 1, 1555) if printed is not None else None,
                _sector(public, private, 1, 1555) if public is not None else {},
                (count, 1000) if count is not None else None,
            )
        )
    for item, section, category, pct, counts in (
        ("P_higher_education", "P", "higher_education", 75, (56, 75)),
        ("H_craft", "H", "craft_certificate", 33, (13, 39)),
        ("H_courses", "H", "courses_certification", 28, (11, 39)),
        ("H_unskilled", "H", "unskilled", 23, (9, 39)),
    ):
        rates.append(
            KeyRate(
                f"competence_need_education_transport.{item}",
                f"Most-needed competence {category} in NACE section {section}",
                Equals("competence_need", category),
                Equals("nace_section", section),
                _p(pct, 0, 1582),
                printed_counts=counts,
            )
        )
    rates.append(
        KeyRate(
            "accommodation_experience_rate",
            "Experience with employees needing accommodation/follow-up",
            Equals("accommodation_experience", YES),
            NotMissing("accommodation_experience"),
            _p(56.1, 1, 1608),
            _sector(83.3, 49.3, 1, 1608),
            (556, 991),
        )
    )
    for group, pct in (("yes", 40), ("no", 16)):
        rates.append(
            KeyRate(
                f"trainee_now_by_accommodation_experience.{group}",
                f"Trainee now, among firms with accommodation experience = {group}",
                NOW_YES,
                Equals("accommodation_experience", group) & NotMissing("trainee_now"),
                _p(pct, 0, 1651),
            )
        )
    only_no = (
        Chosen("alternative_tasks", "no")
        & ~Chosen("alternative_tasks", "full_time")
        & ~Chosen("alternative_tasks", "part_time")
    )
    for option, num, pct, count in (
        ("full_time", Chosen("alternative_tasks", "full_time"), 16.8, 168),
        ("part_time", Chosen("alternative_tasks", "part_time"), 43.2, 432),
        ("no", only_no, 53.3, 533),
    ):
        rates.append(
            KeyRate(
                f"alternative_tasks_rates.{option}",
                f"Alternative tasks for people who cannot do the usual tasks: {option}",
                num,
                Everyone(),
                _p(pct, 1, 1732),
                printed_counts=(count, 1000),
            )
        )
    for rid, item, pct, line in (
        ("nav_communication_important", "nav_communication", 85, 1756),
        ("nav_economic_measures_important", "nav_economic_measures", 75, 1760),
    ):
        num, base = _grid_top("inclusion_measures_importance", item, (4, 5), Everyone())
        rates.append(KeyRate(rid, f"{item} important (4-5)", num, base, _p(pct, 0, line)))
    difficult = {
        "stability": 75,
        "motivation": 72,
        "cognitive": 56,
        "social": 51,
        "language": 49,
        "physical_mobility": 49,
        "sensory": None,
        "substance_crime": None,
        "musculoskeletal": None,
        "slow_pace": None,
    }
    for item, printed in difficult.items():
        num, base = _grid_top("disability_compatibility", item, (1, 2), Everyone())
        rates.append(
            KeyRate(
                f"disability_difficult_rates.{item}",
                f"Impairment '{item}' rated difficult (1-2), among firms answering the item",
                num,
                base,
                _p(printed, 0, 1700) if printed is not None else None,
            )
        )
    rates.append(
        KeyRate(
            "no_recruitment_need_main_reason_not_hired",
            "No recruitment need as reason placement did not lead to hiring",
            Chosen("reasons_not_hired", "no_recruitment_need"),
            Equals("hired_after_trainee", "no"),
            _p(44.3, 1, 1541),
            printed_counts=(50, 113),
        )
    )
    return rates


KEY_RATES: tuple[KeyRate, ...] = tuple(_build())
"""Every employer key rate of published_tables.md section 3.1, expanded."""

SOURCE_IDS = tuple(dict.fromkeys(r.id.split(".")[0] for r in KEY_RATES))


def get_rate(rate_id: str) -> KeyRate:
    for rate in KEY_RATES:
        if rate.id == rate_id:
            return rate
    raise KeyError(rate_id)
