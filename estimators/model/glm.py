"""Design-based generalised linear models: R's ``svyglm``.

:func:`svyglm` fits a GLM with the design's (calibrated) weights and takes the
coefficients' covariance from the design:

* replicate designs: every replicate is re-fitted with its replicate weights
  (:func:`~estimators.model.fitting.refit_replicates`) and the replicate
  coefficients go through the replicate variance formula with the design's
  ``scale``, ``rscales`` and ``mse`` (R ``svrVar``);
* otherwise, linearization (Binder 1983): the influence function of the
  coefficients,

  .. math:: z_i = (y_i - \\mu_i)\\, x_i' \\,
            \\Big(\\sum_j w_j V(\\mu_j) x_j x_j'\\Big)^{-1},

  (so that :math:`\\hat\\beta - \\beta \\approx \\sum_i w_i z_i`) is passed to
  the design's variance of a total, which accounts for strata,
  PSUs, the fpc and, for a calibrated design, replaces ``z`` by its
  calibration residuals (Deville & Särndal 1992) as R does after
  ``calibrate``.

The t statistics and intervals use R's residual degrees of freedom for a
design-based model, ``degf + 1 - p`` (design df minus coefficients plus one).

References
----------
Binder, D. A. (1983). On the variances of asymptotically normal estimators
from complex surveys. International Statistical Review 51, 279-292.
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, ch. 5. Wiley.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from estimators._threads import thread_limits

from .errors import FormulaError, ModelError
from .families import Family, get_family
from .fitting import (
    check_identifiable,
    check_separation,
    fit_full_sample,
    refit_replicates,
)
from .formula import build_model_frame
from .results import SvyGLMResults
from .variance import design_df, has_replicates, linearized_cov, replicate_cov, replicate_matrix

VARIANCES = ("linearization", "replicate")


@dataclass(frozen=True)
class ReplicateWeights:
    """Replicate weights given as arrays (read from a file or exported by R).

    A stand-in for a :class:`weighting.design.Design` with replicates when the
    replicate weights come from outside (``kalib model --replicate-weights``):
    a :class:`weighting.protocols.ReplicateDesign`.

    Attributes
    ----------
    data : pandas.DataFrame
    weights : (n,) full-sample analysis weights.
    repweights : (n, B) replicate analysis weights.
    scale, rscales, mse : R's replicate-variance constants
        ``V = scale * sum_b rscales_b (theta_b - centre)^2``.
    degf : design degrees of freedom.
    method : str, for display.
    """

    data: pd.DataFrame
    weights: np.ndarray
    repweights: np.ndarray
    scale: float
    rscales: np.ndarray
    mse: bool
    degf: int
    method: str = "replicate"

    @property
    def replicates(self) -> str:
        return self.method

    @property
    def n(self) -> int:
        return len(self.weights)

    @property
    def B(self) -> int:
        return self.repweights.shape[1]

    def replicate_weights(self) -> np.ndarray:
        return self.repweights

    def replicate_totals(self, values, groups=None, n_groups=None) -> np.ndarray:
        """``R[b, g, j] = sum_{i in g} w_ib values[i, j]`` (B, G, k) from the
        given replicate weights (one group of every row by default)."""
        values = np.asarray(values, dtype=np.float64).reshape(self.n, -1)
        if groups is None:
            groups, n_groups = np.zeros(self.n, dtype=np.int64), 1
        groups = np.asarray(groups, dtype=np.int64)
        n_groups = int(groups.max()) + 1 if n_groups is None else int(n_groups)
        out = np.zeros((n_groups, self.B, values.shape[1]))
        for j in range(values.shape[1]):
            np.add.at(out[:, :, j], groups, self.repweights * values[:, j, None])
        return out.transpose(1, 0, 2)


def design_frame(design) -> pd.DataFrame:
    """The design's data as a pandas DataFrame (rows in design order)."""
    data = design.data
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True)
    return pd.DataFrame({k: np.asarray(v) for k, v in dict(data).items()})


