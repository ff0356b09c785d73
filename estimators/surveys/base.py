"""What the generic layers need to know about one bundled survey.

A survey package (``estimators/surveys/<survey>/``) bundles its data, codebook,
margins and key-rate catalog, and describes them to the rest of kalib with one
:class:`SurveyConfig`. The report (:mod:`estimators.report`) and the
margin-variant study (:func:`estimators.scale.studies.margin_variant_keyrates`)
take a ``SurveyConfig`` instead of naming a survey's columns, domains, margin
variants or labels, so a second survey is a second configuration, not a copy
of their code.

Every field is plain data or a module-level function (a configuration is
pickled to Dask's worker processes).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class Sensitivity:
    """Estimates under other margin variants, shown beside the calibrated ones.

    Attributes
    ----------
    columns : ``((column, variant), ...)``
        The page's extra columns and the margin variant each is calibrated to
        (point estimates only).
    share : callable(margins) -> float
        The uncertain population quantity the variants move (e.g. the public
        share of establishments), named in the page's text.
    share_variants : ``((key, variant), ...)``
        The variants whose ``share`` the text quotes, under the keys of the
        ``shares`` string of the survey's text.
    """

    columns: tuple
    share: Callable[[list], float]
    share_variants: tuple


@dataclass(frozen=True)
class SurveyConfig:
    """One bundled survey, as the report and the studies see it.

    Attributes
    ----------
    id : str
        Short identifier, e.g. ``employers_2017``.
    name : str
        Human-readable name.
    load : callable() -> pandas.DataFrame
        The bundled data, validated against the codebook, with the base
        weight and stratum columns.
    codebook : callable() -> estimators.io.codebook.Codebook
        Validates a user's sample of the same questionnaire.
    margins : callable(variant: str) -> list of weighting.Margin
        The calibration margins of a variant.
    margin_sources : callable(margins, variant: str) -> list of (str, str)
        Margin name -> its provenance, for the methods section.
    data_dir : pathlib.Path
        The bundled files (recorded with checksums in ``run.json``).
    margins_file : pathlib.Path
        The bundled margin table (recorded when a user's sample is
        calibrated to the bundled margins).
    weights, strata : str
        The bundled data's base-weight and stratum columns.
    central : str
        The default margin variant.
    variants : tuple of str
        Every margin variant (the margin-variant study runs each).
    catalog : tuple of estimators.inference.catalog.KeyRate
        The key rates.
    domains : tuple of str
        The report's domain specifications (``"all"``, a column, ``"A*B"``).
    contrasts : tuple of ``(domain_var, first, second)``
        Domain differences of interest.
    forest_domains : tuple of str
        The domain variables of the forest plots, top to bottom.
    sensitivity : Sensitivity or None
    rate_labels : ``{lang: {rate id: label}}``
        Page labels of the rates (the catalog's ``meaning`` otherwise).
    rate_groups : ``((key, {lang: label}, id prefixes), ...)``
        Groups of related rates, one forest figure each.
    notes : ``{(rate, domain_var, domain): {lang: text}}``
        Why a published value differs from the one recomputed from the data.
    text : ``{lang: {key: text}}``
        The survey's strings of the page, over the report's generic ones
        (``estimators.report.labels.TEXT``): title, variable and value labels
        (``"sector"``, ``"sector=public"``, ``"size_class=*"``) and the
        wording of survey-specific sections.
    analysis : callable(design) -> object with ``to_html(lang)``, optional
        The survey's regression section of the report.
    """

    id: str
    name: str
    load: Callable[[], Any]
    codebook: Callable[[], Any]
    margins: Callable[[str], list]
    margin_sources: Callable[[list, str], list]
    data_dir: Path
    margins_file: Path
    weights: str
    strata: str
    central: str
    variants: tuple
    catalog: tuple
    domains: tuple
    contrasts: tuple = ()
    forest_domains: tuple = ("all",)
    sensitivity: Sensitivity | None = None
    rate_labels: dict = field(default_factory=dict)
    rate_groups: tuple = ()
    notes: dict = field(default_factory=dict)
    text: dict = field(default_factory=dict)
    analysis: Callable | None = None

    def get_rate(self, rate_id: str):
        """The catalog's rate ``rate_id`` (``KeyError`` if there is none)."""
        for rate in self.catalog:
            if rate.id == rate_id:
                return rate
        raise KeyError(rate_id)

    def rate_label(self, rate_id: str, lang: str) -> str:
        """The page label of a rate: the survey's label in ``lang``, else the
        catalog's ``meaning``, else the id."""
        label = self.rate_labels.get(lang, {}).get(rate_id)
        if label is not None:
            return label
        try:
            return self.get_rate(rate_id).meaning
        except KeyError:
            return rate_id

    def rate_group(self, rate_id: str) -> str:
        """The key of the forest-figure group of a rate (``other`` for a rate
        in no group)."""
        for key, _, prefixes in self.rate_groups:
            if rate_id.startswith(tuple(prefixes)):
                return key
        return "other"

    def group_label(self, key: str, lang: str) -> str | None:
        """The label of group ``key`` in ``lang`` (None for ``other``)."""
        return next((label[lang] for k, label, _ in self.rate_groups if k == key), None)

    def published_decimals(self, rate_id: str, domain_var: str, domain: str) -> float:
        """Printed decimals of the published value of a rate in a domain (NaN
        when nothing was published there)."""
        try:
            published = self.get_rate(rate_id).published_for(domain_var, domain)
        except KeyError:
            return float("nan")
        return float("nan") if published is None else published.decimals

    def explain(self, rate_id: str, domain_var: str, domain: str, lang: str) -> str:
        """The explanation of a published/recomputed difference, or ``""``."""
        return self.notes.get((rate_id, domain_var, str(domain)), {}).get(lang, "")
