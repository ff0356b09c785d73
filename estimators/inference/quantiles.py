"""Weighted quantile rules and quantile confidence intervals (R ``svyquantile``).

Quantile rules (``qrule``; R survey 4.1's names). With the units sorted by
``x`` (zero weights dropped, ties kept in their order), ``W_k`` the
cumulative weight of the first k, ``W = W_n`` and ``pos`` the last k with
``W_k <= p W`` (1 if none):

``math`` = ``hf1``
    ``x_pos`` where ``W_pos = p W`` exactly, else ``x_{pos+1}``: the smallest
    x whose weighted CDF reaches p (the inverse of the CDF).
``school`` = ``hf2``
    As ``math``, but the mean of ``x_pos`` and ``x_{pos+1}`` where the CDF
    hits p exactly.
``hf3``
    On the distinct values (weights summed): ``x_pos`` where the CDF hits p
    exactly and ``pos`` is even, else ``x_{pos+1}`` (nearest even order
    statistic).
``hf4``
    Linear interpolation between ``x_pos`` and ``x_{pos+1}`` in the CDF:
    ``(1 - g) x_pos + g x_{pos+1}``, ``g = (p - W_pos/W) / (W_{pos+1}/W - W_pos/W)``.
``hf5`` ... ``hf9``, ``shahvaish``
    Linear interpolation of ``x_k`` against plotting positions ``p_k`` (R's
    ``approx``, constant beyond the ends): ``hf5`` ``(W_k - w_k/2) / W``;
    ``hf6`` ``W_k / (W + w_n)``; ``hf7`` ``W_{k-1} / W_{n-1}``; ``hf8``
    ``(W_{k-1}/3 + 2 W_k/3) / (W + w_n/3)``; ``hf9``
    ``(3 W_{k-1}/8 + 5 W_k/8) / (W + w_n/4)``. ``shahvaish`` (Shah & Vaish
    2006) takes ``p_k = (S_k + 1/2 - w_k/2) / (n + 1)`` with ``S_k`` the
    cumulative weight scaled to mean 1, and a step (not linear) function.

With equal weights ``hf1``, ``hf2`` and ``hf4``–``hf9`` are Hyndman & Fan's
(1996) sample quantile definitions 1, 2 and 4–9 (R's ``quantile(type = k)``,
numpy's ``inverted_cdf`` ... ``normal_unbiased``); R survey's ``hf3`` is its
own rule, not definition 3.

Intervals (``interval_type``):

``mean``, ``beta``, ``xlogit``, ``asin``
    Woodruff (1952): a confidence interval ``[p_L, p_U]`` for the CDF at the
    estimated quantile, ``F(q_p)``, estimated as the proportion of units with
    ``x <= q_p`` with its design SE, mapped back through the same rule:
    ``[Q(p_L), Q(p_U)]``. The proportion's interval is the Wald interval
    (``mean``), Korn–Graubard (``beta``), or the Wald interval on the
    logit or angular scale (``xlogit``, ``asin``), as for ``svyciprop``
    (:mod:`estimators.inference.ci`). An end of a ``mean`` interval outside
    [0, 1] gives NaN, as in R.
``score``
    Francisco & Fuller (1991): the ends are the ``theta`` where the design-based
    score statistic ``(p - F(theta)) / SE(F(theta))`` equals ``+-t``, found by
    R's root finder (:func:`~estimators.inference.rnumerics.zeroin`) on
    ``[min x + IQR/100, max x - IQR/100]`` to ``1 / (100 sqrt(n))``; each root
    ``theta`` becomes ``Q(m)`` with ``m`` the *unweighted* share of units with
    ``x <= theta`` (R's definition, followed so that the numbers agree).
``quantile``
    Replicate designs: the quantile recomputed with each replicate's weights
    and their replicate variance (R's ``svrVar``): ``q +- t sqrt(v)``.

The standard error is ``(U - L) / (2 t)`` for every interval (R's).

Below the first unit's share of the weight, ``p < w_1 / W``, R's ``math``,
``school`` and ``hf3`` answer the *second* smallest value and ``hf4``
extrapolates below the minimum (``pos`` is then the first unit, not "none");
kalib follows R, since the lower end of a Woodruff interval in a small
domain often falls there (``dclus1``, schools of type H: 478, not 443).
With equal weights the Hyndman–Fan identities hold for ``p >= 1/n``.

Differences from R: ``hf4`` at p = 1 is the maximum (R: NaN, from 0/0); a
single unit gives its value under every rule (R stops for the
interpolating rules); a ``score`` end whose bracket has no sign change is NaN
(R stops); on a replicate design R 4.1 ignores ``beta``, ``xlogit`` and
``asin`` and gives the ``mean`` interval (its replicate method never passes
the interval type on), kalib gives the interval asked for;
an ``asin`` end is cut at 0 or 1 where R folds it (:func:`~estimators.inference.ci.asin_ci`);
``score`` is also offered on replicate designs (the SE of ``F(theta)`` by
the replicates), which R does not; R 4.1.1's ``score`` with ``na.rm =
TRUE`` on a design whose subset keeps every row (a calibrated one) counts
the missing values as zeros in its root bracket and its unweighted share,
kalib the rows with a value only (``tests/reference/crosscheck/calib.R``,
``score_documented``); and ``shahvaish``'s plotting positions
subtract ``w_k/2``, not the scaled weight's half, as R 4.1 does: with
unequal weights they need not increase, R then sorts them, and the rule is
not monotone in p — kalib follows R.

References
----------
Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical packages.
The American Statistician 50, 361-365.
Woodruff, R. S. (1952). Confidence intervals for medians and other position
measures. JASA 47, 635-646.
Francisco, C. A. and Fuller, W. A. (1991). Quantile estimation with a complex
survey design. Annals of Statistics 19, 454-469.
Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for proportions
with small expected number of positive counts estimated from survey data.
Survey Methodology 24, 193-201.
Shah, B. V. and Vaish, A. K. (2006). Confidence intervals for quantile
estimation from complex survey data. Proceedings of the Section on Survey
Research Methods, American Statistical Association.
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley.
"""

