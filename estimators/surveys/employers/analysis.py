"""The bundled regression analysis of the employer survey, for the report.

Three design-based logistic models (:func:`~estimators.model.svyglm`), one
per outcome — having a trainee now (``trainee_now``), now or in the last
three years (``trainee_ever``), and, among businesses with earlier trainees,
having hired someone afterwards (``hired_after_trainee``) — each on sector,
size class, collapsed NACE group and accommodation experience. The report
argues from bivariate tables (chapter 5); the models ask whether each claim
still holds when the other factors are held fixed, and say so in plain
language beside the claim.

NACE groups are merged further for each model: a group with fewer than
``k`` businesses with either answer is pooled into ``other`` (then the
smallest remaining group, until ``other`` has ``k`` of each too). Without
that, a group in which every business answered the same way makes the
coefficient infinite (separation), in the full sample or in a bootstrap
replicate. ``k`` starts at 10 and grows (15, 20, 30) until the model and all
its replicates can be fitted; if none can, the model is reported as not
estimable, with the reason, instead of stopping the report.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from estimators.model.errors import CollinearityError, SeparationError, SingularCovarianceError
from estimators.model.glm import design_frame, svyglm
from estimators.model.results import SvyGLMResults
from estimators.surveys.employers.rating_model import TITLE as RATING_TITLE
from estimators.surveys.employers.rating_model import RatingModel, rating_model
from weighting.errors import ReplicateError

if TYPE_CHECKING:
    from weighting.design import Design
    from weighting.protocols import ReplicateDesign

PREDICTORS = ("sector", "size_class", "nace_group", "accommodation_experience")
FORMULA = "I({outcome} == 'yes') ~ sector + size_class + nace_group + accommodation_experience"
MIN_PER_OUTCOME = (10, 15, 20, 30)
OTHER = "other"
MARGIN_VARIABLES = ("sector", "size_class")

OUTCOMES = {
    "trainee_now": {
        "en": ("Having a trainee now", "having a trainee (work placement) now"),
        "no": ("Har praksiskandidat inne nå", "å ha praksiskandidat inne nå"),
    },
    "trainee_ever": {
        "en": (
            "Has had trainees (now or in the last three years)",
            "having or having had trainees",
        ),
        "no": (
            "Har eller har hatt praksiskandidater (siste tre år)",
            "å ha eller ha hatt praksiskandidater",
        ),
    },
    "hired_after_trainee": {
        "en": (
            "Hired after a placement (businesses with earlier trainees)",
            "having hired someone after a placement",
        ),
        "no": (
            "Har ansatt etter arbeidstrening (virksomheter med tidligere kandidater)",
            "å ha ansatt noen etter arbeidstrening",
        ),
    },
}

VARIABLE_NAMES = {
    "en": {
        "sector": "sector",
        "size_class": "size",
        "nace_group": "industry",
        "accommodation_experience": "accommodation experience",
    },
    "no": {
        "sector": "sektor",
        "size_class": "størrelse",
        "nace_group": "næring",
        "accommodation_experience": "tilretteleggingserfaring",
    },
}


def _group(variable: str, level: str, lang: str) -> str:
    """The businesses at one level of a predictor, in words."""
    en = lang == "en"
    if variable == "sector":
        return {
            "public": "public-sector businesses" if en else "offentlige virksomheter",
            "private": "private businesses" if en else "private virksomheter",
        }.get(level, level)
    if variable == "size_class":
        return f"businesses with {level} employees" if en else f"virksomheter med {level} ansatte"
    if variable == "nace_group":
        if level == OTHER:
            return (
                "businesses in the merged small industry groups"
                if en
                else "virksomheter i de sammenslåtte små næringsgruppene"
            )
        return f"businesses in NACE {level}" if en else f"virksomheter i næring {level}"
    if variable == "accommodation_experience":
        has = level == "yes"
        if en:
            return (
                "businesses with experience of accommodating employees"
                if has
                else "businesses without such experience"
            )
        return (
            "virksomheter med erfaring med tilrettelegging"
            if has
            else "virksomheter uten slik erfaring"
        )
    return f"{variable} = {level}"


@dataclass(frozen=True)
class Claim:
    """A bivariate claim of the report, tied to a model term.

    ``direction`` is +1 when the claim says the level has the outcome more
    often than the reference level, -1 when less often. ``test`` is the
    formula term whose Wald test decides whether the difference is clear.
    """

    id: str
    outcomes: tuple
    term: str
    test: str
    direction: int
    line: int
    quote_no: str
    claim_en: str


CLAIMS = (
    Claim(
        "public_offers_more",
        ("trainee_now", "trainee_ever"),
        "sector[T.public]",
        "sector",
        +1,
        1206,
        "Virksomheter i offentlig sektor tilbyr i større grad arbeidstrening enn privat sektor",
        "Public-sector businesses offer work placements more often than private ones",
    ),
    Claim(
        "rises_with_size",
        ("trainee_now", "trainee_ever"),
        "size_class[T.50+]",
        "size_class",
        +1,
        1201,
        "Andelen virksomheter som har personer inne på arbeidsutprøving i privat "
        "sektor synes å øke med størrelsen på virksomheten",
        "The share of (private) businesses with trainees seems to rise with size",
    ),
    Claim(
        "accommodation_experience",
        ("trainee_now",),
        "accommodation_experience[T.yes]",
        "accommodation_experience",
        +1,
        1651,
        "erfaring med oppfølging og tilrettelegging fra tidligere er positivt "
        "assosiert med å tilby arbeidstrening",
        "Earlier experience of accommodation is positively associated with offering placements",
    ),
    Claim(
        "public_hires_less",
        ("hired_after_trainee",),
        "sector[T.public]",
        "sector",
        -1,
        1207,
        "offentlige virksomheter sjeldnere tilbyr ansettelse etter arbeidstrening",
        "Public-sector businesses less often hire after a placement",
    ),
)


@dataclass
class Verdict:
    """What a model says about a claim: ``confirms``, ``qualifies`` or
    ``contradicts``, with the odds ratio, its interval and the term's test."""

    claim: Claim
    verdict: str
    odds_ratio: float
    ci: tuple
    p: float

    def text(self, lang: str = "en") -> str:
        fmt = _formatter(lang)
        lo, hi = (fmt(v) for v in self.ci)
        if lang == "en":
            words = {
                "confirms": "confirmed: the difference holds, and is statistically "
                "clear, with the other factors held fixed",
                "qualifies": "qualified: with the other factors held fixed the "
                "difference is no longer statistically clear",
                "contradicts": "contradicted: with the other factors held fixed the "
                "difference goes the other way",
            }[self.verdict]
            return (
                f"Report (line {self.claim.line}): “{self.claim.claim_en}” — {words} "
                f"(odds ratio {fmt(self.odds_ratio)}, 95% CI {lo} to {hi}; Wald test "
                f"of {VARIABLE_NAMES['en'].get(self.claim.test, self.claim.test)}: "
                f"{_p(self.p, lang)})."
            )
        words = {
            "confirms": "bekreftet: forskjellen består og er statistisk tydelig når "
            "de andre forholdene holdes like",
            "qualifies": "nyansert: når de andre forholdene holdes like, er forskjellen "
            "ikke lenger statistisk tydelig",
            "contradicts": "motsagt: når de andre forholdene holdes like, går "
            "forskjellen motsatt vei",
        }[self.verdict]
        return (
            f"Rapporten (linje {self.claim.line}): «{self.claim.quote_no}» — {words} "
            f"(oddsratio {fmt(self.odds_ratio)}, 95 % KI {lo}–{hi}; Wald-test av "
            f"{VARIABLE_NAMES['no'].get(self.claim.test, self.claim.test)}: "
            f"{_p(self.p, lang)})."
        )


