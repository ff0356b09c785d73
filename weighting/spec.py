"""The settings of a calibration, validated once: :class:`CalibrationSpec`.

``weighting.calibrate.calibrate`` and ``Design.calibrate`` take them as
keyword arguments (which build a spec) or as ``spec=``; the calibration result
keeps the spec, replicates are re-calibrated with it
(:meth:`CalibrationSpec.for_replicates`), and the command line builds one from
its options.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields
from typing import Any

from weighting.distances import LOGIT, parse
from weighting.errors import KalibError


@dataclass(frozen=True)
class CalibrationSpec:
    """How to calibrate: distance, bounds, trimming, stopping rule, leniency.

    Parameters
    ----------
    distance : {"raking", "linear", "logit", "truncated"}
        Deville–Särndal distance; "truncated" is linear with bounds.
    bounds : (L, U), optional
        Bounds on g = weight / base weight, ``L < 1 < U`` (required and finite
        for logit and truncated; ``L >= 0`` for raking).
    trim : (lo, hi), optional
        Caps on g enforced by trimming and re-calibrating
        (``weighting.calibrate``); either may be None (no cap), ``lo < hi``.
    tol : float
        Stop when ``max_j |achieved_j - target_j| / (1 + |target_j|) <= tol``
        over every margin category (R ``calibrate``'s criterion).
    max_iter : int
        Newton steps at most (per trimming round).
    allow_unconverged : bool
        Return an unconverged result (flagged) instead of raising.
    normalize_margins : bool
        Rescale every margin to the first margin's grand total instead of
        raising when grand totals differ.

    The values are checked on construction (``KalibError`` naming the
    offender) and kept normalised: ``bounds`` as a pair of floats, ``trim``
    as a pair of floats with ``-inf``/``inf`` for an absent cap.
    """

    distance: str = "raking"
    bounds: tuple[float, float] | None = None
    trim: tuple[float, float] | None = None
    tol: float = 1e-10
    max_iter: int = 1000
    allow_unconverged: bool = False
    normalize_margins: bool = False

    def __post_init__(self) -> None:
        _, lower, upper = parse(self.distance, self.bounds)
        if not (
            isinstance(self.tol, numbers.Real)
            and self.tol > 0
            and isinstance(self.max_iter, numbers.Integral)
            and self.max_iter >= 1
        ):
            raise KalibError(
                f"tol must be > 0 and max_iter >= 1 (got {self.tol!r}, {self.max_iter!r})"
            )
        object.__setattr__(self, "bounds", None if self.bounds is None else (lower, upper))
        object.__setattr__(self, "trim", None if self.trim is None else _caps(self.trim))
        object.__setattr__(self, "tol", float(self.tol))
        object.__setattr__(self, "max_iter", int(self.max_iter))
        object.__setattr__(self, "allow_unconverged", bool(self.allow_unconverged))
        object.__setattr__(self, "normalize_margins", bool(self.normalize_margins))

    @classmethod
    def of(cls, spec: CalibrationSpec | None = None, **settings: Any) -> CalibrationSpec:
        """``spec`` itself, or a spec built from keyword ``settings`` (not both)."""
        if spec is None:
            return cls(**settings)
        if not isinstance(spec, cls):
            raise KalibError(f"spec must be a CalibrationSpec, got {type(spec).__name__}")
        if settings:
            raise KalibError(
                f"give the calibration settings either as spec= or as keyword "
                f"arguments, not both (got spec and {', '.join(settings)})"
            )
        return spec

    @property
    def code(self) -> int:
        """The kernel code of the distance (``weighting.distances``)."""
        return parse(self.distance, self.bounds)[0]

    @property
    def limits(self) -> tuple[float, float]:
        """(L, U) with the distance's own limits when there are no bounds
        (0 or -inf, inf)."""
        _, lower, upper = parse(self.distance, self.bounds)
        return lower, upper

    @property
    def clipping_bounds(self) -> tuple[float, float]:
        """The trimming caps intersected with the bounds (or the distance's own
        limits): the bounds of the calibration whose solution is the trimmed
        one for raking and linear (``weighting.calibrate``)."""
        assert self.trim is not None  # asked for only when trimming
        (lo, hi), (floor, ceiling) = self.trim, self.limits
        return max(lo, floor), min(hi, ceiling)

    def for_replicates(self) -> CalibrationSpec:
        """The calibration a replicate solves: trimming by clipping (raking,
        linear) folded into the bounds, :attr:`clipping_bounds`, which the
        kernels solve directly. Logit keeps its trimming (fixing rounds, run
        per replicate in numpy)."""
        if self.trim is None or self.code == LOGIT:
            return self
        return CalibrationSpec(
            self.distance,
            self.clipping_bounds,
            None,
            self.tol,
            self.max_iter,
            self.allow_unconverged,
            self.normalize_margins,
        )

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain values (JSON-ready but for infinite caps)."""
        return {
            f.name: (
                list(getattr(self, f.name))
                if f.name in ("bounds", "trim") and getattr(self, f.name) is not None
                else getattr(self, f.name)
            )
            for f in fields(self)
        }


def _caps(trim: Any) -> tuple[float, float]:
    """Trimming caps (lo, hi) as floats, an absent cap as -inf / inf."""
    try:
        lo, hi = trim
        lo = -math.inf if lo is None else float(lo)
        hi = math.inf if hi is None else float(hi)
    except (TypeError, ValueError):
        raise KalibError(f"trim must be a pair lo,hi (either may be None), got {trim!r}") from None
    if not lo < hi:
        raise KalibError(f"trimming caps must satisfy lower < upper, got ({lo:g}, {hi:g})")
    return lo, hi