from __future__ import annotations

import numpy as np

from estimators.inference import ci as cimod
from estimators.inference.rnumerics import RootError, approx, zeroin
from estimators.inference.variance import replicate_covariance
from weighting.errors import KalibError

QRULES = ("math", "school", "shahvaish") + tuple(f"hf{k}" for k in range(1, 10))
INTERVAL_TYPES = ("mean", "beta", "xlogit", "asin", "score", "quantile")
# the proportion CI method of each Woodruff interval
WOODRUFF = {"mean": "wald", "beta": "beta", "xlogit": "xlogit", "asin": "asin"}


class QuantileError(KalibError):
    """A quantile that cannot be had: a probability outside [0, 1] (or not a
    number), a domain without values, an unknown rule or interval type."""


def check_rule(qrule: str) -> str:
    """``qrule`` if R survey knows it, else a :class:`QuantileError`."""
    if qrule not in QRULES:
        raise QuantileError(f"unknown quantile rule {qrule!r}; choose one of {', '.join(QRULES)}")
    return qrule


def check_interval(interval_type: str, replicates: bool) -> str:
    """``interval_type`` if known and possible on the design, else a
    :class:`QuantileError`."""
    if interval_type not in INTERVAL_TYPES:
        raise QuantileError(
            f"unknown quantile interval {interval_type!r}; choose one of "
            f"{', '.join(INTERVAL_TYPES)}"
        )
    if interval_type == "quantile" and not replicates:
        raise QuantileError(
            "the 'quantile' interval recomputes the quantile in each "
            "replicate: it needs a design with replicate weights"
        )
    return interval_type


def _cumsum(w) -> np.ndarray:
    """Cumulative sums accumulated in extended precision and stored as doubles
    (R's ``cumsum``), so that ties of the CDF with p resolve as in R."""
    return np.cumsum(w.astype(np.longdouble)).astype(np.float64)


def _discrete(xs, ws, p):
    """R's ``qs``: ``(pos, next, wlow, wup)`` on the sorted units (0-based).

    Where p is below the first unit's share of the weight, R takes ``pos`` =
    the first unit and so ``next`` = the second (module docstring)."""
    cum = _cumsum(ws)
    total = cum[-1]
    below = np.flatnonzero(cum <= p * total)
    pos = below[-1] if below.size else 0
    nxt = min(pos + 1, xs.size - 1)
    return pos, nxt, p - cum[pos] / total, cum[nxt] / total - p


def _math(xs, ws, p):
    pos, nxt, wlow, _ = _discrete(xs, ws, p)
    return xs[pos] if wlow == 0 else xs[nxt]


def _school(xs, ws, p):
    pos, nxt, wlow, _ = _discrete(xs, ws, p)
    return (xs[pos] + xs[nxt]) / 2 if wlow == 0 else xs[nxt]


def _hf3(xs, ws, p):
    values, first = np.unique(xs, return_index=True)
    sums = np.add.reduceat(ws, first)
    pos, nxt, wlow, _ = _discrete(values, sums, p)
    # R's test is on the 1-based position: even there means odd here
    return values[pos] if wlow == 0 and pos % 2 == 1 else values[nxt]


def _hf4(xs, ws, p):
    pos, nxt, wlow, wup = _discrete(xs, ws, p)
    gamma = wlow / (wup + wlow) if wup + wlow != 0 else 0.0  # R: 0/0 at p = 1
    return xs[pos] * (1 - gamma) + xs[nxt] * gamma


