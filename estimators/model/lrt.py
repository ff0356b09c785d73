"""Rao–Scott working-likelihood tests of terms of a design-based GLM (R
``regTermTest(method = "LRT" | "WorkingWald")``).

A design-based GLM maximises the *working* (pseudo-) log-likelihood
``l(beta) = sum_i w_i log f(y_i; beta)`` with the weights rescaled to mean 1.
Its deviance ``D = -2 l`` (up to a constant) gives the working likelihood
ratio statistic for ``beta_T = 0`` (the columns ``T`` of the tested terms):

.. math:: X^2 = D(\\hat\\beta_0) - D(\\hat\\beta),

with ``beta_0`` the fit without the columns ``T``. Under the null it is not
chi-square but a combination ``sum_j lambda_j Z_j^2`` whose weights are the
eigenvalues of ``V_0^{-1} V`` (Rao & Scott 1984; Lumley & Scott 2014), where
``V`` is the design-based covariance of ``beta_T`` and ``V_0`` the
corresponding block of the model-based ("naive") covariance
``(X' diag(w V(mu)) X)^{-1}`` of the working likelihood — the generalised
design effects. ``method = "WorkingWald"`` uses ``beta_T' V_0^{-1} beta_T``
in place of ``X^2`` with the same reference distribution. The tail
probability comes from :mod:`estimators.inference.chisqsum` (saddlepoint, R's
default, or Satterthwaite), with ``ddf`` = the model's residual design df
``degf + 1 - p`` as an F-type denominator (Lumley & Scott 2013), or none for
``df = inf``.

For a gaussian model ``X^2`` is the difference of residual sums of squares
and ``V_0`` carries no dispersion, so the statistic and the ``lambda_j``
are both on the response's squared scale; only their ratio matters, and
``chisq / mean(lambda)`` is the Rao–Scott-adjusted statistic R prints.

Differences from R: the weights are rescaled by their mean over the rows in
the fit; R takes the mean over all rows of the design, those with a missing
model variable included, so where rows are missing R's ``chisq`` and
``lambda`` are both multiplied by (mean weight of the rows in the fit) /
(mean weight of all rows) compared with kalib's — the p-value is the same.
``lrt.approximation = "integration"`` (CompQuadForm) is not offered.

References
----------
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway
contingency tables with cell proportions estimated from survey data. Annals
of Statistics 12, 46-60.
Lumley, T. and Scott, A. J. (2013). Partial likelihood ratio tests for the
Cox model under complex sampling. Statistics in Medicine 32, 110-123.
Lumley, T. and Scott, A. J. (2014). Tests for regression models fitted to
survey data. Australian & New Zealand Journal of Statistics 56, 1-14.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, special

from estimators.inference.chisqsum import check_approximation, pfsum

from .errors import ModelError
from .families import Family
from .fitting import fit_full_sample

METHODS = ("LRT", "WorkingWald")


@dataclass(frozen=True)
class WorkingTest:
    """A Rao–Scott working-likelihood ratio (``LRT``) or working Wald test.

    ``chisq`` is the unadjusted statistic, ``lambdas`` the generalised design
    effects (largest first), ``df`` the number of coefficients tested,
    ``ddf`` the denominator df (``inf``: chi-square mixture) and ``p`` its
    tail probability by ``approximation``.
    """

    method: str
    terms: tuple
    columns: tuple
    chisq: float
    df: int
    ddf: float
    p: float
    lambdas: np.ndarray
    approximation: str

    @property
    def adjusted(self) -> float:
        """``chisq / mean(lambda)``, the first-order Rao–Scott statistic R prints."""
        return float(self.chisq / np.mean(self.lambdas))

    def __str__(self) -> str:
        what = "LRT" if self.method == "LRT" else "Wald test"
        denominator = f", denominator df {self.ddf:g}" if np.isfinite(self.ddf) else ""
        return (
            f"Working (Rao-Scott) {what} for {' + '.join(self.terms)}: "
            f"{self.adjusted:.4f} on {self.df} df (design effects "
            f"{', '.join(f'{v:.3g}' for v in self.lambdas)}){denominator}, "
            f"p = {self.p:.4g} ({self.approximation})"
        )


def deviance(family: Family, y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> float:
    """Weighted deviance ``sum_i w_i d(y_i, mu_i)`` of a canonical-link family
    (``0 log 0 = 0``), as R's ``glm`` reports it for the prior weights ``w``."""
    if family.name == "gaussian":
        unit = (y - mu) ** 2
    elif family.name == "binomial":
        unit = 2 * (
            special.xlogy(y, y)
            - special.xlogy(y, mu)
            + special.xlogy(1 - y, 1 - y)
            - special.xlogy(1 - y, 1 - mu)
        )
    else:
        unit = 2 * (special.xlogy(y, y) - special.xlogy(y, mu) - (y - mu))
    return float(np.sum(w * unit))


def working_test(
    fit,
    columns,
    names,
    method: str = "LRT",
    approximation: str = "saddlepoint",
    df: float | None = None,
) -> WorkingTest:
    """The working-likelihood test of the coefficients ``columns`` of ``fit``
    (a :class:`~estimators.model.results.SvyGLMResults`); ``names`` label the
    terms, ``df`` replaces the denominator df (``numpy.inf``: none)."""
    if method not in METHODS:
        raise ModelError(f"unknown test method {method!r}; choose Wald, {', '.join(METHODS)}")
    check_approximation(approximation)
    X, y, fam = fit.frame.X, fit.frame.y, fit.family
    w = np.asarray(fit.design.weights, dtype=float)[fit.frame.used]
    wn = w / w.mean()
    mu = fam.inverse_link(X @ fit.params)
    naive = np.linalg.inv(X.T @ (X * (wn * fam.variance(mu))[:, None]))
    cols = list(columns)
    V0 = naive[np.ix_(cols, cols)]
    V = fit.cov[np.ix_(cols, cols)]
    if method == "LRT":
        keep = [j for j in range(X.shape[1]) if j not in set(cols)]
        mu0 = _reduced_fit(X[:, keep], y, w, fam)
        chisq = deviance(fam, y, mu0, wn) - deviance(fam, y, mu, wn)
    else:
        b = fit.params[cols]
        chisq = float(b @ np.linalg.solve(V0, b))
    # the eigenvalues of V0^{-1} V, real since V0 is positive definite
    lambdas = linalg.eigh(V, V0, eigvals_only=True)[::-1]
    ddf = fit.df if df is None else df
    p = pfsum(chisq, lambdas, ddf, approximation) if ddf > 0 else np.nan
    return WorkingTest(
        method,
        tuple(names),
        tuple(fit.terms[c] for c in cols),
        chisq,
        len(cols),
        ddf,
        p,
        lambdas,
        approximation,
    )


def _reduced_fit(X, y, w, fam) -> np.ndarray:
    """Fitted means of the model without the tested columns (with no column
    left, the linear predictor is 0, as R's ``update(fit, . ~ . - 1)``)."""
    if X.shape[1] == 0:
        return fam.inverse_link(np.zeros_like(y))
    return fam.inverse_link(X @ fit_full_sample(X, y, w, fam))