@dataclass
class BundledModel:
    """One outcome's model, its predictive margins, readings and verdicts.

    ``fit`` is None (and ``error`` says why) when no NACE merging made the
    model estimable: a flagged result, not a failure of the report.
    """

    outcome: str
    formula: str
    fit: SvyGLMResults | None
    min_per_outcome: int | None = None
    merged: tuple = ()
    margins: dict = field(default_factory=dict)
    verdicts: list = field(default_factory=list)
    tests: pd.DataFrame | None = None
    error: str | None = None

    def readings(self, lang: str = "en") -> list:
        """One plain-language sentence per coefficient (intercept excepted)."""
        if self.fit is None:
            return []
        table = self.fit.tidy()
        outcome = OUTCOMES[self.outcome][lang][1]
        fmt = _formatter(lang)
        out = []
        for row in table.itertuples(index=False):
            if row.term == "Intercept":
                continue
            variable, level = _split_term(row.term)
            reference = _reference_level(self.fit, variable)
            others = [VARIABLE_NAMES[lang][v] for v in PREDICTORS if v != variable]
            clear = row.ci_low > 0 or row.ci_high < 0
            group, ref = _group(variable, level, lang), _group(variable, reference, lang)
            ci = (
                f"95% CI {fmt(row.or_ci_low)} to {fmt(row.or_ci_high)}"
                if lang == "en"
                else f"95 % KI {fmt(row.or_ci_low)}–{fmt(row.or_ci_high)}"
            )
            if lang == "en":
                verdict = (
                    "the interval excludes 1: a statistically clear difference"
                    if clear
                    else "the interval includes 1: the data cannot tell them apart"
                )
                out.append(
                    f"{group[0].upper() + group[1:]}: odds ratio {fmt(row.odds_ratio)} "
                    f"({ci}). With {', '.join(others[:-1])} and {others[-1]} held fixed, "
                    f"their odds of {outcome} are {fmt(row.odds_ratio)} times those of "
                    f"{ref}; {verdict}."
                )
            else:
                verdict = (
                    "intervallet utelukker 1: en statistisk tydelig forskjell"
                    if clear
                    else "intervallet inneholder 1: dataene kan ikke skille dem"
                )
                out.append(
                    f"{group[0].upper() + group[1:]}: oddsratio {fmt(row.odds_ratio)} "
                    f"({ci}). Når {', '.join(others[:-1])} og {others[-1]} holdes like, "
                    f"er oddsen for {outcome} {fmt(row.odds_ratio)} ganger oddsen for "
                    f"{ref}; {verdict}."
                )
        return out

    def to_text(self, lang: str = "en") -> str:
        title = OUTCOMES[self.outcome][lang][0]
        if self.fit is None:
            head = "not estimable" if lang == "en" else "kan ikke estimeres"
            return f"{title}: {head} ({self.error})"
        lines = [title, self._method(self.fit, lang)]
        lines += ["  " + r for r in self.readings(lang)]
        lines += ["  " + v.text(lang) for v in self.verdicts]
        return "\n".join(lines)

    def _method(self, fit: SvyGLMResults, lang: str) -> str:
        merged = ", ".join(self.merged) or ("none" if lang == "en" else "ingen")
        if lang == "en":
            return (
                f"Design-based logistic regression, n = {fit.n_used} businesses, "
                f"{fit.variance} variance, {fit.df} residual design df; NACE groups "
                f"with fewer than {self.min_per_outcome} businesses with either answer "
                f"merged into '{OTHER}': {merged}."
            )
        variance = {"replicate": "replikatvekter", "linearization": "linearisering"}
        return (
            f"Designbasert logistisk regresjon, n = {fit.n_used} virksomheter, "
            f"varians: {variance[fit.variance]}, {fit.df} frihetsgrader; "
            f"næringsgrupper med "
            f"færre enn {self.min_per_outcome} virksomheter med hvert svar slått "
            f"sammen til '{OTHER}': {merged}."
        )