def influence_functions(X, y, w, mu, family: Family) -> np.ndarray:
    """Influence functions (n, p) of weighted GLM coefficients (Binder 1983).

    ``z_i = (y_i - mu_i) x_i' A^{-1}`` with ``A = X' diag(w V(mu)) X``, so that
    ``beta_hat - beta ~ sum_i w_i z_i``: the convention of
    :func:`estimators.inference.variance.linearization_covariance` (R's ``svy.varcoef``
    passes the weighted ``w_i z_i`` to ``svyrecvar``).
    """
    info = X.T @ (X * (w * family.variance(mu))[:, None])
    return np.linalg.solve(info, (X * (y - mu)[:, None]).T).T


def fit_inputs(design, variance: str | None, subset, data: pd.DataFrame | None) -> tuple:
    """The variance method, data frame and subset mask of a model fit on
    ``design`` (shared by :func:`svyglm` and the ordinal model).

    ``variance`` defaults to replicate when the design has replicates;
    ``data`` (default ``design.data``) must have the design's rows;
    ``subset`` (booleans or a condition with ``mask(data)``) becomes a mask.
    """
    variance = variance or ("replicate" if has_replicates(design) else "linearization")
    if variance not in VARIANCES:
        raise ModelError(f"variance must be one of {VARIANCES}, not {variance!r}")
    if variance == "replicate" and not has_replicates(design):
        raise ModelError("replicate variance asked for a design without replicate weights")
    if data is None:
        data = design_frame(design)
    elif len(data) != len(design.weights):
        raise ModelError(f"data has {len(data)} rows, the design {len(design.weights)}")
    else:
        data = data.reset_index(drop=True)
    if subset is not None:
        subset = np.asarray(subset.mask(data) if hasattr(subset, "mask") else subset, dtype=bool)
    return variance, data, subset


def svyglm(
    formula: str,
    design,
    family="gaussian",
    *,
    variance: str | None = None,
    subset=None,
    data: pd.DataFrame | None = None,
    level: float = 0.95,
):
    """Fit a design-based GLM (R's ``svyglm``).

    Parameters
    ----------
    formula : str
        patsy formula as statsmodels takes it, e.g.
        ``"I(trainee_now == 'yes') ~ sector + size_class"``. Factor levels
        are coded against the first level in sorted order.
    design : weighting.design.Design or ReplicateWeights
        The design; its ``data`` holds the formula's variables. Rows with a
        missing model variable are left out of the fit but stay in the
        design (domain estimation, as R).
    family : {"gaussian", "binomial", "poisson"} or an alias
        ``quasibinomial``/``quasipoisson`` give the same fit and variance.
    variance : {"replicate", "linearization"}, optional
        Default: replicate when the design has replicates, else linearization.
    subset : array-like of bool, or a condition with ``mask(data)``, optional
        Fit on a domain (R's ``subset``): rows outside it are treated like
        rows with missing values, left out of the fit but kept in the design.
    data : pandas.DataFrame, optional
        The design's rows (same order) with extra columns, e.g. a derived
        grouping; default ``design.data``.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    SvyGLMResults
    """
    fam = get_family(family)
    variance, data, subset = fit_inputs(design, variance, subset, data)
    frame = build_model_frame(formula, data, subset)
    problem = fam.check_response(frame.y)
    if problem:
        raise FormulaError(f"response {frame.response!r} {problem}")
    w = np.asarray(design.weights, dtype=float)[frame.used]
    with thread_limits(blas=1):
        check_identifiable(frame.X, w, frame.terms)
        beta = fit_full_sample(frame.X, frame.y, w, fam)
        mu = fam.inverse_link(frame.X @ beta)
        check_separation(frame, w, mu, beta, fam)
        reps = W = influence = None
        if variance == "replicate":
            W = replicate_matrix(design)[frame.used]
            reps = refit_replicates(frame.X, frame.y, W, fam, beta, frame.terms)
            cov = replicate_cov(design, beta, reps)
        else:
            influence = np.zeros((len(data), len(beta)))
            influence[frame.used] = influence_functions(frame.X, frame.y, w, mu, fam)
            cov = linearized_cov(design, influence, frame.used)
    return SvyGLMResults(
        formula=formula,
        family=fam,
        frame=frame,
        design=design,
        data=data,
        params=beta,
        cov=cov,
        variance=variance,
        design_df=design_df(design, frame.used, subset, variance == "replicate"),
        level=level,
        replicate_params=reps,
        replicate_weights=W,
        influence=influence,
    )
