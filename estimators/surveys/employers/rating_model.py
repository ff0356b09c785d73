"""An ordinal model of one rating scale of the employer survey, for the report.

How important is the recruitment need (wish to test a candidate for possible
employment) as a reason to offer work placements, on the questionnaire's
1-5 scale ("1 Not important" ... "5 Very important")? The report gives the
share answering 4-5; the proportional-odds model (:func:`estimators.model.svyolr`)
uses the whole scale and asks which businesses rate it higher with the
others held fixed: sector, size class and whether the business has a trainee
now. (The question is routed to businesses that have, had or plan trainees,
so nearly all respondents have had one; having one *now* is what varies.)

:func:`rating_model` fits the model on the report's design (calibrated, with
its replicates) and returns a :class:`RatingModel`: the coefficient table
with odds ratios of a higher rating, the Wald tests of terms, one reading per
coefficient (English or Norwegian) and :meth:`RatingModel.figure_data`, the
predicted distribution of the ratings by sector and by size class
(predictive margins with 95 % intervals) for a stacked-bar or dot plot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from estimators.model import svyolr
from estimators.model.errors import CollinearityError, FormulaError, ModelError, SeparationError
from estimators.model.ordinal_results import OrdinalResults
from weighting.errors import ReplicateError

if TYPE_CHECKING:
    from weighting.design import Design
    from weighting.protocols import ReplicateDesign

RATING = "reasons_offer_trainee.recruitment_need"
PREDICTORS = ("sector", "size_class", "trainee_now")
FORMULA = f"Q('{RATING}') ~ " + " + ".join(PREDICTORS)
MARGIN_VARIABLES = ("sector", "size_class")
# The plot's order of the size classes (the model's is the sorted text).
SIZE_ORDER = ("1-4", "5-19", "20-49", "50+")

TITLE = {
    "en": "Importance of the recruitment need as a reason to offer placements (1-5)",
    "no": "Hvor viktig rekrutteringsbehov er som grunn til å tilby praksisplass (1-5)",
}
CATEGORY_LABELS = {
    "en": {
        "1": "1 Not important",
        "2": "2",
        "3": "3",
        "4": "4 Fairly important",
        "5": "5 Very important",
    },
    "no": {
        "1": "1 Ikke viktig",
        "2": "2",
        "3": "3",
        "4": "4 Ganske viktig",
        "5": "5 Svært viktig",
    },
}
GROUPS = {
    "en": {
        ("sector", "public"): "public-sector businesses",
        ("trainee_now", "yes"): "businesses with a trainee now",
    },
    "no": {
        ("sector", "public"): "offentlige virksomheter",
        ("trainee_now", "yes"): "virksomheter med praksiskandidat inne nå",
    },
}
REFERENCES = {
    "en": {
        "sector": "private ones",
        "size_class": "businesses with 1-4 employees",
        "trainee_now": "those without one now",
    },
    "no": {
        "sector": "private",
        "size_class": "virksomheter med 1-4 ansatte",
        "trainee_now": "de uten nå",
    },
}


@dataclass
class RatingModel:
    """The fitted rating model, or ``error`` (and ``fit`` None) when it
    cannot be estimated on the design: a flagged result, not a failure."""

    formula: str
    fit: OrdinalResults | None
    tests: pd.DataFrame | None = None
    margins: dict = field(default_factory=dict)
    error: str | None = None

    def figure_data(self, lang: str = "en") -> pd.DataFrame:
        """The predicted distribution of the ratings per level of sector and
        of size class: ``variable, level, category, label, estimate, ci_low,
        ci_high`` (probabilities; every level's estimates sum to 1), size
        classes from small to large, the category labels in ``lang``. Empty
        when the model is not estimable."""
        if not self.margins:
            return pd.DataFrame(
                columns=["variable", "level", "category", "label", "estimate", "ci_low", "ci_high"]
            )
        table = pd.concat(self.margins.values(), ignore_index=True)
        table["label"] = table["category"].map(CATEGORY_LABELS[lang])
        rank = {level: k for k, level in enumerate(SIZE_ORDER)}
        table["_order"] = [rank.get(level, 0) for level in table["level"]]
        table = table.sort_values(["_order"], kind="stable").sort_values(
            ["variable"], kind="stable", key=lambda v: v.map(MARGIN_VARIABLES.index)
        )
        return table[
            ["variable", "level", "category", "label", "estimate", "ci_low", "ci_high"]
        ].reset_index(drop=True)

    def coefficients(self) -> pd.DataFrame:
        """The coefficient rows of the fit (thresholds left out), size
        classes from small to large."""
        if self.fit is None:
            raise ModelError(f"the rating model is not estimable: {self.error}")
        table = self.fit.tidy()
        table = table[~table["term"].str.contains("|", regex=False)]

        def order(term):
            variable, _, level = term.partition("[T.")
            level = level[:-1]
            return (
                PREDICTORS.index(variable),
                SIZE_ORDER.index(level) if level in SIZE_ORDER else 0,
            )

        return table.iloc[sorted(range(len(table)), key=lambda i: order(table["term"].iloc[i]))]

    def caption(self, lang: str = "en") -> str:
        """The caption of :meth:`figure_data`'s figure."""
        if lang == "en":
            return (
                f"{TITLE['en']}: predicted distribution of the ratings by sector and by "
                "size class, the other factors as observed (proportional-odds model)"
            )
        return (
            f"{TITLE['no']}: predikert fordeling av vurderingene etter sektor og "
            "størrelse, de andre forholdene som observert (ordinal modell)"
        )

    def readings(self, lang: str = "en") -> list:
        """One sentence per coefficient: the odds ratio of a higher rating."""
        if self.fit is None:
            return []
        out = []
        for row in self.coefficients().itertuples(index=False):
            variable, _, level = row.term.partition("[T.")
            level = level[:-1]
            group = GROUPS[lang].get((variable, level)) or (
                f"businesses with {level} employees"
                if lang == "en"
                else f"virksomheter med {level} ansatte"
            )
            reference = REFERENCES[lang][variable]
            clear = row.ci_low > 0 or row.ci_high < 0
            odds, low, high = (f"{v:.2f}" for v in (row.odds_ratio, row.or_ci_low, row.or_ci_high))
            if lang == "en":
                out.append(
                    f"{group[0].upper() + group[1:]}: odds ratio of a higher rating {odds} "
                    f"(95% CI {low} to {high}) compared with {reference}, the other "
                    f"factors held fixed; "
                    + (
                        "a statistically clear difference."
                        if clear
                        else "the data cannot tell them apart."
                    )
                )
            else:
                odds, low, high = (v.replace(".", ",") for v in (odds, low, high))
                out.append(
                    f"{group[0].upper() + group[1:]}: oddsratio for høyere vurdering "
                    f"{odds} (95 % KI {low}–{high}) sammenlignet med {reference}, når de "
                    f"andre forholdene holdes like; "
                    + (
                        "en statistisk tydelig forskjell."
                        if clear
                        else "dataene kan ikke skille dem."
                    )
                )
        return out

    def to_text(self, lang: str = "en") -> str:
        if self.fit is None:
            head = "not estimable" if lang == "en" else "kan ikke estimeres"
            return f"{TITLE[lang]}: {head} ({self.error})"
        fit = self.fit
        method = (
            f"Design-based proportional-odds model (logit), n = {fit.n_used} "
            f"businesses, {fit.variance} variance, {fit.df} residual design df."
            if lang == "en"
            else f"Designbasert ordinal logistisk regresjon (proporsjonale odds), "
            f"n = {fit.n_used} virksomheter, {fit.df} frihetsgrader."
        )
        return "\n".join([TITLE[lang], method] + ["  " + r for r in self.readings(lang)])


def rating_model(design: Design | ReplicateDesign, level: float = 0.95) -> RatingModel:
    """Fit the recruitment-need rating on sector, size class and having a
    trainee now, on the report's design.

    Parameters
    ----------
    design : weighting.design.Design
        The employer survey's design (calibrated; with replicates or not);
        its data as :func:`estimators.surveys.employers.load_cati` gives it
        (don't-know and not-asked answers missing, so those businesses stay
        in the design with weight zero in the fit).
    level : float
        Confidence level of the intervals.
    """
    try:
        fit = svyolr(FORMULA, design, "logit", level=level)
        margins = {v: fit.predicted_margins(v) for v in MARGIN_VARIABLES}
    except (SeparationError, ReplicateError, CollinearityError, FormulaError) as exc:
        return RatingModel(FORMULA, None, error=str(exc))
    return RatingModel(FORMULA, fit, tests=fit.term_tests(), margins=margins)