@dataclass
class BundledAnalysis:
    """The three logistic models and the ordinal model of a rating scale;
    ``results`` are their fits, ``to_text`` and ``to_html`` the report's
    section (``lang`` ``en`` or ``no``), ``figures`` what it plots."""

    models: list
    rating: RatingModel | None = None

    @property
    def results(self) -> list:
        return [m.fit for m in self.models] + ([self.rating.fit] if self.rating else [])

    @property
    def text(self) -> str:
        return self.to_text("en")

    def to_text(self, lang: str = "en") -> str:
        parts = [m.to_text(lang) for m in self.models]
        if self.rating is not None:
            parts.append(self.rating.to_text(lang))
        return "\n\n".join(parts)

    def to_html(self, lang: str = "en") -> str:
        parts = [_model_html(m, lang) for m in self.models]
        if self.rating is not None:
            parts.append(_rating_html(self.rating, lang))
        return "\n".join(parts)

    def figures(self, lang: str = "en") -> list:
        """``(name, caption, frame)`` of each figure of the section: the
        rating model's predicted distributions by sector and size class
        (``RatingModel.figure_data``), when it could be fitted."""
        if self.rating is None or self.rating.fit is None:
            return []
        return [("model_rating", self.rating.caption(lang), self.rating.figure_data(lang))]


