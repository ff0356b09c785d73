"""Results of a design-based proportional-odds model (:func:`~estimators.model.svyolr`).

:class:`OrdinalResults` is a :class:`~estimators.model.results.SvyGLMResults`
whose parameters are the coefficients followed by the thresholds (R's
``coef(svyolr)`` order and names ``"1|2"``, ...), so the coefficient table,
covariance, intervals and Wald tests of terms (R's ``regTermTest``) are the
GLM's, with R's residual df for ``svyolr``, ``degf - length(beta)``. What is
ordinal: the category probabilities ``P(Y = k | x)`` for new rows, their
design-weighted averages within domains, and predictive margins with their
contrasts, per category, each with a design-based standard error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import patsy

from estimators._threads import thread_limits
from estimators.inference.ci import proportion_ci, wald_ci

from .errors import ModelError
from .fitting import collapse_rows
from .results import ODDS_COLUMNS, SvyGLMResults
from .variance import linearized_cov, replicate_cov


def category_probabilities(X: np.ndarray, theta: np.ndarray, link, p: int, density: bool = False):
    """``P(Y = k | x_i)`` (n, K, B) for parameters ``theta`` (P, B).

    With ``density``, also ``f(zeta_k - x_i'beta)`` at the K + 1 category
    bounds (n, K + 1, B; 0 at the open ends), for derivatives.
    """
    eta = X @ theta[:p]  # (n, B)
    bounds = theta[p:][None, :, :] - eta[:, None, :]  # (n, q, B)
    n, B = eta.shape
    q = bounds.shape[1]
    # P_k = F_k - F_{k-1} with F_{-1} = 0 and F_K = 1, differenced in place
    cdf = link.cdf(bounds)
    probs = np.empty((n, q + 1, B))
    probs[:, :q] = cdf
    probs[:, q] = 1.0
    probs[:, 1:] -= cdf
    if not density:
        return probs
    pdf = np.concatenate([np.zeros((n, 1, B)), link.pdf(bounds), np.zeros((n, 1, B))], axis=1)
    return probs, pdf


@dataclass
class OrdinalResults(SvyGLMResults):
    """A fitted design-based proportional-odds model.

    Besides the attributes of :class:`~estimators.model.results.SvyGLMResults`:

    Attributes
    ----------
    params : (p + K - 1,) coefficients, then thresholds.
    family : :class:`~estimators.model.ordinal.OrdinalLink` (``name``
        ``"ordinal"``, ``link`` ``"logit"`` or ``"probit"``).
    loglik : weighted pseudo-log-likelihood at the estimate.
    weight_total : sum of the weights of the fitted rows (R's ``n``).
    """

    # An OrdinalFrame and an OrdinalLink (estimators.model.ordinal), typed Any:
    # that module imports this one, so this one cannot import them back.
    frame: Any
    family: Any
    loglik: float = np.nan
    weight_total: float = np.nan

    # -- parameters ------------------------------------------------------------------

    @property
    def df(self) -> int:
        """Residual design df as R's ``svyolr``: ``degf - length(beta)``."""
        return self.design_df - len(self.frame.terms)

    @property
    def terms(self) -> list:
        return list(self.frame.terms) + self.frame.threshold_names

    @property
    def levels(self) -> list:
        """The response's categories, lowest first."""
        return list(self.frame.levels)

    @property
    def coefficients(self) -> pd.Series:
        """``beta`` (R's ``fit$coefficients``)."""
        p = len(self.frame.terms)
        return pd.Series(self.params[:p], index=self.frame.terms)

    @property
    def thresholds(self) -> pd.Series:
        """``zeta`` (R's ``fit$zeta``), named ``"1|2"``, ..."""
        p = len(self.frame.terms)
        return pd.Series(self.params[p:], index=self.frame.threshold_names)

    @property
    def deviance(self) -> float:
        """``-2 loglik / mean(w)`` (R's ``fit$deviance``)."""
        return -2.0 * self.loglik / (self.weight_total / self.n_used)

    def tidy(self, level: float | None = None) -> pd.DataFrame:
        """One row per coefficient, then per threshold: ``term, estimate, se,
        t, df, p, ci_low, ci_high``; for the logit link also ``odds_ratio,
        or_ci_low, or_ci_high`` on the coefficient rows (``exp(beta)``, the
        odds ratio of a higher rating; empty on the threshold rows)."""
        table = super().tidy(level)
        if self.family.link == "logit":
            coefficient = np.arange(len(self.params)) < len(self.frame.terms)
            for name, column in zip(ODDS_COLUMNS, ("estimate", "ci_low", "ci_high")):
                table[name] = np.where(coefficient, np.exp(table[column]), np.nan)
        return table

    # -- predictions --------------------------------------------------------------------

    def _probabilities(self, X: np.ndarray, theta: np.ndarray, density: bool = False):
        return category_probabilities(X, theta, self.family, len(self.frame.terms), density)

    def predict_proba(self, newdata: pd.DataFrame) -> pd.DataFrame:
        """Category probabilities ``P(Y = k | x)`` of the rows of ``newdata``
        (their predictors coded as in the fit), one column per category
        (MASS's ``predict(polr, type = "probs")``; R survey has no
        ``predict`` for ``svyolr``). A level the fit has not seen, or a
        missing predictor, raises :class:`ModelError`."""
        try:
            X = self.frame.design_matrix(pd.DataFrame(newdata))
        except patsy.PatsyError as exc:
            raise ModelError(
                f"cannot code newdata for the model {self.formula!r}: {str(exc).splitlines()[0]}"
            ) from None
        probs = self._probabilities(X, self.params[:, None])[:, :, 0]
        return pd.DataFrame(probs, columns=self.levels, index=pd.DataFrame(newdata).index)

    def domain_probabilities(
        self, by: str | None = None, level: float | None = None
    ) -> pd.DataFrame:
        """Design-weighted average of the fitted category probabilities by domain.

        ``m_dk = sum_{i in d} w_i P(Y = k | x_i) / sum_{i in d} w_i`` over the
        fitted rows of each level d of the data column ``by`` (all fitted
        rows without it): the model's distribution of the ratings in the
        domain. Standard errors as :meth:`predicted_margins`' (the domain
        sizes are estimated too).

        Returns
        -------
        DataFrame
            The columns of :meth:`predicted_margins` (the
            contrasts are differences from the first domain).
        """
        base = self.data.loc[self.frame.used]
        if by is None:
            domains, masks = ["all"], [np.ones(len(base), dtype=bool)]
        else:
            if by not in base.columns:
                raise ModelError(f"no column {by!r} in the data")
            values = base[by]
            domains = sorted(values.dropna().unique().tolist())
            masks = [(values == d).to_numpy() for d in domains]
        with thread_limits(blas=1):
            m, cov = self._averaged_probabilities([(self.frame.X, mask) for mask in masks])
        return self._probability_table(by or "all", domains, m, cov, level)

    def predicted_margins(
        self, variable: str, level: float | None = None, ci: str | None = None
    ) -> pd.DataFrame:
        """Predictive margins of each category for each level of a factor.

        For each level ``a`` of ``variable``, every fitted unit is given
        ``variable = a`` and its category probabilities are averaged with
        the design weights, ``m_ak = sum_i w_i P(Y = k | x_i(a)) / sum_i w_i``
        (Graubard & Korn 1999), with the contrasts ``m_ak - m_1k`` (the
        factor's average marginal effect on category k). Variance: replicates
        recompute the margins with replicate weights and estimates;
        linearization adds the influence of the weighted mean and of the
        estimate unit by unit.

        Returns
        -------
        DataFrame
            Columns ``variable, level, category, estimate, se, ci_low,
            ci_high, contrast, contrast_se, contrast_ci_low, contrast_ci_high,
            df``, one row per level and category (``ci`` as in
            :func:`estimators.inference.ci.proportion_ci`, default xlogit).
        """
        levels = self._factor_levels(variable)
        everyone = np.ones(int(self.frame.used.sum()), dtype=bool)
        with thread_limits(blas=1):
            m, cov = self._averaged_probabilities(
                [
                    (X, everyone)
                    for X in self.frame.counterfactual_matrices(self.data, variable, levels)
                ]
            )
        return self._probability_table(variable, levels, m, cov, level, ci)

    def average_marginal_effects(self, level: float | None = None) -> pd.DataFrame:
        """Average marginal effect of every predictor on every category probability.

        A factor: the contrasts of its predictive margins with its first
        level (:meth:`predicted_margins`). A numeric variable x: the weighted
        average of ``d P(Y = k | x_i) / d x`` (a central difference, exact
        for terms linear in x), with the same variance machinery.

        Returns
        -------
        DataFrame
            Columns ``variable, contrast, category, estimate, se, t, p,
            ci_low, ci_high, df``.
        """
        level = self.level if level is None else level
        parts = []
        for variable in self._variables():
            if self._is_factor(variable):
                margins = self.predicted_margins(variable, level)
                ref = margins["level"].iloc[0]
                rest = margins[margins["level"] != ref]
                parts.append(
                    pd.DataFrame(
                        {
                            "variable": variable,
                            "contrast": rest["level"] + f" - {ref}",
                            "category": rest["category"],
                            "estimate": rest["contrast"],
                            "se": rest["contrast_se"],
                        }
                    )
                )
            else:
                parts.append(self._derivative(variable))
        return self._t_columns(pd.concat(parts, ignore_index=True), level)

    def _derivative(self, variable: str) -> pd.DataFrame:
        """Weighted mean of ``d P_k / d x`` per category, central difference of step h."""
        base = self.data.loc[self.frame.used]
        x = base[variable].astype(float)
        h = 1e-4 * max(float(x.std()), 1e-8)
        everyone = np.ones(len(base), dtype=bool)
        with thread_limits(blas=1):
            m, cov = self._averaged_probabilities(
                [
                    (self.frame.design_matrix(base.assign(**{variable: x + h})), everyone),
                    (self.frame.design_matrix(base.assign(**{variable: x - h})), everyone),
                ]
            )
        K = len(self.levels)
        C = np.hstack([np.eye(K), -np.eye(K)]) / (2 * h)
        return pd.DataFrame(
            {
                "variable": variable,
                "contrast": f"d/d{variable}",
                "category": self.levels,
                "estimate": C @ m,
                "se": np.sqrt(np.maximum(np.diag(C @ cov @ C.T), 0.0)),
            }
        )

    def _averaged_probabilities(self, cases: list) -> tuple:
        """Weighted means of the category probabilities over the fitted rows.

        ``cases`` are ``(X, mask)`` pairs: the design matrix of the fitted
        rows with modified predictors and the rows averaged over. Returns ``m`` (J K,) ordered
        case by case, category within case, and its (J K, J K) design-based
        covariance.
        """
        used = self.frame.used
        w = np.asarray(self.design.weights, dtype=float)[used]
        Xs = [X for X, _ in cases]
        masks = [np.asarray(mask, dtype=float) for _, mask in cases]
        totals = [float(w @ mask) for mask in masks]
        first = [self._probabilities(X, self.params[:, None], density=True) for X in Xs]
        m = np.concatenate(
            [
                (w * mask) @ probs[:, :, 0] / total
                for (probs, _), mask, total in zip(first, masks, totals)
            ]
        )
        if self.variance == "replicate":
            W = self._replicate_weights()
            thetas = self._replicate_params().T
            # The probabilities depend on a row only through its x: rows alike in
            # every case (each Xs[j] and mask) are merged once, their weights summed.
            keys, Wd = collapse_rows(np.column_stack([*Xs, *masks]), W)
            p, J = Xs[0].shape[1], len(Xs)
            parts = []
            for j, mask in enumerate(masks):
                Xd, in_case = keys[:, j * p : (j + 1) * p], keys[:, J * p + j]
                parts.append(
                    np.einsum("ib,ikb->bk", Wd * in_case[:, None], self._probabilities(Xd, thetas))
                    / (W.T @ mask)[:, None]
                )
            reps = np.concatenate(parts, axis=1)
            return m, replicate_cov(self.design, m, reps)
        K = len(self.levels)
        infl = self._influence()[used]
        z = np.zeros((len(used), len(m)))
        for j, (X, (probs, pdf), mask, total) in enumerate(zip(Xs, first, masks, totals)):
            probs, pdf = probs[:, :, 0], pdf[:, :, 0]
            wm = w * mask / total
            # d P_k / d beta = -x (f_k - f_{k-1}); d P_k / d zeta_k = f_k,
            # d P_k / d zeta_{k-1} = -f_{k-1}  (f_k the density at the k-th bound).
            grad_beta = -X.T @ (wm[:, None] * np.diff(pdf, axis=1))  # (p, K)
            f = wm @ pdf[:, 1:-1]  # (q,)
            grad_zeta = np.hstack([np.diag(f), np.zeros((K - 1, 1))]) - np.hstack(
                [np.zeros((K - 1, 1)), np.diag(f)]
            )  # (q, K)
            grad = np.vstack([grad_beta, grad_zeta])
            cols = slice(j * K, (j + 1) * K)
            z[used, cols] = mask[:, None] * (probs - m[cols]) / total + infl @ grad
        return m, linearized_cov(self.design, z, used)

    def _probability_table(self, variable, levels, m, cov, level, ci=None) -> pd.DataFrame:
        """Margins ``m`` (levels x categories) with intervals and the
        contrasts of each level with the first, category by category."""
        K = len(self.levels)
        df = self.design_df
        level = self.level if level is None else level
        se = np.sqrt(np.maximum(np.diag(cov), 0.0))
        low, high = proportion_ci(m, se, method=ci or "xlogit", df=df, level=level)
        ref = np.tile(np.arange(K), len(levels))
        contrast = m - m[ref]
        c_var = np.diag(cov) + np.diag(cov)[ref] - 2 * cov[np.arange(len(m)), ref]
        c_se = np.sqrt(np.maximum(c_var, 0.0))
        c_low, c_high = wald_ci(contrast, c_se, df, level)
        return pd.DataFrame(
            {
                "variable": variable,
                "level": np.repeat([str(v) for v in levels], K),
                "category": self.levels * len(levels),
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

    # -- display --------------------------------------------------------------------------

    def summary(self) -> str:
        """The GLM's text summary (coefficients, then thresholds; Wald tests
        of terms) headed for an ordinal model."""
        lines = super().summary().split("\n")
        lines[0] = f"Design-based proportional-odds model (svyolr)     link: {self.family.link}"
        lines[1] += f"   categories: {' < '.join(self.levels)}"
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<OrdinalResults {self.family.link}: {self.formula!r}, "
            f"{self.variance} variance, df={self.df}>"
        )
