r"""Weight diagnostics: spread, Kish effective sample size and design effect.

For weights :math:`w_1..w_n` with mean :math:`\bar w` and
:math:`CV = \mathrm{sd}(w)/\bar w` (population sd, divisor n):

.. math:: n_{\mathrm{eff}} = \frac{(\sum w)^2}{\sum w^2} = \frac{n}{1 + CV^2},
   \qquad \mathrm{deff}_w = \frac{n}{n_{\mathrm{eff}}} = 1 + CV^2.

References
----------
Kish, L. (1965). Survey Sampling. Wiley, section 11.7.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class WeightDiagnostics:
    """Summary of a weight vector (see the module docstring for formulas)."""

    n: int
    total: float
    min: float
    max: float
    cv: float
    n_eff: float
    deff: float


def weight_diagnostics(weights: ArrayLike) -> WeightDiagnostics:
    """Min, max, CV, Kish effective n and weighting design effect of ``weights``."""
    w = np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    n_eff = total * total / float(w @ w)
    return WeightDiagnostics(
        n=w.size,
        total=total,
        min=float(w.min()),
        max=float(w.max()),
        cv=float(w.std() / w.mean()),
        n_eff=n_eff,
        deff=w.size / n_eff,
    )
