"""Results of a design-based GLM: tables, Wald tests, predictive margins.

:class:`SvyGLMResults` mirrors statsmodels' results (``params``, ``bse``,
``cov_params()``, ``conf_int()``, ``summary()``) and adds the survey pieces:
design degrees of freedom, odds ratios, R ``regTermTest``-style Wald F tests,
predictive margins (Graubard & Korn 1999) with their contrasts, and average
marginal effects (the margins' contrasts for a factor, the mean slope for a
numeric variable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special

from estimators._threads import thread_limits
from estimators.inference.ci import proportion_ci, wald_ci

from .errors import ModelError, SingularCovarianceError
from .families import Family
from .fitting import collapse_rows
from .formula import ModelFrame, factor_variables, formula_variables
from .variance import linearized_cov, replicate_cov

if TYPE_CHECKING:
    from weighting.design import Design
    from weighting.protocols import ReplicateDesign

    from .lrt import WorkingTest

COLUMNS = ["term", "estimate", "se", "t", "df", "p", "ci_low", "ci_high"]
ODDS_COLUMNS = ["odds_ratio", "or_ci_low", "or_ci_high"]


# The tail probabilities of the tests from scipy.special: scipy.stats.t.sf,
# f.sf and chi2.sf bit for bit (each is the special function after argument
# checks), without importing scipy.stats (two thirds of a second), as
# estimators.inference.ci does for the quantiles.
def t_two_sided_p(t, df):
    """``P(|T| > |t|)`` for Student's t on ``df`` degrees of freedom:
    ``2 scipy.stats.t.sf(|t|, df)`` (``special.stdtr(df, -|t|)``)."""
    return 2 * special.stdtr(df, -np.abs(t))


def f_sf(F: float, dfn: float, dfd: float) -> float:
    """``P(F(dfn, dfd) > F)``: ``scipy.stats.f.sf`` (``special.fdtrc``)."""
    return float(special.fdtrc(dfn, dfd, F))


def chi2_sf(x: float, df: float) -> float:
    """``P(chi2(df) > x)``: ``scipy.stats.chi2.sf`` (``special.chdtrc``)."""
    return float(special.chdtrc(df, x))


@dataclass(frozen=True)
class TermTest:
    """A design-based Wald test that a group of coefficients is zero.

    ``F = b' V^{-1} b / k`` referred to F(k, ddf), ``ddf`` the model's
    residual design df (R ``regTermTest(method = "Wald")``; Korn & Graubard
    1990 for the F form); with ``ddf = inf``, ``k F`` referred to chi-square
    on k df (R's ``df = Inf``, which reports ``chisq = k F``).
    """

    terms: tuple
    columns: tuple
    F: float
    df: int
    ddf: float
    p: float

    def __str__(self) -> str:
        return (
            f"Wald test for {' + '.join(self.terms)}: F = {self.F:.4f} on "
            f"{self.df} and {self.ddf} df, p = {self.p:.4g}"
        )

    def _repr_html_(self) -> str:
        """The test as a one-row HTML table, for Jupyter."""
        from estimators.inference.html import term_test_html

        return term_test_html(self)


@dataclass
class SvyGLMResults:
    """A fitted design-based GLM (see :func:`estimators.model.svyglm`).

    Attributes
    ----------
    params : (p,) coefficients; cov : (p, p) design-based covariance.
    design_df : design degrees of freedom of the rows in the fit (R ``degf``).
    df : residual design degrees of freedom, ``design_df + 1 - p`` (R).
    variance : ``"replicate"`` or ``"linearization"``.
    replicate_params : (B, p) replicate coefficients (replicate variance).
    replicate_weights : (n_used, B) the fitted rows' replicate weights
        (replicate variance), fetched from the design once per fit.
    influence : (n, p) influence functions (linearization).
    """

    formula: str
    family: Family
    frame: ModelFrame
    design: Design | ReplicateDesign
    data: pd.DataFrame
    params: np.ndarray
    cov: np.ndarray
    variance: str
    design_df: int
    level: float = 0.95
    replicate_params: np.ndarray | None = None
    replicate_weights: np.ndarray | None = None
    influence: np.ndarray | None = None

    def _replicate_params(self) -> np.ndarray:
        """``replicate_params``, which a fit with replicate variance has."""
        if self.replicate_params is None:
            raise ModelError(f"a fit with {self.variance} variance has no replicate coefficients")
        return self.replicate_params

    def _replicate_weights(self) -> np.ndarray:
        """``replicate_weights``, which a fit with replicate variance has."""
        if self.replicate_weights is None:
            raise ModelError(f"a fit with {self.variance} variance has no replicate weights")
        return self.replicate_weights

    def _influence(self) -> np.ndarray:
        """``influence``, which a fit with linearization variance has."""
        if self.influence is None:
            raise ModelError(f"a fit with {self.variance} variance has no influence functions")
        return self.influence

    # -- coefficient table -------------------------------------------------------

    @property
    def df(self) -> int:
        return self.design_df + 1 - len(self.params)

    @property
    def terms(self) -> list:
        return list(self.frame.terms)

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    @property
    def tvalues(self) -> np.ndarray:
        return self.params / self.bse

    @property
    def pvalues(self) -> np.ndarray:
        return t_two_sided_p(self.tvalues, self._df_or_nan)

    @property
    def _df_or_nan(self) -> float:
        return self.df if self.df > 0 else np.nan

    @property
    def n_used(self) -> int:
        return int(self.frame.used.sum())

    @property
    def n_missing(self) -> int:
        return int(len(self.frame.used) - self.frame.used.sum())

    def cov_params(self) -> pd.DataFrame:
        return pd.DataFrame(self.cov, index=self.terms, columns=self.terms)

    def conf_int(self, level: float | None = None) -> np.ndarray:
        """(p, 2) intervals ``b +- t_{df} se`` (R ``confint.svyglm``)."""
        low, high = wald_ci(
            self.params, self.bse, self._df_or_nan, self.level if level is None else level
        )
        return np.column_stack([low, high])

    def tidy(self, level: float | None = None) -> pd.DataFrame:
        """One row per coefficient: ``term, estimate, se, t, df, p, ci_low,
        ci_high`` and, for a logistic model, ``odds_ratio, or_ci_low,
        or_ci_high`` (exponentiated estimate and interval)."""
        ci = self.conf_int(level)
        table = pd.DataFrame(
            {
                "term": self.terms,
                "estimate": self.params,
                "se": self.bse,
                "t": self.tvalues,
                "df": self.df,
                "p": self.pvalues,
                "ci_low": ci[:, 0],
                "ci_high": ci[:, 1],
            }
        )
        if self.family.name == "binomial":
            table["odds_ratio"] = np.exp(self.params)
            table["or_ci_low"] = np.exp(ci[:, 0])
            table["or_ci_high"] = np.exp(ci[:, 1])
        return table

    # -> an xarray.Dataset, typed Any: xarray is an optional extra, which this
    # module does not import at module level, even for an annotation
    def to_xarray(self, level: float | None = None) -> Any:
        """The coefficient table as an ``xarray.Dataset`` over ``term``, with
        the covariance as ``cov(term, term2)``."""
        import xarray as xr

        table = self.tidy(level).set_index("term")
        ds = xr.Dataset.from_dataframe(table)
        ds["cov"] = (("term", "term2"), self.cov)
        ds = ds.assign_coords(term2=self.terms)
        ds.attrs.update(
            formula=self.formula,
            family=self.family.name,
            variance=self.variance,
            df=self.df,
            n_used=self.n_used,
            n_missing=self.n_missing,
            level=self.level if level is None else level,
        )
        return ds

    # -- Wald tests --------------------------------------------------------------

    def _columns(self, terms) -> list:
        """Column indices of formula terms (``sector``) or model columns."""
        if isinstance(terms, str):
            terms = [terms]
        cols = []
        for term in terms:
            if term in self.frame.term_columns:
                cols += self.frame.term_columns[term]
            elif term in self.terms:
                cols.append(self.terms.index(term))
            else:
                known = [t for t in self.frame.term_columns if t != "Intercept"]
                raise ModelError(f"no term {term!r} in the model; terms are {', '.join(known)}")
        return sorted(set(cols))

    def wald_test(
        self,
        terms: str | Sequence[str],
        method: str = "Wald",
        lrt_approximation: str = "saddlepoint",
        df: float | None = None,
    ) -> TermTest | WorkingTest:
        """Test that all coefficients of ``terms`` are zero (R ``regTermTest(model,
        ~ terms, method, lrt.approximation, df)``).

        ``method="Wald"`` (default): the design-based Wald F test, a
        :class:`TermTest`. ``"LRT"`` (working-likelihood ratio) and
        ``"WorkingWald"``: Rao–Scott tests referred to a combination of
        chi-squares by ``lrt_approximation`` (``"saddlepoint"`` or
        ``"satterthwaite"``), a :class:`~estimators.model.lrt.WorkingTest`.
        ``df`` replaces the residual design df as the denominator df;
        ``numpy.inf`` gives chi-square tests (for Wald, ``F * df`` on
        ``df`` degrees of freedom).
        """
        cols = self._columns(terms)
        names = (terms,) if isinstance(terms, str) else tuple(terms)
        V = self.cov[np.ix_(cols, cols)]
        rank = int(np.linalg.matrix_rank(V))
        if rank < len(cols):
            raise SingularCovarianceError(
                f"the covariance of the {len(cols)} coefficient(s) of {', '.join(names)} "
                f"has rank {rank}: no Wald test (with replicates, B must exceed the "
                f"number of coefficients; the design has {self.df} degrees of freedom)"
            )
        if method != "Wald":
            # imported here: its tail probabilities need scipy.stats
            from .lrt import working_test

            return working_test(self, cols, names, method, lrt_approximation, df)
        b = self.params[cols]
        ddf = self.df if df is None else df
        F = float(b @ np.linalg.solve(V, b)) / len(cols)
        if ddf == np.inf:
            p = chi2_sf(F * len(cols), len(cols))
        else:
            p = f_sf(F, len(cols), ddf) if ddf > 0 else np.nan
        return TermTest(names, tuple(self.terms[c] for c in cols), F, len(cols), ddf, p)

    def term_tests(self) -> pd.DataFrame:
        """A Wald test of every formula term but the intercept."""
        rows = []
        for term in self.frame.term_columns:
            if term == "Intercept":
                continue
            t = self.wald_test(term)
            assert isinstance(t, TermTest)  # the default method, Wald
            rows.append({"term": term, "F": t.F, "df": t.df, "ddf": t.ddf, "p": t.p})
        return pd.DataFrame(rows, columns=["term", "F", "df", "ddf", "p"])

    # -- predictive margins ------------------------------------------------------

    def predicted_margins(
        self, variable: str, level: float | None = None, ci: str | None = None
    ) -> pd.DataFrame:
        """Predictive margins of a factor and their contrasts with its first level.

        For each level ``a`` of ``variable``, every fitted unit is given
        ``variable = a`` and the model's predictions are averaged with the
        design weights,

        .. math:: m_a = \\sum_i w_i \\mu(x_i(a)'\\hat\\beta) / \\sum_i w_i

        (Graubard & Korn 1999). For a logistic model ``m_a`` is the predicted
        proportion in the population if everyone were in level ``a``, all
        else as observed; ``m_a - m_ref`` is the factor's average marginal
        effect. Variance: replicates recompute ``m_a`` with replicate weights
        and coefficients; linearization adds the influence of the weighted
        mean and of ``beta`` unit by unit, so their covariance is kept (R's
        ``svypredmeans`` adds the two variances and drops it).

        Returns
        -------
        DataFrame
            Columns ``variable, level, estimate, se, ci_low, ci_high,
            contrast, contrast_se, contrast_ci_low, contrast_ci_high, df``.
            Intervals: the logit interval of :func:`estimators.inference.ci.proportion_ci`
            for a logistic model's margins (``ci`` chooses another), Wald with
            the design's degrees of freedom otherwise and for contrasts.
        """
        with thread_limits(blas=1):
            return self._predicted_margins(variable, level, ci)

    def _predicted_margins(self, variable, level, ci) -> pd.DataFrame:
        levels = self._factor_levels(variable)
        m, cov = self._averaged_predictions(
            self.frame.counterfactual_matrices(self.data, variable, levels)
        )
        df = self.design_df
        level = self.level if level is None else level
        se = np.sqrt(np.diag(cov))
        if self.family.name == "binomial":
            low, high = proportion_ci(m, se, method=ci or "xlogit", df=df, level=level)
        else:
            low, high = wald_ci(m, se, df, level)
        contrast = m - m[0]
        c_var = np.diag(cov) + cov[0, 0] - 2 * cov[:, 0]
        c_se = np.sqrt(np.maximum(c_var, 0.0))
        c_low, c_high = wald_ci(contrast, c_se, df, level)
        return pd.DataFrame(
            {
                "variable": variable,
                "level": [str(v) for v in levels],
                "estimate": m,
                "se": se,
                "ci_low": low,
                "ci_high": high,
                "contrast": contrast,
                "contrast_se": c_se,
                "contrast_ci_low": c_low,
                "contrast_ci_high": c_high,
                "df": df,
            }
        )

    def average_marginal_effects(self, level: float | None = None) -> pd.DataFrame:
        """Average marginal effect of every variable of the formula.

        A factor: the differences of its predictive margins from its first
        level (:meth:`predicted_margins`). A numeric variable x: the
        design-weighted average of ``d mu_i / d x``, the change in the
        predicted mean per unit of x (a central difference, exact for terms
        linear in x). Same variance machinery as the margins.

        Returns
        -------
        DataFrame
            Columns ``variable, contrast, estimate, se, t, p, ci_low,
            ci_high, df``; ``contrast`` is ``level - reference`` or ``d/dx``.
        """
        level = self.level if level is None else level
        rows = []
        with thread_limits(blas=1):
            for variable in self._variables():
                if self._is_factor(variable):
                    margins = self._predicted_margins(variable, level, None)
                    ref = margins["level"].iloc[0]
                    for r in margins.iloc[1:].itertuples(index=False):
                        rows.append((variable, f"{r.level} - {ref}", r.contrast, r.contrast_se))
                else:
                    estimate, se = self._derivative(variable)
                    rows.append((variable, f"d/d{variable}", estimate, se))
        return self._t_columns(
            pd.DataFrame(rows, columns=["variable", "contrast", "estimate", "se"]), level
        )

    def _t_columns(self, table: pd.DataFrame, level: float) -> pd.DataFrame:
        """``table`` (with ``estimate, se``) plus ``t, p, ci_low, ci_high, df``
        on the design df."""
        df = self.design_df
        table["t"] = table["estimate"] / table["se"]
        table["p"] = t_two_sided_p(table["t"].to_numpy(), df) if df > 0 else np.nan
        table["ci_low"], table["ci_high"] = wald_ci(
            table["estimate"].to_numpy(), table["se"].to_numpy(), df, level
        )
        table["df"] = df
        return table

    def _derivative(self, variable: str) -> tuple:
        """Weighted mean of d mu / d x by a central difference of step h."""
        base = self.data.loc[self.frame.used]
        x = base[variable].astype(float)
        h = 1e-4 * max(float(x.std()), 1e-8)
        m, cov = self._averaged_predictions(
            [
                self.frame.design_matrix(base.assign(**{variable: x + h})),
                self.frame.design_matrix(base.assign(**{variable: x - h})),
            ]
        )
        C = np.array([1.0, -1.0]) / (2 * h)
        return float(C @ m), float(np.sqrt(max(C @ cov @ C, 0.0)))

    def _averaged_predictions(self, Xs: list) -> tuple:
        """Weighted mean predictions ``m_k`` of the fitted rows on each
        modified design matrix ``Xs[k]``, and their (K, K) design-based
        covariance."""
        used = self.frame.used
        w = np.asarray(self.design.weights, dtype=float)[used]
        fam = self.family
        m = np.array([np.sum(w * fam.inverse_link(X @ self.params)) / w.sum() for X in Xs])
        if self.variance == "replicate":
            W = self._replicate_weights()
            betas = self._replicate_params().T
            totals = W.sum(axis=0)
            # A prediction depends on a row only through its x: rows alike in
            # every Xs[k] are merged once (the columns of Xs[k] are keys[:, k p:(k + 1) p]).
            keys, Wd = collapse_rows(np.hstack(Xs), W)
            p = Xs[0].shape[1]
            reps = np.empty((betas.shape[1], len(Xs)))
            for k in range(len(Xs)):
                eta = keys[:, k * p : (k + 1) * p] @ betas
                reps[:, k] = np.sum(Wd * fam.inverse_link(eta), axis=0) / totals
            return m, replicate_cov(self.design, m, reps)
        z = np.zeros((len(used), len(Xs)))
        beta_infl = self._influence()[used]
        for k, X in enumerate(Xs):
            mu = fam.inverse_link(X @ self.params)
            # d m / d beta: for a canonical link d mu / d eta = V(mu).
            grad = X.T @ (w * fam.variance(mu)) / w.sum()
            z[used, k] = (mu - m[k]) / w.sum() + beta_infl @ grad
        return m, linearized_cov(self.design, z, used)

    def _variables(self) -> list:
        """Data variables on the right-hand side of the formula."""
        return formula_variables(self.formula, rhs_only=True)

    def _is_factor(self, variable: str) -> bool:
        try:
            self._factor_levels(variable)
        except ModelError:
            return False
        return True

    def _factor_levels(self, variable: str) -> list:
        for factor, info in self.frame.design_info.factor_infos.items():
            # `sector`, `C(sector)`, `C(sector, Treatment('public'))`...
            if info.type == "categorical" and factor_variables(factor) == [variable]:
                return list(info.categories)
        raise ModelError(
            f"{variable!r} is not a categorical variable of the model {self.formula!r}"
        )

    # -- display -----------------------------------------------------------------

    def summary(self) -> str:
        """A statsmodels-like text summary."""
        design = self.design
        head = [
            f"Design-based GLM (svyglm)     family: {self.family.name} ({self.family.link} link)",
            f"Formula: {self.formula}",
            f"Variance: {self.variance}"
            + (
                f" ({getattr(design, 'method', 'replicates')}, "
                f"B = {self._replicate_params().shape[0]})"
                if self.variance == "replicate"
                else ""
            ),
            f"Rows used: {self.n_used} (missing model variable: {self.n_missing})   "
            f"residual design df: {self.df}",
        ]
        table = self.tidy()
        cols = COLUMNS[1:] + (ODDS_COLUMNS if self.family.name == "binomial" else [])
        body = table.set_index("term")[cols].to_string(float_format=lambda v: f"{v:.4g}")
        tests = self.term_tests()
        lines = head + ["", body]
        if len(tests):
            lines += [
                "",
                "Wald tests of terms (F on df and ddf):",
                tests.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
            ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<SvyGLMResults {self.family.name}: {self.formula!r}, "
            f"{self.variance} variance, df={self.df}>"
        )

    def _repr_html_(self) -> str:
        """Coefficients (and odds ratios) and term tests in HTML, for Jupyter."""
        from estimators.inference.html import glm_html

        return glm_html(self)
