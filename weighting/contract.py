"""What the numpy code and the compiled kernels (``cext``) must agree on.

The solver status codes, the distance codes and the Newton solver's
constants are written twice: here, for ``weighting``'s numpy paths, and in
``cext/newton.pxd`` and ``cext/recalibrate.pxd``, for the kernels. The
kernels publish theirs (``cext._calibrate.CONTRACT``); ``weighting._backend``
compares them with :func:`values` when it loads the kernels and runs numpy
instead if any differs (its ``REASON`` then names the difference), and a test
compares them too. A change to one side without the other therefore costs
speed, never results.
"""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """Outcome of one calibration solve or replicate re-calibration.

    CONVERGED, MAX_ITER and LINE_SEARCH_FAILED are the Newton solver's
    (``weighting.solver``); EMPTY_CATEGORY (a margin category with a positive
    target has no weight in a replicate: all its PSUs were left out) and
    TRIM_INFEASIBLE (a replicate's trimming caps and margins cannot hold
    together; numpy only) are those of replicate re-calibration
    (``weighting.replicates``).
    """

    CONVERGED = 0
    MAX_ITER = 1
    LINE_SEARCH_FAILED = 2
    EMPTY_CATEGORY = 3
    TRIM_INFEASIBLE = 4


class Distance(IntEnum):
    """Kernel code of a calibration distance ("truncated" is LINEAR with bounds)."""

    LINEAR = 0
    RAKING = 1
    LOGIT = 2


# Newton solver (weighting.solver: read its docstring for what they do).
ARMIJO = 1e-4  # sufficient decrease of the dual in the line search
MAX_HALVINGS = 60  # step halvings before the line search gives up
ROUNDING_SLACK = 1e-12  # Armijo slack, relative to the magnitude of the dual's terms
PIVOT_RTOL = 1e-14  # a Cholesky pivot below this times the largest diagonal ...
RIDGE = 1e-10  # ... refactorises H + RIDGE * that diagonal * I


def values() -> dict[str, float]:
    """Every value the kernels must share, by the name ``cext`` publishes it under."""
    out: dict[str, float] = {s.name: int(s) for s in Status}
    out.update({d.name: int(d) for d in Distance})
    out.update(
        ARMIJO=ARMIJO,
        MAX_HALVINGS=MAX_HALVINGS,
        ROUNDING_SLACK=ROUNDING_SLACK,
        PIVOT_RTOL=PIVOT_RTOL,
        RIDGE=RIDGE,
    )
    return out


def differences(kernel_values: dict[str, float]) -> list[str]:
    """``"NAME: kernel X, weighting Y"`` for every value the kernels publish
    differently from :func:`values` (or publish that ``weighting`` does not
    know); empty when they agree. The kernels need not publish every name
    (TRIM_INFEASIBLE is numpy's alone), but everything a kernel uses must be
    published, so no name of :func:`values` but TRIM_INFEASIBLE may be absent."""
    ours = values()
    out = [
        f"{name}: kernel {value!r}, weighting {ours.get(name, 'undefined')!r}"
        for name, value in sorted(kernel_values.items())
        if ours.get(name) != value
    ]
    out += [
        f"{name}: kernel undefined, weighting {ours[name]!r}"
        for name in sorted(set(ours) - set(kernel_values) - {"TRIM_INFEASIBLE"})
    ]
    return out
