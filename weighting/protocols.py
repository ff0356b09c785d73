"""What code reading a design relies on, declared (``typing.Protocol``).

Several objects stand in for one another: a replicated
:class:`~weighting.design.Design`, the Dask layer's
``estimators.scale.replicates.ChunkedDesign`` and the model layer's
``estimators.model.glm.ReplicateWeights`` are all read as "a design with
replicates"; ``Replicates`` and ``GivenReplicates`` are the two replicate
structures a ``Design`` delegates to; a ``Design`` and the Dask layer's
``estimators.scale.inputs.StrataLayout`` both give the strata and PSUs that
replicate plans are made from. The protocols name the members each reader
uses, so that a stand-in is checked by ``isinstance`` (they are
``runtime_checkable``: the members must exist) instead of by ``hasattr``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class ReplicateDesign(Protocol):
    """A design with replicate weights, as estimators, models and the Dask
    layer read it.

    ``replicates`` is not None (a ``Design`` without replicates has the same
    members, with ``replicates`` None: test that, not the type). The variance
    of an estimate is R's ``svrVar``:
    ``scale * sum_b rscales_b (theta_b - centre)^2``, centred on the
    replicates' mean, or on the full-sample estimate when ``mse``.
    """

    n: int
    data: object
    weights: np.ndarray  # (n,) full-sample analysis weights
    replicates: object  # the replicate structure (not None)
    method: str  # "bootstrap", "jkn", "jk1" or another name
    B: int
    scale: float
    rscales: np.ndarray  # (B,)
    mse: bool
    degf: int

    def replicate_totals(
        self, values: np.ndarray, groups: np.ndarray | None = None, n_groups: int | None = None
    ) -> np.ndarray:
        """``R[b, g, j] = sum_{i in g} w_ib values[i, j]`` (B, G, k)."""

    def replicate_weights(self) -> np.ndarray:
        """The (n, B) replicate analysis weights."""


@runtime_checkable
class ReplicateStructure(Protocol):
    """The replicate structure a ``Design`` holds (``Design.replicates``) and
    delegates its replicate totals and weights to."""

    method: str
    B: int
    seed: int | None
    scale: float
    rscales: np.ndarray
    mse: bool
    degf: int
    accept_failures: bool
    convergence: object  # weighting.replicates.Convergence, or None
    g: np.ndarray | None  # (B, cells) re-calibrated g-factors, or None

    def totals(
        self, design: Any, values: np.ndarray, groups: np.ndarray | None, n_groups: int | None
    ) -> np.ndarray:
        """``design.replicate_totals`` on checked input."""

    def weights(self, design: Any) -> np.ndarray:
        """``design.replicate_weights()``."""


@runtime_checkable
class PsuStructure(Protocol):
    """Strata and PSUs, as replicate plans read them
    (``weighting.replicates.bootstrap_plan``, ``jackknife_plan``)."""

    n_strata: int
    n_psu: np.ndarray  # (H,) sampled PSUs per stratum
    psu_stratum: np.ndarray  # (P,) stratum of every PSU, PSUs stratum by stratum
    sampling_fraction: np.ndarray  # (H,) n_h / N_h (0 without fpc)
    certainty: np.ndarray  # (H,) bool: certainty strata (no draws)
