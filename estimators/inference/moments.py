"""Design-based variances and covariances of variables (R ``svyvar``).

For variables ``x_1 .. x_p`` on the rows that answered all of them (and
satisfy ``where``), with analysis weights w and ``n`` such rows of nonzero
weight, the population covariance matrix is estimated as R does::

    S_jk = n / (n - 1) * sum_i w_i (x_ij - xbar_j)(x_ik - xbar_k) / sum_i w_i

(``xbar`` the weighted means), a weighted mean of the cross-products
``n/(n-1) (x_ij - xbar_j)(x_ik - xbar_k)``. Its covariance over the ``p^2``
entries (``vec`` of the matrix, column by column: ``var(x1)``,
``cov(x2,x1)``, ..., as R's ``vcov(svyvar(...))``):

Linearization
    the influence of that weighted mean with ``xbar`` held fixed (R; the
    derivative in ``xbar`` is zero at ``xbar``), through
    :func:`estimators.inference.contrast.item_estimates` (calibration,
    strata, PSUs and fpc as for any mean).
Replicates
    ``S`` recomputed in every replicate, its means included (R's
    ``svyvar.svyrep.design``), from the replicate totals of ``1``, ``x_j``
    and ``x_j x_k`` centred on the full-sample means (so no precision is
    lost to cancellation), combined by R's ``svrVar`` rule.

The standard deviations ``sqrt(S_jj)`` come from :meth:`SvyVar.sd` by the
delta method (or the replicates), through ``svycontrast``.

Differences from R: rows with a missing value in any of the variables are
left out and ``n`` counts the rows kept, in both variance methods; R's
linearized ``svyvar(..., na.rm = TRUE)`` keeps ``n`` of the whole design in
the ``n/(n-1)`` factor (its replicate version uses the rows kept). R returns
NA when values are missing and ``na.rm = FALSE``.

References
----------
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley (R
package ``survey``: ``svyvar``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from estimators.inference.contrast import Estimates, item_estimates, svycontrast
from estimators.inference.estimate import Item, mean_items
from estimators.inference.variance import replicate_covariance
from weighting.errors import KalibError


@dataclass(frozen=True)
class SvyVar:
    """A design-based covariance matrix (R ``svyvar``).

    ``estimates`` holds its ``p^2`` entries in column-major order, named
    ``var(x)`` on the diagonal and ``cov(row,column)`` off it, with their
    covariance (R's ``vcov``), ready for
    :func:`~estimators.inference.contrast.svycontrast`.
    """

    variables: tuple
    estimates: Estimates

    @property
    def matrix(self) -> pd.DataFrame:
        return self._square(self.estimates.coef)

    @property
    def se(self) -> pd.DataFrame:
        """Standard errors of the entries of :attr:`matrix`."""
        return self._square(self.estimates.se)

    def sd(self) -> Estimates:
        """Standard deviations ``sd(x) = sqrt(var(x))`` with their SEs."""
        return svycontrast(
            self.estimates, {f"sd({v})": f"sqrt(`var({v})`)" for v in self.variables}
        )

    def _square(self, values) -> pd.DataFrame:
        p = len(self.variables)
        return pd.DataFrame(
            np.reshape(values, (p, p), order="F"),
            index=list(self.variables),
            columns=list(self.variables),
        )

    def __repr__(self) -> str:
        return f"{self.matrix}\nSE:\n{self.se}"


def svyvar(design, variables, where=None) -> SvyVar:
    """Design-based covariance matrix of numeric ``variables`` (R ``svyvar``).

    Parameters
    ----------
    design : weighting.design.Design
        With replicates, replicate variance; otherwise linearization.
    variables : str or sequence of str
    where : Condition, optional
        Subpopulation (still on the full design).

    Returns
    -------
    SvyVar
    """
    names = [variables] if isinstance(variables, str) else list(variables)
    if len(set(names)) != len(names) or not names:
        raise KalibError(f"svyvar needs distinct variables, got {names!r}")
    columns = mean_items(design, names)
    rows = np.logical_and.reduce([it.base for it in columns])
    if where is not None:
        rows &= where.mask(design.data)
    n = int(np.count_nonzero(rows & (design.weights != 0)))
    if n < 2:
        raise KalibError(
            f"svyvar of {', '.join(names)} needs at least 2 rows with "
            f"every value and a nonzero weight, found {n}"
        )
    w = np.where(rows, design.weights, 0.0)
    x = np.column_stack([np.where(rows, it.num, 0.0) for it in columns])
    centred = np.where(rows[:, None], x - (w @ x) / w.sum(), 0.0)
    p = len(names)
    pairs = [(r, c) for c in range(p) for r in range(p)]  # column-major vec
    labels = tuple(
        f"var({names[r]})" if r == c else f"cov({names[r]},{names[c]})" for r, c in pairs
    )
    factor = n / (n - 1)
    if design.replicates is None:
        ones = np.ones(design.n)
        items = [
            Item(label, factor * centred[:, r] * centred[:, c], ones, rows, "mean")
            for label, (r, c) in zip(labels, pairs)
        ]
        # R's svymean(..., na.rm = TRUE) of the cross-products drops the rows
        # with a missing value (and a subset the rows outside it)
        return SvyVar(tuple(names), item_estimates(design, items, present=rows))
    return SvyVar(tuple(names), _replicated(design, labels, pairs, rows, centred, factor))


def _replicated(design, labels, pairs, rows, centred, factor) -> Estimates:
    """``S`` in the full sample and in every replicate, means recomputed."""
    p = centred.shape[1]
    values = np.column_stack(
        [rows.astype(np.float64), centred] + [centred[:, r] * centred[:, c] for r, c in pairs]
    )
    full = design.weights @ values
    reps = design.replicate_totals(values)[:, 0, :]  # (B, 1 + p + p^2)

    def covariance(totals):
        size, sums, cross = totals[..., :1], totals[..., 1 : 1 + p], totals[..., 1 + p :]
        first = np.stack([sums[..., r] * sums[..., c] for r, c in pairs], axis=-1)
        return factor * (cross / size - first / size**2)

    coef, theta = covariance(full), covariance(reps)
    vcov = replicate_covariance(coef, theta, design.scale, design.rscales, design.mse)
    return Estimates(
        labels,
        coef,
        vcov,
        float(design.degf),
        theta,
        design.scale,
        design.rscales,
        bool(design.mse),
    )
