"""Bundled data: the 2017 CATI employer survey and its SSB register margins.

* :func:`load_cati` — the reconstructed survey (1000 establishments), validated
  against :func:`codebook` on every load, with ``base_weight``;
* :func:`load_register_margins` — calibration margins (size class, collapsed
  NACE group, sector) for establishments with >= 1 employee, 1 January 2018,
  in three variants of the uncertain public share;
* :func:`register_margin_table` — the same with provenance per cell;
* :func:`design_strata` — strata (sector x size), register counts, base weights.

See ``docs/data.md`` for columns, missing codes, margins and decisions.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from estimators.io.cati import read_cati_csv, to_analysis_frame
from estimators.io.codebook import Codebook
from estimators.surveys.published import load_published
from estimators.surveys.employers.registry import NACE_GROUPS, VARIANTS
from weighting.errors import KalibError

DATA = Path(__file__).parent / "data"
CATI_FILE = DATA / "cati_employers_2017.csv"
#: The default calibration of the employer survey (in this order).
DEFAULT_MARGINS = ("size_class", "nace_group", "sector")

__all__ = ["load_cati", "load_register_margins", "default_margins", "codebook",
           "register_margin_table", "design_strata", "published", "NACE_GROUPS", "DEFAULT_MARGINS"]


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
        raise KalibError(f"unknown margin variant {variant!r}; "
                         f"choose one of {', '.join(VARIANTS)}")


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
