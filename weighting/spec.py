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
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from weighting.distances import CODES, LINEAR, LOGIT, RAKING, parse
from weighting.errors import KalibError


class UnitValues:
    """Per-row values held by a spec (``variance``, ``weight_bounds``): a
    read-only float array compared by value, so that specs stay comparable
    and hashable."""

    __slots__ = ("values",)

    def __init__(self, values: Any, what: str) -> None:
        try:
            array = np.array(values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise KalibError(f"{what} must be numbers, got {values!r}") from None
        if np.isnan(array).any():
            raise KalibError(
                f"{what} has missing values (first at {int(np.argmax(np.isnan(array)))})"
            )
        array.flags.writeable = False
        self.values: NDArray[np.float64] = array

    def __len__(self) -> int:
        return len(self.values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnitValues) and np.array_equal(self.values, other.values)

    def __hash__(self) -> int:
        return hash(self.values.tobytes())

    def __repr__(self) -> str:
        return f"UnitValues({len(self)} values)"


@dataclass(frozen=True)
class CalibrationSpec:
    r"""How to calibrate: distance, bounds, trimming, stopping rule, leniency.

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
    variance : str, number or array-like, optional
        Heteroskedastic calibration (R ``calibrate(variance = )``, the
        :math:`1/q_k` of Deville & Särndal): a column of the data or an array
        of one value per row (:math:`v_k`), or one coefficient per calibration
        column (:math:`v_k = x_k' c`; a single number when there is one
        column: R's ``variance = 1`` with ``~enroll - 1`` is the ratio
        estimator). The weights are :math:`w_k = d_k\,g(x_k'\lambda / v_k)`
        (``weighting.calibrate``). Values must be positive.
    aggregate_stage : int, optional
        Cluster-constant calibration (R ``aggregate.stage``): calibration
        variables and base weights averaged within the clusters of that
        sampling stage (``Design.stages``; stage 1: the PSUs), one g per
        cluster.
    weight_bounds : (L, U), optional
        Bounds on the weights themselves (R ``bounds.const = TRUE``), each a
        number or an array of one value per row (R's ``bounds = list(lower=,
        upper=)``; ``-inf``/``inf`` for none): :math:`L_k \le w_k \le U_k`,
        i.e. g-bounds :math:`L_k/d_k, U_k/d_k`. Not together with ``bounds``.

    The values are checked on construction (``KalibError`` naming the
    offender) and kept normalised: ``bounds`` as a pair of floats, ``trim``
    as a pair of floats with ``-inf``/``inf`` for an absent cap, per-row
    values as :class:`UnitValues`.
    """

    distance: str = "raking"
    bounds: tuple[float, float] | None = None
    trim: tuple[float, float] | None = None
    tol: float = 1e-10
    max_iter: int = 1000
    allow_unconverged: bool = False
    normalize_margins: bool = False
    variance: str | UnitValues | None = None
    aggregate_stage: int | None = None
    weight_bounds: tuple[float | UnitValues, float | UnitValues] | None = None

    def __post_init__(self) -> None:
        if self.weight_bounds is not None:
            if self.bounds is not None:
                raise KalibError(
                    "give bounds on g (bounds) or on the weights (weight_bounds), not both"
                )
            if self.distance not in CODES:
                parse(self.distance, None)  # names the unknown distance
            object.__setattr__(self, "weight_bounds", _weight_bounds(self.weight_bounds))
            lower, upper = _own_limits(CODES[self.distance])
        else:
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
        if self.variance is not None and not isinstance(self.variance, (str, UnitValues)):
            object.__setattr__(self, "variance", UnitValues(self.variance, "variance"))
        if isinstance(self.variance, UnitValues) and not (
            np.isfinite(self.variance.values).all() and len(self.variance)
        ):
            raise KalibError("variance values must be finite")
        if self.aggregate_stage is not None:
            if not (
                isinstance(self.aggregate_stage, numbers.Integral) and self.aggregate_stage >= 1
            ):
                raise KalibError(
                    f"aggregate_stage must be a sampling stage >= 1, got {self.aggregate_stage!r}"
                )
            object.__setattr__(self, "aggregate_stage", int(self.aggregate_stage))

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
        return CODES[self.distance]

    @property
    def limits(self) -> tuple[float, float]:
        """(L, U) with the distance's own limits when there are no bounds
        (0 or -inf, inf); the distance's own limits with ``weight_bounds``
        (whose g-bounds are per row: ``weighting.calibrate``)."""
        if self.weight_bounds is not None:
            return _own_limits(self.code)
        _, lower, upper = parse(self.distance, self.bounds)
        return lower, upper

    @property
    def direct(self) -> bool:
        """Linear without any bounds: R solves it directly (``regcalibrate``),
        and its linearization then uses the heteroskedastic regression
        (``weighting.calibrate``)."""
        return (
            self.code == LINEAR
            and self.weight_bounds is None
            and self.limits == (-math.inf, math.inf)
        )

    @property
    def per_row(self) -> bool:
        """Whether the calibration needs per-unit values the kernels do not
        take (``variance``, ``weight_bounds``): replicates are then
        re-calibrated in numpy (``weighting.replicates``)."""
        return self.variance is not None or self.weight_bounds is not None

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
        return replace(self, bounds=self.clipping_bounds, trim=None)

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain values (JSON-ready but for infinite caps);
        the settings of issue 19 (``variance``, ``aggregate_stage``,
        ``weight_bounds``) only when set, so that earlier records stay as
        they were."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _LATER and value is None:
                continue
            out[f.name] = _plain(value)
        return out


_LATER = ("variance", "aggregate_stage", "weight_bounds")


def _plain(value: Any) -> Any:
    """A setting as plain values: tuples and per-row values as lists."""
    if isinstance(value, UnitValues):
        return value.values.tolist()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _own_limits(code: int) -> tuple[float, float]:
    return (0.0 if code == RAKING else -math.inf), math.inf


def _weight_bounds(bounds: Any) -> tuple[float | UnitValues, float | UnitValues]:
    """(L, U) on the weights: each a float or per-row :class:`UnitValues`."""
    try:
        lower, upper = bounds
    except (TypeError, ValueError):
        raise KalibError(f"weight_bounds must be a pair L,U, got {bounds!r}") from None
    pair = [
        float(b) if isinstance(b, numbers.Real) else UnitValues(b, f"weight_bounds {name}")
        for b, name in ((lower, "lower"), (upper, "upper"))
    ]
    low = pair[0].values if isinstance(pair[0], UnitValues) else pair[0]
    high = pair[1].values if isinstance(pair[1], UnitValues) else pair[1]
    bad = ~np.broadcast_to(np.less(low, high), np.broadcast(low, high).shape)
    if bad.any():
        raise KalibError(
            f"weight_bounds must satisfy lower < upper (fails at "
            f"{'row ' + str(int(np.argmax(bad)) + 1) if np.ndim(bad) else 'the pair'}: "
            f"{np.broadcast_to(low, bad.shape).flat[int(np.argmax(bad))]:g}, "
            f"{np.broadcast_to(high, bad.shape).flat[int(np.argmax(bad))]:g})"
        )
    return pair[0], pair[1]


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
