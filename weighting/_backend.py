"""The one door to the compiled ``cext`` kernels, and the numpy fallback.

The kernels are used only when ``cext.API_VERSION`` equals :data:`API_VERSION`
(the version this copy of ``weighting`` was written against) and every
constant they publish (``cext._calibrate.CONTRACT``: status and distance
codes, the Newton solver's constants) equals ``weighting.contract``'s, so a
vendored copy never runs a mismatched installed kernel. ``KERNELS`` is a
:class:`Kernels` or None, and ``REASON`` says why it is None; :func:`use_kernels`
switches them off (or on) in a ``with`` block, for tests comparing both paths.

No other module imports ``cext``: ``weighting`` and the Dask layer reach the
kernels as ``_backend.KERNELS.<module>`` and build their structured arguments
(``cext._args.ReplicatePlan``, ``CellSystem``) through ``KERNELS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from weighting import contract

API_VERSION = 4


@dataclass(frozen=True)
class Kernels:
    """The kernel modules: ``calibrate`` (collapse, expand, the Newton solver),
    ``replicate`` (fused replicate draws, re-calibration and totals),
    ``chunked`` (the Dask chunk kernels) and ``args`` (their structured
    arguments)."""

    calibrate: ModuleType
    replicate: ModuleType
    chunked: ModuleType
    args: ModuleType


def _load() -> tuple[Kernels | None, str | None]:
    """The kernels, or None and the reason they are not used."""
    try:
        import cext
    except ImportError as exc:
        return None, f"cext is not importable ({exc})"
    version = getattr(cext, "API_VERSION", None)
    if version != API_VERSION:
        return None, f"cext has API version {version}, this weighting needs {API_VERSION}"
    try:
        # Compiled modules without stubs: mypy types them Any in this form
        # (``from cext import _args`` is reported as a missing attribute).
        import cext._args as _args
        import cext._calibrate as _calibrate
        import cext._chunked as _chunked
        import cext._replicate as _replicate
    except ImportError as exc:
        return None, f"cext's kernels are not built ({exc})"
    differences = contract.differences(getattr(_calibrate, "CONTRACT", {}))
    if differences:
        return None, (
            "cext's constants differ from weighting.contract's: " + "; ".join(differences)
        )
    return Kernels(_calibrate, _replicate, _chunked, _args), None


_COMPILED, REASON = _load()
KERNELS = _COMPILED


@contextmanager
def use_kernels(enabled: bool) -> Iterator[Kernels | None]:
    """Use the compiled kernels (if available) or force numpy inside the block."""
    global KERNELS
    previous = KERNELS
    KERNELS = _COMPILED if enabled else None
    try:
        yield KERNELS
    finally:
        KERNELS = previous


def collapse(cell: np.ndarray, w: np.ndarray, n_cells: int) -> np.ndarray:
    """Cell totals ``out[c] = sum_{i: cell_i = c} w_i`` (one pass over rows)."""
    if KERNELS is not None:
        totals: np.ndarray = KERNELS.calibrate.collapse(cell, w, n_cells)
        return totals
    return np.bincount(cell, weights=w, minlength=n_cells)


def expand(cell: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row values ``out[i] = values[cell_i]`` (one pass over rows)."""
    if KERNELS is not None:
        rows: np.ndarray = KERNELS.calibrate.expand(cell, values)
        return rows
    rows = values[cell]
    return rows
