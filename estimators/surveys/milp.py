"""Integer assignment of one categorical answer to many respondents.

The reconstruction (``build_cati.py``) fills every question by solving::

    maximise   sum_i sum_k x_ik * (s_ik + g_ik)
    subject to sum_k x_ik = 1                      (one answer per respondent)
               lo_c <= sum_{i in G_c, k in K_c} x_ik <= hi_c   (published counts)
               x_ik in {0, 1}

where ``s_ik`` is a plausibility score (a log-odds model of how sector, size
and industry shift the answer, as the report's text describes) and ``g_ik`` is
seeded Gumbel noise. Maximising a Gumbel-perturbed log-probability draws from
the model (the Gumbel-max trick), so the constraints pin every printed count
while the rest of the joint distribution is a reproducible random draw.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp


class InfeasibleError(RuntimeError):
    """The published counts cannot all hold together (names the question)."""


def solve(
    name: str,
    scores: np.ndarray,
    groups: list[tuple],
    rng: np.random.Generator,
    time_limit: float = 60.0,
) -> np.ndarray:
    """Pick one category per row of ``scores`` subject to group-count bounds.

    Parameters
    ----------
    name : str
        Question name, for error messages.
    scores : (n, K) array
        Plausibility score of category k for respondent i; ``-inf`` forbids it.
    groups : list of (rows, cats, lo, hi)
        ``rows`` a boolean mask of length n, ``cats`` a list of category
        positions; the number of rows in ``rows`` given a category in ``cats``
        must lie in [lo, hi].
    rng : numpy Generator
        Source of the Gumbel perturbation (seeded by the caller).

    Returns
    -------
    (n,) int array of chosen category positions.
    """
    n, k = scores.shape
    forbidden = ~np.isfinite(scores)
    noisy = np.where(forbidden, 0.0, scores) + rng.gumbel(size=(n, k))
    cost = -noisy.ravel()
    upper = np.where(forbidden.ravel(), 0.0, 1.0)

    one_each = sparse.kron(sparse.eye(n), np.ones((1, k)), format="csr")
    rows = [one_each]
    lo: list[ArrayLike] = [np.ones(n)]
    hi: list[ArrayLike] = [np.ones(n)]
    for mask, cats, g_lo, g_hi in groups:
        sel = np.zeros((n, k))
        sel[np.ix_(np.asarray(mask, bool), list(cats))] = 1.0
        rows.append(sparse.csr_matrix(sel.ravel()))
        lo.append([g_lo])
        hi.append([g_hi])
    A = sparse.vstack(rows, format="csr")
    res = milp(
        cost,
        constraints=LinearConstraint(A, np.concatenate(lo), np.concatenate(hi)),
        integrality=np.ones(n * k),
        bounds=Bounds(0.0, upper),
        options={"time_limit": time_limit, "presolve": True},
    )
    if res.x is None:
        raise InfeasibleError(f"{name}: published counts cannot be met ({res.message})")
    return np.asarray(res.x.reshape(n, k).argmax(axis=1))