def bundled_analysis(design: Design | ReplicateDesign, level: float = 0.95) -> BundledAnalysis:
    """Fit the report's three logistic models and the ordinal model of the
    recruitment-need rating (:func:`~.rating_model.rating_model`) on ``design``.

    Parameters
    ----------
    design : weighting.design.Design
        The employer survey's design (calibrated; with replicates or not),
        its data holding the columns of ``docs/data.md``.
    level : float
        Confidence level of intervals; claims are judged at ``1 - level``.
    """
    data = design_frame(design)
    return BundledAnalysis(
        [_fit_outcome(design, data, outcome, level) for outcome in OUTCOMES],
        rating_model(design, level),
    )


def _fit_outcome(design, data, outcome, level) -> BundledModel:
    formula = FORMULA.format(outcome=outcome)
    complete = data[[outcome, *PREDICTORS]].notna().all(axis=1).to_numpy()
    answer = (data[outcome] == "yes").to_numpy()
    error = None
    for k in MIN_PER_OUTCOME:
        nace, merged = merge_small_groups(data["nace_group"], answer, complete, k)
        try:
            fit = svyglm(
                formula, design, "binomial", data=data.assign(nace_group=nace), level=level
            )
            model = BundledModel(outcome, formula, fit, k, merged, tests=fit.term_tests())
            model.margins = {v: fit.predicted_margins(v) for v in MARGIN_VARIABLES}
            model.verdicts = [
                _verdict(fit, claim, 1 - level) for claim in CLAIMS if outcome in claim.outcomes
            ]
        except (
            SeparationError,
            ReplicateError,
            CollinearityError,
            SingularCovarianceError,
        ) as exc:
            error = str(exc)
            continue
        return model
    return BundledModel(outcome, formula, None, error=error)


def merge_small_groups(
    groups: pd.Series, answer: np.ndarray, complete: np.ndarray, k: int
) -> tuple:
    """Pool the groups with fewer than ``k`` complete rows of either answer.

    Returns the new group per row and the pooled group labels (sorted). If
    the pool itself falls short, the smallest remaining group joins it, until
    it has ``k`` of each answer or every group is pooled.
    """
    values = groups.astype(object)
    rows = values[complete]
    yes = pd.Series(answer[complete]).groupby(rows.to_numpy()).sum()
    total = rows.value_counts()
    no = total - yes.reindex(total.index)
    small = set(total.index[(yes.reindex(total.index) < k) | (no < k)])
    if small:
        while len(small) < len(total):
            pooled = list(small)
            if yes[pooled].sum() >= k and no[pooled].sum() >= k:
                break
            small.add(total.drop(pooled).sort_values(kind="stable").index[0])
    merged = tuple(sorted(small))
    return values.where(~values.isin(merged), OTHER), merged


