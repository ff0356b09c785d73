"""What the generic layers need to know about one bundled survey.

A survey package (``estimators/surveys/<survey>/``) bundles its data, codebook,
design, margins and key-rate catalog, and describes them to the rest of kalib
with one :class:`SurveyConfig`. The report (:mod:`estimators.report`) and the
variant study (:func:`estimators.scale.studies.margin_variant_keyrates`) take a
``SurveyConfig`` instead of naming a survey's columns, domains, variants or
labels, so a second survey is a second configuration, not a copy of their code.

Two surveys show the range the configuration covers:

* the employer survey is *calibrated*: its design is stratified with base
  weights, raked to register margins; its variants are margin variants (the
  public share of establishments), and its variance is the run's choice
  (replicates re-calibrated to the margins);
* the staff survey is *not calibrated*: its design is strata = role with a
  finite population correction and response-homogeneity weights; its variants
  change the design itself (the staff response rate sets the population sizes,
  weights and fpc), its variance is Taylor linearization, and a
  :class:`Clustering` shows what the company clusters it cannot estimate would
  do to the intervals.

Every field is plain data or a module-level function (a configuration is
pickled to Dask's worker processes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sensitivity:
    """Estimates under other variants of the survey, shown beside the central ones.

    A variant is a value of the survey's most uncertain population quantity.
    The report builds each variant's design with :attr:`SurveyConfig.design`
    and, for a calibrated survey, calibrates it to
    :attr:`SurveyConfig.margins` of the variant, so the same columns serve
    margin variants (the employer survey's public share) and design variants
    (the staff survey's response rate).

    Attributes
    ----------
    columns : ``((column, variant), ...)``
        The page's extra columns and the variant each is estimated under
        (point estimates only).
    share : callable(data, variant) -> float
        The uncertain population quantity the variants move (e.g. the public
        share of establishments, the staff response rate), named in the
        page's text.
    share_variants : ``((key, variant), ...)``
        The variants whose ``share`` the text quotes, under the keys of the
        ``shares`` string of the survey's text.
    """

    columns: tuple
    share: Callable[[Any, str], float]
    share_variants: tuple


@dataclass(frozen=True)
class Clustering:
    """A clustering of the respondents that the design cannot estimate (no
    cluster ids), shown as intervals widened under assumed intra-cluster
    correlations.

    For an estimate whose base holds ``n_c`` respondents of ``clustered``
    rows, the mean number per cluster is ``m = take(n_c)`` and the variance
    is multiplied by Kish's design-effect factor ``1 + (m - 1) rho``
    (``inflation(m, rhos)``; Kish 1965, section 5.4) for each ``rho`` of
    ``rhos``. The interval is then recomputed on the same design degrees of
    freedom. Rows outside ``clustered`` count one per cluster.

    Attributes
    ----------
    clusters : int
        The number of clusters (named in the page's text).
    rhos : tuple of float
        Assumed intra-cluster correlations.
    clustered : estimators.inference.domains.Condition
        The rows that sit in clusters.
    take : callable(int) -> float
        Mean respondents per cluster, from the clustered respondents of a base.
    inflation : callable(m, rhos) -> pandas.Series
        The variance factor for each ``rho`` (indexed by ``rho``).
    """

    clusters: int
    rhos: tuple
    clustered: Any
    take: Callable[[int], float]
    inflation: Callable[[float, tuple], Any]


@dataclass(frozen=True)
class Assumption:
    """One assumption of a survey's design, for the report's closing note.

    ``where`` names the sections of the survey's part of the page that state
    it or show its consequence (``sample``, ``weights``, ``keyrates``,
    ``forest``, ``methods``, ...), so the note can point to them.
    """

    title: str
    text: str
    where: tuple = ()


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
    design : callable(data, variant: str) -> weighting.design.Design
        The survey's design of ``data`` under a variant, before any
        calibration: strata, base weights, fpc (the employer survey: strata
        sector x size with register base weights, the same for every variant;
        the staff survey: strata = role, fpc and weights from the variant's
        population sizes).
    data_dir : pathlib.Path
        The bundled files (recorded with checksums in ``run.json``).
    weights, strata : str
        The bundled data's base-weight and stratum columns (the design's
        defaults when some design options are given).
    central : str
        The central variant.
    variants : tuple of str
        Every variant (the variant study runs each).
    catalog : tuple of estimators.inference.catalog.KeyRate
        The key rates.
    domains : tuple of str
        The report's domain specifications (``"all"``, a column, ``"A*B"``).
    margins : callable(variant: str) -> list of weighting.Margin, or None
        The calibration margins of a variant; None for a survey that is not
        calibrated.
    margin_sources : callable(margins, variant: str) -> list of (str, str), or None
        Margin name -> its provenance, for the methods section.
    margins_file : pathlib.Path or None
        The bundled margin table (recorded when a user's sample is
        calibrated to the bundled margins).
    fpc : str or None
        The bundled data's finite-population column, if the design has one.
    variance : str or None
        The survey's variance method whatever the run asks for (the staff
        survey: ``"linearization"``, exact for its uncalibrated stratified
        design), or None for the run's ``--variance``.
    contrasts : tuple of ``(domain_var, first, second)``
        Domain differences of interest.
    forest_domains : tuple of str
        The domain variables of the forest plots, top to bottom.
    table_domains : tuple of str
        Domain variables every domain of which gets a row in the page's
        key-rate table, published or not (the staff survey: ``role``); the
        table shows other domains only where a value was published.
    sensitivity : Sensitivity or None
    clustering : Clustering or None
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
    analysis : callable(design) -> object, optional
        The survey's regression section of the report: the object has
        ``to_html(lang)`` and ``figures(lang)``, a list of
        ``(name, caption, frame)`` predicted category distributions to plot
        (``variable, level, label, estimate`` columns; see
        ``estimators.surveys.employers.analysis``). A picklable function (one
        defined at module level) is fitted by a report worker beside the
        estimates; a lambda or closure in the report's own process.
    assumptions : callable(data, lang) -> list of Assumption, optional
        Every assumption of the design, written from the data, for the
        closing note of the survey's part.
    prefix : str
        Prefix of the survey's anchors on the page and of its figure files,
        so that two surveys' parts do not collide (``""`` for the first).
    """

    id: str
    name: str
    load: Callable[[], Any]
    codebook: Callable[[], Any]
    design: Callable[[Any, str], Any]
    data_dir: Path
    weights: str
    strata: str
    central: str
    variants: tuple
    catalog: tuple
    domains: tuple
    margins: Callable[[str], list] | None = None
    margin_sources: Callable[[list, str], list] | None = None
    margins_file: Path | None = None
    fpc: str | None = None
    variance: str | None = None
    contrasts: tuple = ()
    forest_domains: tuple = ("all",)
    table_domains: tuple = ()
    sensitivity: Sensitivity | None = None
    clustering: Clustering | None = None
    rate_labels: dict = field(default_factory=dict)
    rate_groups: tuple = ()
    notes: dict = field(default_factory=dict)
    text: dict = field(default_factory=dict)
    analysis: Callable | None = None
    assumptions: Callable | None = None
    prefix: str = ""

    @property
    def calibrated(self) -> bool:
        """Whether the survey is calibrated to population margins."""
        return self.margins is not None

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

    def published(self, rate_id: str, domain_var: str, domain: str):
        """The published value of a rate in a domain
        (:class:`~estimators.inference.catalog.Published`), or None where
        nothing was published."""
        try:
            return self.get_rate(rate_id).published_for(domain_var, domain)
        except KeyError:
            return None

    def published_decimals(self, rate_id: str, domain_var: str, domain: str) -> float:
        """Printed decimals of the published value of a rate in a domain (NaN
        when nothing was published there)."""
        published = self.published(rate_id, domain_var, domain)
        return float("nan") if published is None else published.decimals

    def explain(self, rate_id: str, domain_var: str, domain: str, lang: str) -> str:
        """The explanation of a published/recomputed difference, or ``""``."""
        return self.notes.get((rate_id, domain_var, str(domain)), {}).get(lang, "")
