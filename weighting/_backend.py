"""Choice between the compiled ``cext`` kernels and the numpy fallback.

The kernels are used only when ``cext.API_VERSION`` equals :data:`API_VERSION`
(the version this copy of ``weighting`` was written against), so a vendored
copy never runs a mismatched installed kernel. ``KERNELS`` is the kernel
module or None; :func:`use_kernels` switches it off (or on) in a ``with``
block, for tests comparing both paths.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

API_VERSION = 2


def _load():
    try:
        import cext
        if getattr(cext, "API_VERSION", None) != API_VERSION:
            return None
        from cext import _calibrate
    except ImportError:
        return None
    return _calibrate


_COMPILED = _load()
KERNELS = _COMPILED


@contextmanager
def use_kernels(enabled: bool):
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
        return KERNELS.collapse(cell, w, n_cells)
    return np.bincount(cell, weights=w, minlength=n_cells)


def expand(cell: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Row values ``out[i] = values[cell_i]`` (one pass over rows)."""
    if KERNELS is not None:
        return KERNELS.expand(cell, values)
    return values[cell]