def _verdict(fit: SvyGLMResults, claim: Claim, alpha: float) -> Verdict:
    table = fit.tidy().set_index("term")
    row = table.loc[claim.term]
    test = fit.wald_test(claim.test)
    same = np.sign(row["estimate"]) == claim.direction
    clear = test.p < alpha
    verdict = "confirms" if same and clear else "contradicts" if clear else "qualifies"
    return Verdict(
        claim,
        verdict,
        float(row["odds_ratio"]),
        (float(row["or_ci_low"]), float(row["or_ci_high"])),
        float(test.p),
    )


def _split_term(term: str) -> tuple:
    """``size_class[T.50+]`` -> (``size_class``, ``50+``)."""
    variable, _, rest = term.partition("[T.")
    return variable, rest[:-1]


def _reference_level(fit: SvyGLMResults, variable: str) -> str:
    for factor, info in fit.frame.design_info.factor_infos.items():
        if factor.name() == variable and info.type == "categorical":
            return str(info.categories[0])
    return ""


def _formatter(lang: str):
    if lang == "en":
        return lambda v: f"{v:.2f}"
    return lambda v: f"{v:.2f}".replace(".", ",")


def _pvalue(p: float, lang: str) -> str:
    """``0.036`` or ``< 0.001`` (decimal comma in Norwegian)."""
    text = "< 0.001" if p < 0.001 else f"{p:.3f}"
    return text if lang == "en" else text.replace(".", ",")


def _p(p: float, lang: str) -> str:
    """``p = 0.036`` or ``p < 0.001``."""
    value = _pvalue(p, lang)
    return f"p {value}" if value.startswith("<") else f"p = {value}"


def _model_html(model: BundledModel, lang: str) -> str:
    esc = html.escape
    title = OUTCOMES[model.outcome][lang][0]
    if model.fit is None:
        return (
            f'<section class="model"><h3>{esc(title)}</h3>'
            f'<p class="flag">{esc(model.to_text(lang))}</p></section>'
        )
    assert model.tests is not None  # made with the fit (_fit_outcome)
    fmt = _formatter(lang)
    en = lang == "en"
    head = ("term", "odds ratio", "95% CI", "p") if en else ("ledd", "oddsratio", "95 % KI", "p")
    rows = "".join(
        f"<tr><td>{esc(r.term)}</td><td>{fmt(r.odds_ratio)}</td>"
        f"<td>{fmt(r.or_ci_low)}–{fmt(r.or_ci_high)}</td><td>{_pvalue(r.p, lang)}</td></tr>"
        for r in model.fit.tidy().itertuples(index=False)
        if r.term != "Intercept"
    )
    tests = "".join(
        f"<tr><td>{esc(r.term)}</td><td>{fmt(r.F)}</td><td>{r.df}, {r.ddf}</td>"
        f"<td>{_pvalue(r.p, lang)}</td></tr>"
        for r in model.tests.itertuples(index=False)
    )
    margins = "".join(
        f"<tr><td>{esc(m.variable)}</td><td>{esc(m.level)}</td>"
        f"<td>{fmt(100 * m.estimate)}</td>"
        f"<td>{fmt(100 * m.ci_low)}–{fmt(100 * m.ci_high)}</td></tr>"
        for table in model.margins.values()
        for m in table.itertuples(index=False)
    )
    caption_tests = "Wald tests of terms (F, df)" if en else "Wald-tester av ledd (F, fg)"
    caption_margins = (
        "Predicted proportion (%) if every business were in the group, other factors as observed"
        if en
        else "Predikert andel (%) om alle virksomheter var i gruppen, andre forhold som observert"
    )
    readings = "".join(f"<li>{esc(r)}</li>" for r in model.readings(lang))
    verdicts = "".join(f'<li class="{v.verdict}">{esc(v.text(lang))}</li>' for v in model.verdicts)
    return (
        f'<section class="model"><h3>{esc(title)}</h3>'
        f"<p>{esc(model._method(model.fit, lang))}</p>"
        f'<table class="coef"><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}'
        f"</tr></thead><tbody>{rows}</tbody></table>"
        f'<table class="tests"><caption>{caption_tests}</caption><tbody>{tests}</tbody>'
        f"</table>"
        f'<table class="margins"><caption>{caption_margins}</caption><tbody>{margins}'
        f"</tbody></table>"
        f'<ul class="claims">{verdicts}</ul><ul class="readings">{readings}</ul></section>'
    )


