"""Bundled data: the 2017 web survey of staff in the work-inclusion companies.

SINTEF 2019:0060, section 3.4 and chapter 7: 752 employees of NHO Arbeid og
inkludering's member companies (445 job consultants, 144 work/production
supervisors, 105 programme leaders, 58 general managers; 592 complete, 160
partial), 11-31 October 2017.

* :func:`load_ai_staff` — the reconstructed answers (752 rows), validated
  against :func:`codebook` on every load, with the central design's
  ``N_role`` and ``base_weight``;
* :func:`codebook` — questions, routing, break-offs;
* :func:`design` — strata = role, fpc, response-homogeneity weights, in
  three response variants (:mod:`estimators.surveys.ai_staff.design`);
* :func:`published` — the chapter's printed numbers;
* :data:`SURVEY` — the survey as the report sees it
  (:class:`~estimators.surveys.base.SurveyConfig`), with the key-rate
  catalog of :mod:`.catalog`.

See ``docs/data.md`` (The staff survey) and ``data/ai_staff_decisions.md``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from estimators.inference.domains import Equals
from estimators.io.cati import read_cati_csv, to_analysis_frame
from estimators.io.codebook import Codebook
from estimators.surveys.ai_staff import design as _design
from estimators.surveys.ai_staff.catalog import DEFAULT_CONTRASTS, DEFAULT_DOMAINS, KEY_RATES
from estimators.surveys.ai_staff.design import (
    LIST_COMPANIES,
    MANAGER,
    RHOS,
    VARIANTS,
    cluster_take,
    clustering_inflation,
    role_sizes,
    staff_response,
)
from estimators.surveys.ai_staff.labels import RATE_GROUPS, RATE_LABELS, TEXT, assumptions
from estimators.surveys.base import Clustering, Sensitivity, SurveyConfig
from estimators.surveys.published import load_published

DATA = Path(__file__).parent / "data"
DATA_FILE = DATA / "ai_staff_2017.csv"

__all__ = [
    "load_ai_staff",
    "codebook",
    "design",
    "published",
    "role_sizes",
    "cluster_take",
    "clustering_inflation",
    "VARIANTS",
    "RHOS",
    "SURVEY",
]


def published() -> dict:
    """The staff part of ``shared/survey/published_tables.json`` (chapter 7)."""
    return load_published(DATA / "published_ai_staff_2017.json")


@lru_cache(maxsize=1)
def codebook() -> Codebook:
    """The codebook of the staff questionnaire (routing, break-offs)."""
    return Codebook.from_json(DATA / "codebook.json")


@lru_cache(maxsize=1)
def _coded() -> pd.DataFrame:
    return read_cati_csv(DATA_FILE, codebook())


def load_ai_staff(missing: str = "na", variant: str = "central") -> pd.DataFrame:
    """The bundled staff survey ``ai_staff_2017`` (752 rows).

    Parameters
    ----------
    missing : {"na", "codes"}
        ``"na"`` (default): every missing answer is NA; ``"codes"``: keep
        ``not_asked`` / ``dont_know`` / ``no_answer`` as strings.
    variant : {"central", "low_response", "high_response"}
        The design variant of ``N_role`` and ``base_weight``.

    Returns
    -------
    DataFrame with ``id``, the codebook columns in questionnaire order
    (``completion`` and ``break_off`` paradata first; codes as strings,
    ``caseload`` as Int64), ``N_role`` (population size of the role) and
    ``base_weight`` (``N_role / n_role``).
    """
    frame = to_analysis_frame(_coded(), codebook(), missing=missing)
    return _design.with_weights(frame, variant)


def design(variant: str = "central", data: pd.DataFrame | None = None):
    """The design of the staff survey (:func:`estimators.surveys.ai_staff.design.design`)
    on the bundled data, or on ``data``."""
    return _design.design(load_ai_staff() if data is None else data, variant)


def staff_response_rate(data: pd.DataFrame, variant: str) -> float:
    """The staff response rate a variant assumes (the quantity its
    population sizes follow from): 694 / 2,017 centrally, 30 % or 45 %."""
    return float(staff_response(int((data["role"] != MANAGER).sum()), variant))


SURVEY = SurveyConfig(
    id="ai_staff_2017",
    name="Web survey of staff in the work-inclusion companies 2017 (SINTEF 2019:0060, ch. 7)",
    load=load_ai_staff,
    codebook=codebook,
    design=_design.design,
    data_dir=DATA,
    weights="base_weight",
    strata="role",
    fpc="N_role",
    # no calibration: no population margin is known beyond the role sizes,
    # which the design's weights meet already; the stratified design with fpc
    # has an exact linearization variance (R: svydesign(strata = ~role,
    # fpc = ~N_role, weights = ~base_weight))
    variance="linearization",
    # design variants (the staff response rate sets the population sizes,
    # weights and fpc), built with design.design(data, variant)
    central="central",
    variants=("low_response", "central", "high_response"),
    catalog=KEY_RATES,
    domains=DEFAULT_DOMAINS,
    contrasts=DEFAULT_CONTRASTS,
    forest_domains=("all", "role"),
    table_domains=("role",),
    sensitivity=Sensitivity(
        columns=(("sens_low", "low_response"), ("sens_high", "high_response")),
        share=staff_response_rate,
        share_variants=(
            ("central", "central"),
            ("low", "low_response"),
            ("high", "high_response"),
        ),
    ),
    # staff sit in the 55 list companies; general managers are one per company
    clustering=Clustering(
        clusters=LIST_COMPANIES,
        rhos=RHOS,
        clustered=~Equals("role", MANAGER),
        take=cluster_take,
        inflation=clustering_inflation,
    ),
    rate_labels=RATE_LABELS,
    rate_groups=RATE_GROUPS,
    text=TEXT,
    assumptions=assumptions,
    prefix="staff_",
)
"""The staff survey as the report sees it (its second part; issue 15)."""
