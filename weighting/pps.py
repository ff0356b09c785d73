r"""PPS sampling without replacement: joint inclusion probabilities and variances.

A design drawn with unequal probabilities without replacement (R's
``svydesign(pps = ..., variance = ...)``) has PSU inclusion probabilities
:math:`\pi_i` (``fpc`` as fractions, one per PSU, or the reciprocal of the
weights) and joint probabilities :math:`\pi_{ij}`, given as a matrix or
approximated from the :math:`\pi_i`. With :math:`\check y_i = w_i z_i` summed
over the rows of PSU i (the weighted, calibration-residualized influence
values of ``estimators.inference.variance``) and, as in Särndal, Swensson &
Wretman (1992, §2.8),

.. math:: \check\Delta_{ij} = (\pi_{ij} - \pi_i \pi_j) / \pi_{ij},
          \qquad \check\Delta_{ii} = 1 - \pi_i,

the two unbiased estimators of the variance of :math:`\sum_i \check y_i`
(Yates–Grundy's for designs of fixed size) are

* Horvitz–Thompson (Horvitz & Thompson 1952):
  :math:`V_{HT} = \sum_{i,j} \check\Delta_{ij} \check y_i \check y_j'`;
* Sen–Yates–Grundy (Sen 1953; Yates & Grundy 1953):
  :math:`V_{YG} = -\tfrac12 \sum_{i \ne j} \check\Delta_{ij}
  (\check y_i - \check y_j)(\check y_i - \check y_j)'
  = V_{HT} - \sum_j (\sum_i \check\Delta_{ij}) \check y_j \check y_j'`,

so both are one quadratic form :math:`\check Y' Q \check Y` with
:math:`Q = \check\Delta` (HT) or :math:`Q = \check\Delta -
\mathrm{diag}(\mathbf 1' \check\Delta)` (YG). :math:`Q` is kept as blocks
of PSUs (one per stratum for the approximations, which set
:math:`\check\Delta_{ij} = 0` across strata; one for a given matrix).

Joint probabilities
-------------------
``JointInclusion(matrix, tolerance=1e-4)`` (R's ``ppsmat``): the given
:math:`\pi_{ij}`; entries of :math:`\check\Delta` smaller than ``tolerance``
in absolute value are set to 0, as R does (``tolerance=0`` keeps them all). The approximations,
with :math:`n_h` the sampled PSUs of stratum h:

* ``"overton"`` (Overton 1985): :math:`\pi_{ij} \approx 2 (n_h - 1) \pi_i
  \pi_j / (2 n_h - \pi_i - \pi_j)`, i.e. :math:`\check\Delta_{ij} = 1 -
  (n_h - \bar\pi_{ij}) / (n_h - 1)` with :math:`\bar\pi_{ij} = (\pi_i +
  \pi_j)/2`;
* ``HR(psum)`` / ``"hartley-rao"`` (Hartley & Rao 1962, truncated as in
  Berger 2004): :math:`\pi_{ij} \approx (n_h - 1) \pi_i \pi_j / (n_h - \pi_i
  - \pi_j + \sum_{k \in U_h} \pi_k^2 / n_h)`, i.e. :math:`\check\Delta_{ij}
  = 1 - (n_h - \pi_i - \pi_j + p_h) / (n_h - 1)` with :math:`p_h` = ``psum``
  (a population quantity, :math:`\sum_U \pi_k^2 / n_h`), or, with
  ``HR()``, the mean of the sampled :math:`\pi_i` of the stratum (its
  estimate, R's ``HR()`` without argument).

Two certainty PSUs (:math:`\pi_i = \pi_j = 1`) have :math:`\check\Delta_{ij}
= 0` in both approximations. R's Overton does the same; R's Hartley–Rao
tests :math:`\pi_i + \pi_j = 1` instead (its ``fbar`` there is the sum, not
the mean), which we take for an oversight: kalib differs from R only for
pairs whose probabilities sum to exactly 1 or that are both certain.

Brewer's approximation
----------------------
``"brewer"`` needs no joint probabilities (Brewer 2002, ch. 9; Brewer &
Donadio 2003): the with-replacement estimator with a finite-population
factor per PSU,

.. math:: V = \sum_h \sum_{i \in h} c_i (\check y_i - \bar{\check y}_h)
          (\check y_i - \bar{\check y}_h)', \qquad
          c_i = (1 - \pi_i)\, n_h / (n_h - 1),

:math:`\bar{\check y}_h` the unweighted mean of the stratum's PSU totals (a
stratum with one PSU contributes 0). This is R's ``pps = "brewer"``, which
runs its ordinary estimator with the per-PSU fpc :math:`n_h/\pi_i`. As in R
only ``variance="HT"`` applies to it.

Differences from R
------------------
With several sampling stages only the PSUs enter (the ultimate-cluster
variance; R supports multistage designs with Brewer only). A joint matrix
refers to the design's PSUs in the order of their first row in the data
(R's ``ppsmat`` indexes rows, which is the same when every row is its own
PSU; R does not support a given matrix with clusters). Inclusion
probabilities are checked to lie in (0, 1] and to be constant within a PSU
(R warns about the latter), a given matrix to be square of the PSU count,
symmetric, positive and to satisfy :math:`\pi_{ij} \le \min(\pi_{ii},
\pi_{jj})` (R checks squareness only). Replicate weights on a PPS design
are not made (R's ``as.svrepdesign`` fails on these designs too). After
calibration the residuals of the calibration regression enter the quadratic
form, as in survey >= 4.4-1 (4.1.1 computes and then drops them for
Overton, Hartley–Rao and ``ppsmat`` designs; tests/reference/pps/README.md).
Across domains the covariance is the quadratic form of the domains'
influence values; R's ``svyby(covmat = TRUE)`` sets it to 0 on these
designs. The design effect of a total is the ordinary one (SRS variance
:math:`\hat N^2 s^2 (1 - n/\hat N)/n`, as R's ``svytotal`` on other designs);
R's ``svytotal`` on Overton, Hartley–Rao and ``ppsmat`` designs leaves out
the :math:`(1 - n/\hat N)/n`, so its deff is smaller by that factor (means
agree). survey 4.1.1 fails on a design with strata under Overton or ``HR()``
("non-numeric argument to binary operator", its ``overton2Dcheck``), and
on ``na.rm = TRUE`` under Overton or Hartley–Rao ("logical subscript too
long"): kalib gives both, a stratum's equal to R's on the rows with the
value (``tests/reference/crosscheck/calib.R``).

References
----------
Berger, Y. G. (2004). A simple variance estimator for unequal probability
sampling without replacement. *J. Applied Statistics* 31, 305–315.
Brewer, K. R. W. (2002). *Combined Survey Sampling Inference*. Arnold.
Brewer, K. R. W. & Donadio, M. E. (2003). The high entropy variance of the
Horvitz–Thompson estimator. *Survey Methodology* 29, 189–196.
Hartley, H. O. & Rao, J. N. K. (1962). Sampling with unequal probabilities
and without replacement. *Ann. Math. Statist.* 33, 350–374.
Horvitz, D. G. & Thompson, D. J. (1952). A generalization of sampling
without replacement from a finite universe. *JASA* 47, 663–685.
Overton, W. S. (1985). A sampling plan for streams in the National Stream
Survey. Technical Report 114, Oregon State University.
Särndal, C.-E., Swensson, B. & Wretman, J. (1992). *Model Assisted Survey
Sampling*. Springer.
Sen, A. R. (1953). On the estimate of the variance in sampling with varying
probabilities. *J. Indian Soc. Agric. Statist.* 5, 119–127.
Yates, F. & Grundy, P. M. (1953). Selection without replacement from within
strata with probability proportional to size. *JRSS B* 15, 253–261.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from weighting.columns import Columns, column, numeric
from weighting.errors import DesignError, ReplicateError, shown

#: The approximations named by a string (``"hr"`` is ``HR()``).
PPS_METHODS = ("brewer", "overton", "hartley-rao", "hr")
#: ``variance=``: Horvitz–Thompson or Sen–Yates–Grundy.
PPS_VARIANCES = ("HT", "YG")

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class HR:
    """Hartley–Rao's approximation to the joint probabilities (R's ``HR()``).

    Parameters
    ----------
    psum : float, mapping or None
        :math:`\\sum_{k \\in U_h} \\pi_k^2 / n_h`: one number for every
        stratum, a mapping ``{stratum label: value}``, or None for its
        estimate, the mean of the sampled :math:`\\pi_i` of each stratum (R's
        ``HR()``).
    """

    psum: float | Mapping[str, float] | None = None


@dataclass(frozen=True)
class JointInclusion:
    """Given joint inclusion probabilities (R's ``ppsmat``).

    Parameters
    ----------
    matrix : array-like (P, P)
        :math:`\\pi_{ij}` of the design's P PSUs, in the order of their first
        row in the data; the diagonal holds :math:`\\pi_i`.
    tolerance : float
        Entries of :math:`\\check\\Delta` smaller than this in absolute value
        are set to 0 (R's default, 1e-4).
    """

    matrix: ArrayLike
    tolerance: float = 1e-4


#: What ``Design(pps=...)`` accepts.
PPSSpec = str | HR | JointInclusion | ArrayLike


@dataclass(frozen=True)
class PPS:
    """A PPS-without-replacement design's variance structure (``Design.pps``).

    Built by :func:`pps_design`. ``prob`` are the PSU inclusion probabilities
    (in the design's PSU code order), ``blocks`` the quadratic form
    :math:`Q` as (PSU codes, block) pairs (empty for Brewer), ``brewer`` the
    factors :math:`c_i` of Brewer's estimator (None otherwise).
    """

    method: str
    variance: str
    prob: FloatArray
    psu_stratum: IntArray
    blocks: tuple[tuple[IntArray, FloatArray], ...]
    brewer: FloatArray | None

    def covariance(self, u: ArrayLike, psu: ArrayLike) -> FloatArray:
        """The (m, m) variance of the column totals of ``u`` (module docstring).

        Parameters
        ----------
        u : array-like (n, m)
            Weighted, residualized influence values :math:`w_i z_i` per row.
        psu : array-like (n,) of int
            Each row's PSU code.
        """
        Y = self._psu_totals(u, psu)
        if self.brewer is not None:
            D = self._brewer_deviations(Y)
            out: FloatArray = (D * self.brewer[:, None]).T @ D
            return out
        V = np.zeros((Y.shape[1], Y.shape[1]))
        for codes, Q in self.blocks:
            y = Y[codes]
            V += y.T @ (Q @ y)
        return V

    def variances(self, u: ArrayLike, psu: ArrayLike) -> FloatArray:
        """The diagonal of :meth:`covariance`, (m,), without the m x m matrix."""
        Y = self._psu_totals(u, psu)
        if self.brewer is not None:
            D = self._brewer_deviations(Y)
            out: FloatArray = self.brewer @ (D * D)
            return out
        V = np.zeros(Y.shape[1])
        for codes, Q in self.blocks:
            y = Y[codes]
            V += np.einsum("ij,ij->j", y, Q @ y)
        return V

    def _psu_totals(self, u: ArrayLike, psu: ArrayLike) -> FloatArray:
        values = np.asarray(u, dtype=np.float64)
        values = values.reshape(values.shape[0], -1)
        codes = np.asarray(psu, dtype=np.int64)
        P = len(self.prob)
        Y = np.empty((P, values.shape[1]))
        for j in range(values.shape[1]):
            Y[:, j] = np.bincount(codes, values[:, j], minlength=P)
        return Y

    def _brewer_deviations(self, Y: FloatArray) -> FloatArray:
        """PSU totals less their stratum's unweighted mean."""
        H = int(self.psu_stratum.max()) + 1 if len(self.psu_stratum) else 0
        n_h = np.bincount(self.psu_stratum, minlength=H).astype(np.float64)
        means = np.empty((H, Y.shape[1]))
        for j in range(Y.shape[1]):
            means[:, j] = np.bincount(self.psu_stratum, Y[:, j], minlength=H) / n_h
        out: FloatArray = Y - means[self.psu_stratum]
        return out


def pps_design(
    pps: PPSSpec | None,
    variance: str,
    data: Columns,
    fpc: str | ArrayLike | None,
    weights: str | ArrayLike | None,
    psu: ArrayLike,
    psu_stratum: ArrayLike,
    strata_labels: Sequence[str],
) -> tuple[PPS | None, FloatArray | None]:
    """The variance structure of ``Design(pps=..., variance=...)`` and the
    base weights it implies.

    The inclusion probability of a PSU is ``1 / weights`` when weights are
    given, else its ``fpc`` (a fraction, as R requires for PPS designs); the
    base weights are ``1 / fpc`` when no weights are given (R's
    ``svydesign`` rule). Brewer's factor uses ``fpc`` (without it, 1: the
    with-replacement estimator, as in R).

    Parameters
    ----------
    pps : "brewer", "overton", "hartley-rao" ("hr"), HR, JointInclusion,
        a (P, P) matrix of joint probabilities, or None
    variance : "HT" or "YG"
    data : mapping
        The design's columns (for ``fpc`` and ``weights`` given by name).
    fpc, weights : str or array-like (n,), optional
    psu : array-like (n,) of int
        Global PSU code of every row (``Design.psu``).
    psu_stratum : array-like (P,) of int
        Stratum code of every PSU.
    strata_labels : sequence of str
        Stratum labels (for ``HR`` with a mapping and for messages).

    Returns
    -------
    (PPS or None, base weights (n,) or None)
        None, None when ``pps`` is None (and ``variance`` "HT").

    Raises
    ------
    DesignError
        An unknown method or variance, YG with Brewer, probabilities outside
        (0, 1] or varying within a PSU, no probabilities at all, a joint
        matrix of the wrong size, not symmetric, not positive, or with
        :math:`\\pi_{ij} > \\min(\\pi_i, \\pi_j)`.
    """
    if variance not in PPS_VARIANCES:
        raise DesignError(f"variance must be 'HT' or 'YG', not {variance!r}", option="variance")
    if pps is None:
        if variance != "HT":
            raise DesignError(
                "variance='YG' needs a PPS design without replacement",
                option="pps",
                remedy="give pps='overton', HR(...) or a joint-inclusion matrix",
            )
        return None, None
    spec = _spec(pps)
    if spec == "brewer" and variance != "HT":
        raise DesignError(
            "Brewer's approximation has no Yates-Grundy form (as in R)",
            option="variance",
            remedy="use variance='HT'",
        )
    if isinstance(fpc, (list, tuple)) and any(isinstance(f, str) or np.ndim(f) for f in fpc):
        raise DesignError(
            f"a PPS design takes one fpc, the PSUs' inclusion probabilities, not {len(fpc)} "
            "(one per stage): PPS sampling at later stages is not supported",
            option="fpc",
        )
    codes = np.asarray(psu, dtype=np.int64)
    stratum = np.asarray(psu_stratum, dtype=np.int64)
    n = len(codes)
    fractions = None if fpc is None else _probabilities(data, fpc, "fpc", n)
    given = (
        None if weights is None else _probabilities(data, weights, "weights", n, reciprocal=True)
    )
    if given is not None:
        prob_rows = given
    elif fractions is not None:
        prob_rows = fractions
    else:
        raise DesignError(
            "a PPS design needs the inclusion probabilities",
            option="fpc",
            remedy="give fpc as the PSUs' inclusion probabilities (or weights)",
        )
    prob = _per_psu(prob_rows, codes, len(stratum), "inclusion probability")
    base = None if given is not None else 1.0 / prob_rows
    H = len(strata_labels)
    n_h = np.bincount(stratum, minlength=H).astype(np.float64)

    if spec == "brewer":
        if fractions is None:  # R: no fpc, a with-replacement design
            f = np.ones(len(stratum))
        else:
            f = 1.0 - _per_psu(fractions, codes, len(stratum), "fpc")
        n_i = n_h[stratum]
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(n_i > 1, f * n_i / (n_i - 1), 0.0)
        return PPS("brewer", variance, prob, stratum, (), c), base

    blocks: tuple[tuple[IntArray, FloatArray], ...]
    if isinstance(spec, JointInclusion):
        blocks = (_joint_block(spec, prob, codes, variance),)
        method = "joint"
    else:
        psum = _psum(spec, prob, stratum, n_h, strata_labels)
        blocks = tuple(
            _approximate_block(
                np.flatnonzero(stratum == h), prob, None if psum is None else psum[h], variance
            )
            for h in range(H)
            if n_h[h] > 0
        )
        method = "overton" if psum is None else "hartley-rao"
    return PPS(method, variance, prob, stratum, blocks, None), base


def _spec(pps: PPSSpec) -> str | HR | JointInclusion:
    if isinstance(pps, (HR, JointInclusion)):
        return pps
    if isinstance(pps, str):
        name = pps.lower()
        if name not in PPS_METHODS:
            raise DesignError(
                f"pps must be one of {', '.join(PPS_METHODS)}, an HR(...), a "
                f"JointInclusion(...) or a joint-probability matrix, not {pps!r}",
                option="pps",
            )
        return HR() if name in ("hr", "hartley-rao") else name
    return JointInclusion(pps)


def _probabilities(
    data: Columns, spec: str | ArrayLike, name: str, n: int, *, reciprocal: bool = False
) -> FloatArray:
    """Inclusion probabilities per row: ``fpc`` as fractions, or ``1 / weights``
    (``reciprocal``); DesignError naming the values outside (0, 1]."""
    label = f"{name} {spec!r}" if isinstance(spec, str) else name
    raw = column(data, spec) if isinstance(spec, str) else np.asarray(spec)
    if raw.shape != (n,):
        raise DesignError(f"{label} has shape {raw.shape}, the sample has {n} rows")
    values = numeric(raw, label, error=DesignError)
    with np.errstate(divide="ignore"):
        prob = 1.0 / values if reciprocal else values
    bad = np.flatnonzero(~((prob > 0) & (prob <= 1)))  # NaN too
    if bad.size:
        raise DesignError(
            f"{label}: {bad.size} inclusion probabilit(y/ies) outside (0, 1] "
            f"(first at row {bad[0] + 1}: {name} = {shown(values[bad[0]])}); a PPS design "
            f"takes {'weights 1/pi' if reciprocal else 'fpc as probabilities, not population counts'}",
            option=name,
            row=int(bad[0]),
        )
    return prob


def _per_psu(values: FloatArray, codes: IntArray, P: int, what: str) -> FloatArray:
    """One value per PSU, or DesignError naming a row that disagrees with its PSU."""
    value = np.empty(P)
    value[codes] = values  # one row of each PSU (every PSU has rows)
    bad = np.flatnonzero(values != value[codes])
    if bad.size:
        row = int(bad[0])
        raise DesignError(
            f"the {what} varies within a PSU: {values[row]:g} at row {row + 1}, "
            f"{value[codes[row]]:g} at another row of its PSU; a PPS design has one per PSU",
            row=row,
        )
    return value


def _psum(
    spec: str | HR,
    prob: FloatArray,
    stratum: IntArray,
    n_h: FloatArray,
    labels: Sequence[str],
) -> FloatArray | None:
    """Hartley–Rao's :math:`p_h` per stratum; None for Overton."""
    if spec == "overton":
        return None
    assert isinstance(spec, HR)
    if spec.psum is None:  # R's HR(): the mean of the sampled probabilities
        with np.errstate(invalid="ignore"):
            out: FloatArray = np.bincount(stratum, prob, minlength=len(n_h)) / n_h
        return out
    if isinstance(spec.psum, Mapping):
        missing = [label for label in labels if label not in spec.psum]
        if missing:
            raise DesignError(
                f"HR psum has no value for stratum/strata {', '.join(map(str, missing[:5]))}",
                option="pps",
            )
        given = np.array([float(spec.psum[label]) for label in labels])
    else:
        given = np.full(len(n_h), float(spec.psum))
    # sum_U pi_k^2 / n_h lies in (0, 1]: each pi_k <= 1 and sum_U pi_k = n_h
    bad = np.flatnonzero(~((given > 0) & (given <= 1)))
    if bad.size:
        raise DesignError(
            f"HR psum of stratum {labels[bad[0]]!r} is {shown(given[bad[0]])}: the "
            "population's sum of pi^2 / n lies in (0, 1]",
            option="pps",
        )
    return given


def _approximate_block(
    idx: IntArray, prob: FloatArray, psum: float | None, variance: str
) -> tuple[IntArray, FloatArray]:
    """:math:`Q` of one stratum under Overton's (``psum`` None) or
    Hartley–Rao's approximation with :math:`p_h` = ``psum`` (module
    docstring): :math:`1 - \\pi_i\\pi_j/\\pi_{ij}` off the diagonal."""
    p = prob[idx]
    n = float(len(idx))
    with np.errstate(divide="ignore", invalid="ignore"):  # n = 1: no pairs, diagonal only
        if psum is None:
            dcheck = 1.0 - (n - np.add.outer(p, p) / 2) / (n - 1)
        else:
            dcheck = 1.0 - (n - np.add.outer(p, p) + psum) / (n - 1)
    certain = p == 1.0
    dcheck[np.logical_and.outer(certain, certain)] = 0.0
    np.fill_diagonal(dcheck, 1.0 - p)
    return idx, _quadratic(dcheck, variance)


def _joint_block(
    spec: JointInclusion, prob: FloatArray, codes: IntArray, variance: str
) -> tuple[IntArray, FloatArray]:
    """:math:`Q` from a given joint matrix, checked, in PSU code order."""
    M = np.asarray(spec.matrix, dtype=np.float64)
    P = len(prob)
    if M.shape != (P, P):
        raise DesignError(
            f"the joint-inclusion matrix is {M.shape}, the design has {P} PSUs "
            f"(a ({P}, {P}) matrix in the order of the PSUs' first rows)",
            option="pps",
        )
    if not np.all(np.isfinite(M)):
        i, j = np.argwhere(~np.isfinite(M))[0]
        raise DesignError(f"the joint-inclusion matrix is not finite at {_entry(i, j)}")
    asym = np.abs(M - M.T)
    if asym.max() > 1e-12 * max(1.0, float(np.abs(M).max())):
        i, j = np.unravel_index(int(np.argmax(asym)), M.shape)
        raise DesignError(
            f"the joint-inclusion matrix is not symmetric: {shown(M[i, j])} at {_entry(i, j)}, "
            f"{shown(M[j, i])} at {_entry(j, i)}"
        )
    diag = np.diag(M)
    if np.any((diag <= 0) | (diag > 1)) or np.any(M <= 0):
        i, j = np.argwhere(M <= 0)[0] if np.any(M <= 0) else np.argwhere(np.diag(diag > 1))[0]
        raise DesignError(
            f"the joint-inclusion matrix has {shown(M[i, j])} at {_entry(i, j)}: probabilities "
            "must lie in (0, 1] (the HT variance needs every joint probability positive)"
        )
    bound = np.minimum.outer(diag, diag)
    over = M > bound * (1 + 1e-12)
    if over.any():
        i, j = np.argwhere(over)[0]
        raise DesignError(
            f"the joint-inclusion matrix has pi_ij = {shown(M[i, j])} at {_entry(i, j)}, above "
            f"min(pi_i, pi_j) = {shown(bound[i, j])}"
        )
    # rows and columns of the file are the PSUs in order of first appearance
    first = np.full(P, len(codes))
    np.minimum.at(first, codes, np.arange(len(codes)))
    rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    M = M[np.ix_(rank, rank)]
    diag = np.diag(M)
    dcheck = (M - np.outer(diag, diag)) / M
    dcheck[np.abs(dcheck) < spec.tolerance] = 0.0
    return np.arange(P, dtype=np.int64), _quadratic(dcheck, variance)


def _entry(i: int | np.integer, j: int | np.integer) -> str:
    """An entry of a joint matrix as a message names it (rows and columns from 1,
    as in its file)."""
    return f"row {int(i) + 1}, column {int(j) + 1}"


def _quadratic(dcheck: FloatArray, variance: str) -> FloatArray:
    """:math:`Q` of the HT or YG form from :math:`\\check\\Delta`."""
    if variance == "YG":
        dcheck = dcheck - np.diag(dcheck.sum(axis=0))
    return dcheck


def replicates_unavailable(method: str) -> ReplicateError:
    """The error for replicate weights asked of a PPS design without replacement."""
    return ReplicateError(
        f"replicates ({method!r}) are not made for a PPS design without replacement: "
        "none of bootstrap, jkn, jk1, brr or fay reproduces its joint inclusion "
        "probabilities (R's as.svrepdesign fails on these designs too), its "
        "linearization variance uses them; every replicate method applies to the "
        "sample described as drawn with replacement (weights = 1/pi, no pps)"
    )
