"""Design-based variance: linearization (Taylor) and replicate variance.

Linearization
-------------
An estimator is linearized as ``theta_hat ≈ theta + sum_i w_i z_i`` with w the
analysis weights of the design and ``z_i`` its influence (for a total of y,
``z_i = y_i``; for a ratio mean, ``z_i = (y_i - theta) / N_hat``). For a
calibrated design the influence is first replaced by its residual from the
base-weighted regression on the calibration variables (Deville & Särndal
1992, eq. 3.6; R's ``svyrecvar`` after ``calibrate``)::

    u_i = w_i (z_i - x_i' beta),   beta = (sum d_i x_i x_i')^{-1} sum d_i x_i z_i

and then, with ``u_hi`` the PSU totals of u in stratum h (``n_h`` PSUs,
sampling fraction ``f_h``), the with-replacement stratified estimator

    V = sum_h (1 - f_h) n_h / (n_h - 1) sum_i (u_hi - ubar_h)(u_hi - ubar_h)'

(Wolter 2007, ch. 6). Certainty strata (lonely-PSU policy) and take-all
strata contribute zero.

Replicate variance
------------------
``V = scale * sum_b rscales_b (theta_b - c)(theta_b - c)'`` with c the mean of
the replicates with positive rscales (R's ``mse = FALSE``) or the full-sample
estimate (``mse = TRUE``), as R's ``svrVar``. The replicate estimates
``theta_b`` use every row, those of take-all and certainty strata too: R's
estimators leave them out by default (``survey.drop.replicates = TRUE``),
exact only while their replicate weights equal the full-sample weights, which
re-calibration changes; kalib equals R with that option ``FALSE``
(tests/test_crosscheck_r.py, dataset cc_c).
"""
from __future__ import annotations

import numpy as np

from weighting.errors import KalibError


def linearization_covariance(design, influence) -> np.ndarray:
    """Linearization covariance of estimators with the given influence values.

    Parameters
    ----------
    design : weighting.design.Design
    influence : array-like (n,) or (n, m)
        ``z_i`` such that the estimates are ``≈ sum_i w_i z_i`` (plus a
        constant), w = ``design.weights``.

    Returns
    -------
    ndarray (m, m)
    """
    z = np.asarray(influence, dtype=np.float64)
    z = z.reshape(design.n, -1)
    if not np.all(np.isfinite(z)):
        rows = np.flatnonzero(~np.isfinite(z).all(axis=1))
        raise KalibError(f"influence values are not finite in {rows.size} row(s) "
                         f"(first at row {rows[0]})")
    u = design.weights[:, None] * design.calibration_residuals(z)
    return stratified_psu_covariance(design, u)


def stratified_psu_covariance(design, u) -> np.ndarray:
    """``sum_h (1 - f_h) n_h/(n_h - 1) sum_i (u_hi - ubar_h)(u_hi - ubar_h)'``.

    ``u`` (n, m) are weighted, already residualized scores; the PSU totals
    ``u_hi`` are taken over the design's PSUs.
    """
    P, m = design.n_psus, u.shape[1]
    totals = np.empty((P, m))
    for j in range(m):
        totals[:, j] = np.bincount(design.psu, u[:, j], minlength=P)
    n_h = design.n_psu.astype(np.float64)
    stratum = design.psu_stratum
    means = np.empty((design.n_strata, m))
    for j in range(m):
        means[:, j] = np.bincount(stratum, totals[:, j], minlength=design.n_strata) / n_h
    centred = totals - means[stratum]
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_h > 1, (1.0 - design.sampling_fraction) * n_h / (n_h - 1), 0.0)
    factor = np.where(design.certainty, 0.0, factor)
    return (centred * factor[stratum][:, None]).T @ centred


def replicate_covariance(theta_full, theta_reps, scale, rscales, mse=False) -> np.ndarray:
    """Replicate covariance with R's conventions (``svrVar``).

    .. math:: V = s \\sum_b r_b (\\theta_b - c)(\\theta_b - c)'

    with ``s = scale``, ``r_b = rscales[b]`` and ``c`` the mean of the
    replicates with ``r_b > 0`` (R's ``mse = FALSE``) or the full-sample
    estimate (``mse = TRUE``). The one home of this rule: the estimators
    (:mod:`estimators.inference.estimate`), the models
    (:mod:`estimators.model.variance`) and, on labelled arrays, the Dask path
    (:func:`replicate_variance`) all call it. As R, except that a replicate
    estimate that is not finite raises instead of giving NaN.

    Parameters
    ----------
    theta_full : array-like (m,)
        Full-sample estimates (the centre when ``mse``).
    theta_reps : array-like (B, m)
        Replicate estimates.
    scale : float
    rscales : array-like (B,)
    mse : bool
        Centre on ``theta_full`` instead of the mean of the replicates with
        ``rscales > 0``.

    Returns
    -------
    ndarray (m, m)

    References
    ----------
    Lumley, T. (2010). Complex Surveys, ch. 2.3 (R ``survey:::svrVar``).
    """
    full = np.atleast_1d(np.asarray(theta_full, dtype=np.float64))
    reps = np.asarray(theta_reps, dtype=np.float64).reshape(-1, full.size)
    rscales = np.broadcast_to(np.asarray(rscales, dtype=np.float64), (reps.shape[0],))
    bad = ~np.isfinite(reps).all(axis=1)
    if bad.any():
        idx = np.flatnonzero(bad)
        raise KalibError(f"{idx.size} replicate estimate(s) are not finite "
                         f"(first: replicate {idx[0] + 1})")
    centre = full if bool(mse) else reps[rscales > 0].mean(axis=0)
    dev = reps - centre
    return float(scale) * (dev * rscales[:, None]).T @ dev


def replicate_variance(theta_full, theta_reps, scale, rscales, mse=False, dim="replicate"):
    """The diagonal of :func:`replicate_covariance` on labelled arrays.

    ``V_j = scale * sum_b rscales_b (theta_bj - c_j)^2`` along ``dim`` of
    xarray objects (lazy when they are dask-backed, so that the Dask path
    never gathers the replicate estimates into one process). The centre is
    as in :func:`replicate_covariance`; unlike it, a replicate estimate that
    is not finite gives NaN (R's behaviour), since a lazy array cannot be
    checked without computing it.

    Parameters
    ----------
    theta_full : xarray.DataArray
        Full-sample estimates (the centre when ``mse``).
    theta_reps : xarray.DataArray
        Replicate estimates, with dimension ``dim``.
    scale : float
    rscales : xarray.DataArray along ``dim``
    mse : bool
    dim : str

    Returns
    -------
    xarray.DataArray, ``theta_reps`` without ``dim``.
    """
    centre = theta_full if bool(mse) else theta_reps.where(rscales > 0).mean(dim)
    return scale * (rscales * (theta_reps - centre) ** 2).sum(dim)