def _rating_html(model: RatingModel, lang: str) -> str:
    """The ordinal model's part of the section: method, odds ratios of a
    higher rating, Wald tests of terms and the readings (the predicted
    distributions are the section's figure)."""
    esc = html.escape
    title = RATING_TITLE[lang]
    if model.fit is None:
        return (
            f'<section class="model"><h3>{esc(title)}</h3>'
            f'<p class="flag">{esc(model.to_text(lang))}</p></section>'
        )
    assert model.tests is not None  # made with the fit (rating_model)
    fit, fmt, en = model.fit, _formatter(lang), lang == "en"
    variance = {
        "replicate": "replicate-weight" if en else "replikatvekter",
        "linearization": "linearization" if en else "linearisering",
    }[fit.variance]
    method = (
        f"Design-based proportional-odds model (logit link, R's svyolr): "
        f"P(rating ≤ k) = logit⁻¹(ζ_k − xβ), so an odds ratio above 1 means higher "
        f"ratings; n = {fit.n_used} businesses that answered, {variance} variance, "
        f"{fit.df} residual design df."
        if en
        else f"Designbasert ordinal logistisk regresjon (proporsjonale odds, R: svyolr): "
        f"P(vurdering ≤ k) = logit⁻¹(ζ_k − xβ), så en oddsratio over 1 betyr høyere "
        f"vurderinger; n = {fit.n_used} virksomheter som svarte, varians: {variance}, "
        f"{fit.df} frihetsgrader."
    )
    head = (
        ("term", "odds ratio (higher rating)", "95% CI", "p")
        if en
        else ("ledd", "oddsratio (høyere vurdering)", "95 % KI", "p")
    )
    rows = "".join(
        f"<tr><td>{esc(r.term)}</td><td>{fmt(r.odds_ratio)}</td>"
        f"<td>{fmt(r.or_ci_low)}–{fmt(r.or_ci_high)}</td><td>{_pvalue(r.p, lang)}</td></tr>"
        for r in model.coefficients().itertuples(index=False)
    )
    tests = "".join(
        f"<tr><td>{esc(r.term)}</td><td>{fmt(r.F)}</td><td>{r.df}, {r.ddf}</td>"
        f"<td>{_pvalue(r.p, lang)}</td></tr>"
        for r in model.tests.itertuples(index=False)
    )
    caption_tests = "Wald tests of terms (F, df)" if en else "Wald-tester av ledd (F, fg)"
    readings = "".join(f"<li>{esc(r)}</li>" for r in model.readings(lang))
    return (
        f'<section class="model"><h3>{esc(title)}</h3><p>{esc(method)}</p>'
        f'<table class="coef"><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}'
        f"</tr></thead><tbody>{rows}</tbody></table>"
        f'<table class="tests"><caption>{caption_tests}</caption><tbody>{tests}</tbody>'
        f'</table><ul class="readings">{readings}</ul></section>'
    )