def _positions(name, xs, ws):
    """Plotting positions of the interpolating rules (R's expressions)."""
    cum = _cumsum(ws)
    before = np.concatenate([[0.0], cum[:-1]])
    if name == "hf5":
        return (cum - ws / 2) / cum[-1]
    if name == "hf6":
        return cum / (cum[-1] + ws[-1])
    if name == "hf7":
        return before / cum[-2]
    if name == "hf8":
        return (before * 1 / 3 + cum * 2 / 3) / (cum[-1] + ws[-1] / 3)
    if name == "hf9":
        return (before * 3 / 8 + cum * 5 / 8) / (cum[-1] + ws[-1] / 4)
    scaled = _cumsum(ws / np.mean(ws))
    return (scaled + 0.5 - ws / 2) / (xs.size + 1)  # shahvaish


RULES = {"math": _math, "hf1": _math, "school": _school, "hf2": _school, "hf3": _hf3, "hf4": _hf4}


def sorted_quantile(xs, ws, p, qrule="math") -> float:
    """The ``qrule`` quantile of units already sorted by ``xs`` with positive
    weights ``ws``."""
    if xs.size == 1:
        return float(xs[0])
    if qrule in RULES:
        return float(RULES[qrule](xs, ws, p))
    method = "constant" if qrule == "shahvaish" else "linear"
    return float(approx(_positions(qrule, xs, ws), xs, p, method=method, rule=2)[0])


def weighted_quantile(x, w, p, qrule="math") -> float:
    """The weighted ``p`` quantile of ``x`` by ``qrule`` (module docstring);
    zero weights are ignored, ties keep their order (R's stable ``order``)."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    keep = w != 0
    x, w = x[keep], w[keep]
    order = np.argsort(x, kind="stable")
    return sorted_quantile(x[order], w[order], float(p), check_rule(qrule))


def woodruff_interval(x, w, p_interval, qrule="math") -> tuple[float, float]:
    """Map an interval ``(p_L, p_U)`` for the CDF back to the x scale through
    the rule; an end outside [0, 1] (or NaN) gives NaN (R)."""
    ends = []
    for end in p_interval:
        ends.append(weighted_quantile(x, w, end, qrule) if 0 <= end <= 1 else np.nan)
    return ends[0], ends[1]


def proportion_interval(interval_type, p, se, df, n, level, design_df):
    """The Woodruff interval's interval for the CDF: ``interval_type``'s
    proportion CI of ``p`` with ``se``. R's ``beta`` takes the design's
    df, not the one given to ``svyquantile``; so does kalib."""
    method = WOODRUFF[interval_type]
    low, high = cimod.proportion_ci(
        p, se, method=method, level=level, n=n, df=design_df if method == "beta" else df
    )
    return float(low), float(high)


def score_interval(x, w, p, qrule, exceed, df, level) -> tuple[float, float]:
    """Francisco–Fuller score interval (module docstring) for the units of a
    domain: ``x`` and ``w`` their values and weights, ``exceed(theta)`` the
    estimated share with ``x > theta`` and its design SE."""
    t = float(cimod.t_quantile(level, df))
    spread = np.subtract(*np.percentile(x, [75, 25]))
    lower, upper = x.min() + spread / 100, x.max() - spread / 100
    tol = 1 / (100 * np.sqrt(x.size))

    def score(theta, limit):
        share, se = exceed(theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (share - (1 - p)) / se - limit

    ends = []
    for limit in (t, -t):
        try:
            root = zeroin(lambda theta: score(theta, limit), lower, upper, tol)
        except RootError:
            ends.append(np.nan)
            continue
        ends.append(weighted_quantile(x, w, np.mean(x <= root), qrule))
    return ends[0], ends[1]


def replicate_interval(x, W, q, p, qrule, design, df, level) -> tuple[float, float]:
    """``q +- t sqrt(v)``, ``v`` the replicate variance (R's ``svrVar``) of the
    quantile recomputed with each column of the replicate weights ``W``
    (units × replicates, zero outside the domain)."""
    order = np.argsort(x, kind="stable")
    xs = x[order]
    reps = np.empty(W.shape[1])
    for b in range(W.shape[1]):
        wb = W[order, b]
        keep = wb != 0
        reps[b] = sorted_quantile(xs[keep], wb[keep], p, qrule)
    v = replicate_covariance(
        np.array([q]), reps[:, None], design.scale, np.asarray(design.rscales), bool(design.mse)
    )
    half = float(cimod.t_quantile(level, df)) * np.sqrt(float(np.squeeze(v)))
    return q - half, q + half
