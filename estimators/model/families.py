"""GLM families with their canonical links, vectorised over replicates.

Only canonical links are offered (identity, logit, log): for them Fisher
scoring is Newton's method, the score of unit i is ``w_i x_i (y_i - mu_i)``
and the information is ``X' diag(w V(mu)) X`` (McCullagh & Nelder 1989,
ch. 2), which keeps the replicate re-fits and the sandwich simple and exact.
Every function accepts arrays of any shape (``(n,)`` or ``(n, B)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit


@dataclass(frozen=True)
class Family:
    """A GLM family with canonical link.

    Attributes
    ----------
    name : str
        ``gaussian``, ``binomial`` or ``poisson`` (``quasibinomial`` and
        ``quasipoisson`` are aliases: design-based variance never uses the
        model's dispersion, so the quasi families give the same fit).
    link : str
    link_function : callable
        ``eta = g(mu)`` (the full-sample fit's starting linear predictor).
    inverse_link : callable
        ``mu = g^{-1}(eta)``.
    variance : callable
        ``V(mu)``; for a canonical link also ``d mu / d eta``.
    """

    name: str
    link: str
    link_function: Callable[[np.ndarray], np.ndarray]
    inverse_link: Callable[[np.ndarray], np.ndarray]
    variance: Callable[[np.ndarray], np.ndarray]

    def check_response(self, y: np.ndarray) -> str | None:
        """Describe why ``y`` is not a valid response, or return None."""
        if self.name == "binomial" and np.any((y < 0) | (y > 1)):
            return "must lie in [0, 1] for family binomial (0/1, or write I(VAR == 'code'))"
        if self.name == "poisson" and np.any(y < 0):
            return "must be non-negative for family poisson"
        if self.name == "poisson" and y.size and not np.any(y > 0):
            # the log of the mean runs off to minus infinity: nothing to fit
            return f"is 0 for all {y.size} fitted rows; a Poisson model needs a positive count"
        return None


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def _log_inverse(eta: np.ndarray) -> np.ndarray:
    return np.exp(eta)


def _binomial_variance(mu: np.ndarray) -> np.ndarray:
    return mu * (1.0 - mu)


FAMILIES = {
    "gaussian": Family("gaussian", "identity", _identity, _identity, np.ones_like),
    "binomial": Family("binomial", "logit", logit, expit, _binomial_variance),
    "poisson": Family("poisson", "log", np.log, _log_inverse, _identity),
}
ALIASES = {
    "quasibinomial": "binomial",
    "quasipoisson": "poisson",
    "logistic": "binomial",
    "linear": "gaussian",
}


def get_family(name: str | Family) -> Family:
    """Look a family up by name (``gaussian``, ``binomial``, ``poisson`` or an
    alias such as ``quasibinomial``)."""
    if isinstance(name, Family):
        return name
    key = ALIASES.get(str(name).lower(), str(name).lower())
    try:
        return FAMILIES[key]
    except KeyError:
        from .errors import ModelError

        raise ModelError(
            f"unknown family {name!r}; use one of "
            f"{', '.join(FAMILIES)} (or quasibinomial, quasipoisson)"
        ) from None
