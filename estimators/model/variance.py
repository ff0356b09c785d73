"""The coefficient covariance of a design-based model: replicate or linearized.

The design's variance engines (:mod:`estimators.inference.variance`: R's
``svrVar`` rule for replicates, ``svyrecvar`` for linearization) applied to
model quantities: a fit's replicate coefficients or its influence functions.
:mod:`~estimators.model.glm` fits, :mod:`~estimators.model.results` derives margins and tests; both take their
covariances from here, so neither imports the other's internals.
"""

from __future__ import annotations

import numpy as np

from estimators.inference.variance import linearization_covariance, replicate_covariance


def replicate_matrix(design) -> np.ndarray:
    """The (n, B) replicate analysis weights of ``design`` (a
    :class:`weighting.protocols.ReplicateDesign`: a replicated ``Design``,
    its chunked wrapper or :class:`~estimators.model.glm.ReplicateWeights`)."""
    return np.asarray(design.replicate_weights(), dtype=float)


def has_replicates(design) -> bool:
    """Whether ``design`` carries replicate weights (the protocol's members
    exist on a design without replicates too, with ``replicates`` None)."""
    return getattr(design, "replicates", None) is not None


def replicate_cov(design, theta, theta_reps) -> np.ndarray:
    """Replicate covariance of ``theta`` (k,) from replicates (B, k)."""
    return np.atleast_2d(
        replicate_covariance(
            theta, theta_reps, design.scale, np.asarray(design.rscales), bool(design.mse)
        )
    )


def linearized_cov(design, influence, used=None) -> np.ndarray:
    """Linearization covariance of the design total of ``influence`` (n, k);
    ``used``: the fitted rows, the only ones R's ``svyglm`` keeps in an
    uncalibrated design (``linearization_covariance``'s ``present``)."""
    return np.atleast_2d(linearization_covariance(design, influence, used))


def design_df(design, used, subset, replicate: bool) -> int:
    """Design degrees of freedom of a fit on the rows ``used`` (R's ``degf``
    of the design ``svyglm`` ends up with).

    Linearization: PSUs minus strata among the rows in the fit (R drops rows
    with missing values and outside ``subset`` by giving them zero weight,
    and ``degf`` counts only PSUs with weight). Replicates: the design's
    ``degf`` for rows with missing values, but a ``subset`` is cut out of the
    replicate weights, whose rank minus one is then the df (R recomputes
    ``degf`` with ``qr(..., tol = 1e-5)``).
    """
    if replicate:
        if subset is None:
            return int(design.degf)
        W = replicate_matrix(design)[np.asarray(subset, bool)]
        s = np.linalg.svd(W / np.linalg.norm(W, axis=0).clip(min=1e-300), compute_uv=False)
        return int(np.sum(s > 1e-5 * s[0])) - 1
    psu = np.asarray(design.psu)[used]
    strata = np.asarray(design.strata)[used]
    return len(np.unique(psu)) - len(np.unique(strata))
