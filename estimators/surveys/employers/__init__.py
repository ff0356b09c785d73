"""Bundled data: the 2017 CATI employer survey and its SSB register margins.

* :func:`load_cati` — the reconstructed survey (1000 establishments), validated
  against :func:`codebook` on every load, with ``base_weight``;
* :func:`load_register_margins` — calibration margins (size class, collapsed
  NACE group, sector) for establishments with >= 1 employee, 1 January 2018,
  in three variants of the uncertain public share;
* :func:`register_margin_table` — the same with provenance per cell;
* :func:`design_strata` — strata (sector x size), register counts, base weights;
* :func:`base_design` — the design before calibration;
* :data:`SURVEY` — all of it, with the key-rate catalog, the report's domains,
  the public-share sensitivity and the page's labels, as the
  :class:`~estimators.surveys.base.SurveyConfig` the report and the studies take.

See ``docs/data.md`` for columns, missing codes, margins and decisions.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from estimators.io.cati import read_cati_csv, to_analysis_frame
from estimators.io.codebook import Codebook
from estimators.surveys.base import Sensitivity, SurveyConfig
from estimators.surveys.employers.catalog import DEFAULT_CONTRASTS, DEFAULT_DOMAINS, KEY_RATES
from estimators.surveys.employers.labels import NOTES, RATE_GROUPS, RATE_LABELS, TEXT
from estimators.surveys.employers.registry import NACE_GROUPS, VARIANTS
from estimators.surveys.published import load_published
from weighting.errors import KalibError

DATA = Path(__file__).parent / "data"
CATI_FILE = DATA / "cati_employers_2017.csv"
#: The default calibration of the employer survey (in this order).
DEFAULT_MARGINS = ("size_class", "nace_group", "sector")

__all__ = [
    "load_cati",
    "load_register_margins",
    "default_margins",
    "codebook",
    "register_margin_table",
    "design_strata",
    "published",
    "margin_sources",
    "public_share",
    "base_design",
    "NACE_GROUPS",
    "DEFAULT_MARGINS",
    "SURVEY",
]


def published() -> dict:
    """The employer part of ``shared/survey/published_tables.json`` (chapter 5)."""
    return load_published(DATA / "published_employers_2017.json")


@lru_cache(maxsize=1)
def codebook() -> Codebook:
    """The codebook of the employer questionnaire (question metadata, routing)."""
    return Codebook.from_json(DATA / "codebook.json")


@lru_cache(maxsize=2)
def _coded() -> pd.DataFrame:
    return read_cati_csv(CATI_FILE, codebook())


def load_cati(missing: str = "na") -> pd.DataFrame:
    """The bundled employer survey ``cati_employers_2017`` (1000 rows).

    Parameters
    ----------
    missing : {"na", "codes"}
        ``"na"`` (default): every missing answer is NA; ``"codes"``: keep
        ``not_asked`` / ``dont_know`` / ``no_answer`` as strings.

    Returns
    -------
    DataFrame with ``id``, ``stratum``, the codebook columns (codes as strings;
    ``trainee_count`` as Int64), ``nace_group`` and ``base_weight`` (central
    register estimate / sample count per stratum).
    """
    frame = to_analysis_frame(_coded(), codebook(), missing=missing)
    weights = design_strata("central").set_index("stratum")["base_weight"]
    frame["base_weight"] = frame["stratum"].map(weights).astype(float)
    return frame


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise KalibError(
            f"unknown margin variant {variant!r}; choose one of {', '.join(VARIANTS)}"
        )


def register_margin_table(variant: str = "central") -> pd.DataFrame:
    """Margin cells of one variant with provenance (basis, method, source, date)."""
    _check_variant(variant)
    table = pd.read_csv(DATA / "register_margins.csv", dtype={"category": str})
    return table[table["variant"] == variant].reset_index(drop=True)


def design_strata(variant: str = "central") -> pd.DataFrame:
    """Strata sector x size: register count, sample count, base weight."""
    _check_variant(variant)
    table = pd.read_csv(DATA / "design_strata.csv")
    return table[table["variant"] == variant].reset_index(drop=True)


def load_register_margins(variant: str = "central", margins=DEFAULT_MARGINS) -> list:
    """Calibration margins as :class:`weighting.margins.Margin` objects.

    Parameters
    ----------
    variant : {"central", "low_public", "high_public"}
        Public share of establishments with >= 1 employee: 13 % (central),
        11 % or 16 % (the plausible range); only the sector margin differs.
    margins : sequence of str
        Which margins, from ``size_class``, ``nace_group``, ``sector`` and
        ``sector*size_class``; default the employer survey's calibration.
    """
    from weighting.margins import Margin

    table = register_margin_table(variant)
    out = []
    for name in margins:
        cells = table[table["margin"] == name]
        if cells.empty:
            raise KalibError(f"no register margin {name!r}")
        if "*" in name:
            keys = [tuple(c.split(":")) for c in cells["category"]]
            totals = cells["total"].astype(float)
            out.append(Margin(tuple(name.split("*")), dict(zip(keys, totals))))
        else:
            out.append(Margin(name, dict(zip(cells["category"], cells["total"].astype(float)))))
    return out


def default_margins() -> list:
    """The default calibration: size class, collapsed NACE group, sector (central)."""
    return load_register_margins("central")


def margin_sources(margins, variant: str) -> list[tuple[str, str]]:
    """Margin name -> its provenance (source, reference date, basis of the cells)."""
    table = register_margin_table(variant)
    out = []
    for m in margins:
        cells = table[table["margin"] == m.name]
        basis = ", ".join(
            f"{count} {kind}" for kind, count in cells["basis"].value_counts().sort_index().items()
        )
        sources = "; ".join(dict.fromkeys(cells["source"]))
        dates = ", ".join(dict.fromkeys(cells["reference_date"].astype(str)))
        out.append(
            (
                m.name,
                f"{sources}, reference date {dates} ({variant} variant; "
                f"{len(cells)} cells: {basis})",
            )
        )
    return out


def public_share(margins) -> float:
    """Public share of the population in the sector margin (the quantity the
    margin variants move: SSB publishes no sector count for establishments)."""
    sector = next(m for m in margins if m.variables == ("sector",))
    return sector.table[("public",)] / sector.grand_total


def variant_public_share(data, variant: str) -> float:
    """The public share of a margin variant (``data`` plays no part: the
    variants differ in the register margins only)."""
    return public_share(load_register_margins(variant))


def base_design(data, variant: str = "central"):
    """The design of the survey before calibration: strata ``stratum``
    (sector x size class), base weights ``base_weight`` (central register
    count / sample count per stratum).

    The same for every variant: a variant moves only the sector margin the
    base weights are then raked to (the report's sensitivity has always
    re-raked these base weights). Equivalent to R's ``svydesign(ids = ~1,
    strata = ~stratum, weights = ~base_weight)``.
    """
    from weighting.design import Design

    return Design(data, weights="base_weight", strata="stratum")


def regression_analysis(design):
    """The report's regression section (:mod:`.analysis`, imported on first use:
    it needs patsy and scipy)."""
    from estimators.surveys.employers.analysis import bundled_analysis

    return bundled_analysis(design)


SURVEY = SurveyConfig(
    id="employers_2017",
    name="CATI employer survey 2017 (SINTEF 2019:0060)",
    load=load_cati,
    codebook=codebook,
    design=base_design,
    margins=load_register_margins,
    margin_sources=margin_sources,
    data_dir=DATA,
    margins_file=DATA / "register_margins.csv",
    weights="base_weight",
    strata="stratum",
    central="central",
    variants=("low_public", "central", "high_public"),
    catalog=KEY_RATES,
    domains=DEFAULT_DOMAINS,
    contrasts=DEFAULT_CONTRASTS,
    # the published breakdowns of the report, top to bottom
    forest_domains=("all", "sector", "size_class"),
    sensitivity=Sensitivity(
        columns=(("sens_low", "low_public"), ("sens_high", "high_public")),
        share=variant_public_share,
        share_variants=(("central", "central"), ("low", "low_public"), ("high", "high_public")),
    ),
    rate_labels=RATE_LABELS,
    rate_groups=RATE_GROUPS,
    notes=NOTES,
    text=TEXT,
    analysis=regression_analysis,
)
"""The employer survey as the report and the studies see it."""
