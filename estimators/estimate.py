"""Point estimates, standard errors and confidence intervals on a design.

Every estimator here is a smooth function of weighted domain totals: a
*total* ``T_g(y) = sum_i w_i 1[i in g] y_i`` or a *ratio* ``T_g(y) / T_g(x)``
(a mean has ``x = 1``, a proportion has a 0/1 ``y``). A domain ``g`` is the
intersection of a ``--by`` domain, the item's base (answered, routed, a
conditional base such as "among firms with a trainee now") and ``--where``;
rows outside it stay in the design with a zero indicator, never dropped.

Variance
    *Replicates* apply the same function to each replicate's totals (computed
    fused by ``Design.replicate_totals``) and combine them with R's
    ``svrVar`` rule (``estimators.variance.replicate_covariance``).
    *Linearization* uses the influence values of the delta method,
    ``z_i = 1[i in g] (y_i - theta x_i) / T_g(x)`` for a ratio and
    ``z_i = 1[i in g] y_i`` for a total (Woodruff 1971), in
    ``estimators.variance.linearization_covariance`` (which accounts for
    strata, PSUs, fpc and calibration). The two share one code path, so
    domains, ratios and differences are treated alike. Every row enters
    every replicate estimate, rows of take-all and certainty strata too: R
    leaves those out by default (``options(survey.drop.replicates = TRUE)``),
    which is exact only while their replicate weights equal the full-sample
    weights, no longer after re-calibration; kalib equals R with the option
    set to ``FALSE``.

Degrees of freedom
    Linearization: R's ``degf(subset(design, ...))``, the PSUs minus the
    strata that hold at least one unit of the domain. Replicates: the
    design's ``degf`` (its stored rule) in every domain. R's ``subset`` of a
    replicate design instead takes the rank of the domain's replicate weights
    minus one, which after re-calibration is about the number of replicates
    minus one, more than the design's (31 against 27 for a re-raked JKn with
    32 PSUs in 5 strata); kalib keeps the design's. The Korn–Graubard and
    Wilson intervals use the domain's unweighted size in their ``t_{n-1}``
    factor, as ``svyciprop`` on a subset of an uncalibrated design (R keeps
    every row in a subset of a calibrated design and so uses the whole sample
    size there).

Design effects
    ``deff = Var / Var_srs`` with ``Var_srs`` the without-replacement simple
    random sampling variance of the same estimator in the domain, as R's
    ``svymean(..., deff = TRUE)``: ``s^2 (N - n) / (N n)`` with ``s^2`` the
    weighted variance (divisor ``n - 1``) of the residual ``y - theta x``
    divided by the mean of x squared; ``deft = sqrt(deff)``; Kish's weighting
    effect ``n sum w^2 / (sum w)^2`` (Kish 1965).

References
----------
Woodruff, R. S. (1971). A simple method for approximating the variance of a
complicated estimate. JASA 66, 411-414.
Kish, L. (1965). Survey Sampling. Wiley.
Lumley, T. (2010). Complex Surveys. Wiley (R package ``survey``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from estimators import ci as cimod
from estimators.domains import (ALL, Chosen, Condition, NotMissing, domain_codes,
                                text_column)
from estimators.results import Results, reliability_flags
from estimators.variance import linearization_covariance, replicate_covariance
from weighting.columns import canonical
from weighting.errors import KalibError


@dataclass
class Item:
    """One estimand: ``sum w num / sum w den`` over ``base`` (den None: total).

    ``kind`` is ``proportion``, ``mean``, ``ratio`` or ``total``; ``rate``
    the catalog id (if any); ``published`` maps ``(domain_var, domain)`` to a
    published fraction for reconciliation.
    """

    variable: str
    num: np.ndarray
    den: np.ndarray | None
    base: np.ndarray
    kind: str
    rate: str | None = None
    published: dict = field(default_factory=dict)


def _numeric(design, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Numeric column ``name`` with missing as 0 and its non-missing mask."""
    if name not in design.data:
        raise KalibError(f"column {name!r} is not in the data")
    values = pd.to_numeric(pd.Series(design.data[name]).reset_index(drop=True),
                           errors="coerce")
    raw = pd.Series(design.data[name]).reset_index(drop=True)
    bad = values.isna() & raw.notna() & (raw.astype(object) != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise KalibError(f"variable {name!r} is not numeric: {raw.iloc[row]!r} at row {row}")
    present = values.notna().to_numpy()
    return values.fillna(0).to_numpy(np.float64), present


def mean_items(design, variables) -> list[Item]:
    items = []
    for name in variables:
        y, present = _numeric(design, name)
        items.append(Item(name, y, np.ones(design.n), present, "mean"))
    return items


def total_items(design, variables) -> list[Item]:
    items = []
    for name in variables:
        y, present = _numeric(design, name)
        items.append(Item(name, y, None, present, "total"))
    return items


def ratio_item(design, numerator: str, denominator: str) -> Item:
    y, py = _numeric(design, numerator)
    x, px = _numeric(design, denominator)
    return Item(f"{numerator}/{denominator}", y, x, py & px, "ratio")


def proportion_item(design, variable: str, value) -> Item:
    """Share of units answering ``variable`` whose value equals ``value``
    (compared as canonical text); the base is the units that answered."""
    text = text_column(design.data, variable)
    hit = (text == canonical(value)).to_numpy(np.float64)
    return Item(f"{variable}={canonical(value)}", hit, np.ones(design.n),
                text.notna().to_numpy(), "proportion")


def distribution_items(design, variable: str) -> list[Item]:
    """The whole distribution of a single-choice question (one share per
    category, in sorted order), on the units that answered."""
    text = text_column(design.data, variable)
    categories = sorted(set(text.dropna()))
    return [proportion_item(design, variable, c) for c in categories]


def multi_response_items(design, question: str, options=None) -> list[Item]:
    """Share choosing each option of a multiple-response question (columns
    ``question.option``); the base is the units asked (any option answered)."""
    prefix = f"{question}."
    columns = [c for c in design.data.columns if c.startswith(prefix)] \
        if options is None else [prefix + o for o in options]
    if not columns:
        raise KalibError(f"no option columns '{prefix}*' in the data")
    asked = np.zeros(design.n, dtype=bool)
    for c in columns:
        asked |= NotMissing(c).mask(design.data)
    return [Item(c, Chosen(question, c[len(prefix):]).mask(design.data).astype(float),
                 np.ones(design.n), asked, "proportion") for c in columns]


def rate_items(design, rates) -> list[Item]:
    """Items of catalog key rates (``estimators.catalog.KeyRate``)."""
    items = []
    for rate in rates:
        base = rate.base.mask(design.data)
        num = rate.numerator.mask(design.data).astype(np.float64)
        published = {key: p.fraction for key, p in rate.published_by.items()}
        if rate.published is not None:
            published[(ALL, ALL)] = rate.published.fraction
        items.append(Item(str(rate.numerator), num, np.ones(design.n), base,
                          "proportion", rate=rate.id, published=published))
    return items


# -- the engine ---------------------------------------------------------------------

def estimate_items(design, items, domains=(ALL,), where: Condition | None = None,
                   ci="logit", level=0.95) -> Results:
    """Estimate every item in every domain of every domain specification.

    Parameters
    ----------
    design : weighting.design.Design
        With replicates, replicate variance; otherwise linearization.
    items : list of Item
    domains : sequence of str
        ``"all"``, a column, or a cross ``"A*B"``.
    where : Condition, optional
        Subpopulation (still on the full design).
    ci : str
        Proportion CI method (``estimators.ci``); means, totals and ratios get
        ``estimate +- t_df se``.
    level : float
    """
    method = cimod.canonical_method(ci)
    if method == "percentile" and (design.replicates is None or design.method != "bootstrap"):
        raise KalibError("--ci percentile needs bootstrap replicates "
                         "(--variance bootstrap or a bootstrap replicate file)")
    restrict = np.ones(design.n, dtype=bool) if where is None else where.mask(design.data)
    frames = []
    for spec in domains:
        codes, labels = domain_codes(design.data, spec)
        frames.append(_estimate_spec(design, items, spec, codes, labels, restrict,
                                     method, level))
    frame = pd.concat(frames, ignore_index=True)
    attrs = {"variance": "linearization" if design.replicates is None else design.method,
             "replicates": int(design.B), "ci": method, "level": level,
             "mse": bool(design.mse) if design.replicates is not None else False,
             "calibrated": design.calibration is not None,
             "where": "" if where is None else str(where),
             "flag_rule": reliability_flags.__doc__.strip().splitlines()[0]}
    return Results(frame, attrs)


def _estimate_spec(design, items, spec, codes, labels, restrict, method, level):
    G, m = len(labels), len(items)
    w = design.weights
    masks, num, den, is_total, onehot, t_den, theta = _prepare(design, items, codes, G,
                                                              restrict)
    n_obs = onehot.T @ masks
    wbase = onehot.T @ (w[:, None] * masks)
    empty = n_obs == 0

    reps = var_logit = None
    if design.replicates is None:
        var = _linearized(design, num, den, onehot, theta, t_den, is_total, empty)
        df = _domain_df(design, masks, codes, G)
    else:
        reps = _replicate_estimates(design, num, den, codes, G, is_total)
        var = _replicate_variance(design, theta, reps, empty)
        var_logit = _replicate_variance(design, _logit(theta), _logit(reps), empty)
        df = np.full((G, m), float(design.degf))
    se = np.sqrt(var)

    proportion = np.array([it.kind == "proportion" for it in items])
    low, high = cimod.wald_ci(theta, se, df, level)
    if proportion.any():
        se_logit = None
        if var_logit is not None:
            # a replicate with p_b = 0 or 1 has no logit: delta method there
            with np.errstate(divide="ignore", invalid="ignore"):
                se_logit = np.where(np.isfinite(var_logit), np.sqrt(var_logit),
                                    se / (theta * (1 - theta)))
        p_low, p_high = cimod.proportion_ci(
            theta, se, method=method, df=df, level=level, n=n_obs,
            se_logit=se_logit, replicates=reps)
        low = np.where(proportion, p_low, low)
        high = np.where(proportion, p_high, high)

    # an empty domain has no estimate and no interval (flagged "empty")
    low, high = np.where(empty, np.nan, low), np.where(empty, np.nan, high)
    deff = _deff(w, num, den, masks, onehot, theta, t_den, wbase, n_obs, is_total, var)
    kish = _kish(w, masks, onehot, n_obs)
    unweighted = _unweighted(num, den, masks, onehot, is_total)
    # built in one go: inserting columns one by one costs more than the estimates
    columns = {
        "rate": [it.rate for _ in labels for it in items],
        "variable": [it.variable for _ in labels for it in items],
        "kind": [it.kind for _ in labels for it in items],
        "domain_var": [spec] * (G * m),
        "domain": [label for label in labels for _ in items]}
    for name, values in (("n", n_obs), ("weighted_base", wbase), ("estimate", theta),
                         ("se", se), ("ci_low", low), ("ci_high", high), ("deff", deff),
                         ("deff_kish", kish), ("df", df), ("unweighted", unweighted)):
        columns[name] = np.asarray(values, dtype=np.float64).reshape(-1)
    columns["n"] = columns["n"].astype(np.int64)
    columns["deft"] = np.sqrt(columns["deff"])
    columns["published"] = [it.published.get((spec, label), np.nan)
                            for label in labels for it in items]
    frame = pd.DataFrame(columns)
    frame["flag"] = reliability_flags(frame)
    return frame


def _logit(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p / (1 - p))


def _prepare(design, items, codes, G, restrict):
    """Domain-masked numerators and denominators, and the full-sample estimates."""
    w = design.weights
    masks = np.stack([it.base & restrict for it in items], axis=1).astype(np.float64)
    num = np.stack([it.num for it in items], axis=1) * masks
    is_total = np.array([it.den is None for it in items])
    den = np.stack([masks[:, j] if it.den is None else it.den * masks[:, j]
                    for j, it in enumerate(items)], axis=1)
    onehot = np.zeros((design.n, G))
    onehot[np.arange(design.n), codes] = 1.0
    t_num = onehot.T @ (w[:, None] * num)
    t_den = onehot.T @ (w[:, None] * den)
    with np.errstate(divide="ignore", invalid="ignore"):
        theta = np.where(is_total, t_num, t_num / t_den)
    return masks, num, den, is_total, onehot, t_den, theta


def _influence(num, den, onehot, theta, t_den, is_total):
    """Influence values (n, G*m) of the domain totals/ratios: rows outside
    domain g contribute zero."""
    n, m = num.shape
    G = onehot.shape[1]
    safe = np.where(t_den == 0, 1.0, t_den)
    th = np.where(np.isfinite(theta), theta, 0.0)
    z = np.where(is_total, num[:, None, :],
                 (num[:, None, :] - th[None, :, :] * den[:, None, :]) / safe[None, :, :])
    return (z * onehot[:, :, None]).reshape(n, G * m)


def _replicate_estimates(design, num, den, codes, G, is_total):
    """(B, G, m) estimates from each replicate's totals."""
    m = num.shape[1]
    R = design.replicate_totals(np.hstack([num, den]), codes, G)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(is_total, R[:, :, :m], R[:, :, :m] / R[:, :, m:])


def _linearized(design, num, den, onehot, theta, t_den, is_total, empty):
    """Delta-method variances of theta (G, m)."""
    G, m = theta.shape
    cov = linearization_covariance(design, _influence(num, den, onehot, theta, t_den,
                                                      is_total))
    var = np.diag(cov).reshape(G, m).copy()
    var[empty] = np.nan
    return var


def domain_covariance(design, items, spec, restrict=None):
    """Estimates and their full covariance across domains and items, for
    comparisons: returns ``theta (G, m)``, ``cov (G m, G m)``, the domain
    labels and the replicate estimates ``(B, G, m)`` (None for linearization).
    """
    codes, labels = domain_codes(design.data, spec)
    restrict = np.ones(design.n, bool) if restrict is None else restrict
    G = len(labels)
    masks, num, den, is_total, onehot, t_den, theta = _prepare(design, items, codes, G,
                                                              restrict)
    if design.replicates is not None:
        reps = _replicate_estimates(design, num, den, codes, G, is_total)
        _require_finite(reps, labels, items)
        cov = replicate_covariance(theta.reshape(-1), reps.reshape(reps.shape[0], -1),
                                   design.scale, design.rscales, design.mse)
        return theta, cov, labels, reps
    z = _influence(num, den, onehot, theta, t_den, is_total)
    return theta, linearization_covariance(design, z), labels, None


def _require_finite(reps, labels, items):
    bad = ~np.isfinite(reps).all(axis=0)
    if bad.any():
        g, j = np.argwhere(bad)[0]
        raise KalibError(f"domain {labels[g]!r} of {items[j].variable!r} is empty in "
                         f"{int((~np.isfinite(reps[:, g, j])).sum())} replicate(s)")


def _replicate_variance(design, theta, reps, empty):
    """Replicate variance per (g, j); NaN (flagged) where a replicate estimate
    is undefined (the domain is empty in that replicate)."""
    G, m = theta.shape
    flat_t = theta.reshape(-1)
    flat_r = reps.reshape(reps.shape[0], -1)
    ok = np.isfinite(flat_r).all(axis=0) & np.isfinite(flat_t) & ~empty.reshape(-1)
    var = np.full(G * m, np.nan)
    if ok.any():
        # diagonal of R's svrVar, column by column
        for start in range(0, int(ok.sum()), 256):
            idx = np.flatnonzero(ok)[start:start + 256]
            cov = replicate_covariance(flat_t[idx], flat_r[:, idx], design.scale,
                                       design.rscales, design.mse)
            var[idx] = np.diag(cov)
    return var.reshape(G, m)


def _domain_df(design, masks, codes, G):
    """R's degf of each domain's subset: PSUs minus strata holding a unit."""
    n, m = masks.shape
    df = np.empty((G, m))
    for g in range(G):
        in_g = codes == g
        for j in range(m):
            rows = in_g & (masks[:, j] > 0)
            df[g, j] = (np.unique(design.psu[rows]).size
                        - np.unique(design.strata[rows]).size)
    return df


def _deff(w, num, den, masks, onehot, theta, t_den, wbase, n_obs, is_total, var):
    """R's design effect against SRS without replacement in the domain."""
    th = np.where(np.isfinite(theta), theta, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ybar = (onehot.T @ (w[:, None] * num)) / wbase      # domain mean of y
        centre = np.where(is_total, ybar, th)
        # residual e = y - centre * x (x = 1 for totals and means)
        x = np.where(is_total, masks, den)
        e2 = (num[:, None, :] - centre[None] * x[:, None, :]) ** 2 * onehot[:, :, None]
        s2 = np.einsum("i,igj->gj", w, e2) / wbase * n_obs / (n_obs - 1)
        xbar = t_den / wbase
        fpc = np.where(wbase > n_obs, (wbase - n_obs) / (wbase * n_obs), 1 / n_obs)
        vsrs = np.where(is_total, s2 * wbase**2 * fpc, s2 * fpc / xbar**2)
        return var / vsrs


def _kish(w, masks, onehot, n_obs):
    with np.errstate(divide="ignore", invalid="ignore"):
        s1 = onehot.T @ (w[:, None] * masks)
        s2 = onehot.T @ (w[:, None] ** 2 * masks)
        return n_obs * s2 / s1**2


def _unweighted(num, den, masks, onehot, is_total):
    with np.errstate(divide="ignore", invalid="ignore"):
        u_num, u_den = onehot.T @ num, onehot.T @ den
        return np.where(is_total, u_num, u_num / u_den)


# -- convenience front ends ---------------------------------------------------------

def estimate_rates(design, rates, domains=(ALL,), ci="logit", level=0.95,
                   where=None) -> Results:
    """Catalog key rates by domain (see ``estimators.catalog``)."""
    return estimate_items(design, rate_items(design, rates), domains, where, ci, level)


def svymean(design, variables, by=(ALL,), where=None, level=0.95) -> Results:
    """Means of numeric variables (R ``svymean`` / ``svyby``)."""
    return estimate_items(design, mean_items(design, _listify(variables)), by, where,
                          "logit", level)


def svytotal(design, variables, by=(ALL,), where=None, level=0.95) -> Results:
    """Totals of numeric variables (R ``svytotal``)."""
    return estimate_items(design, total_items(design, _listify(variables)), by, where,
                          "logit", level)


def svyratio(design, numerator, denominator, by=(ALL,), where=None, level=0.95):
    """Ratio of totals ``T(y) / T(x)`` (R ``svyratio``)."""
    return estimate_items(design, [ratio_item(design, numerator, denominator)], by,
                          where, "logit", level)


def svyprop(design, variable, value, by=(ALL,), where=None, ci="logit", level=0.95):
    """Proportion ``variable == value`` with a proportion CI (``svyciprop``)."""
    return estimate_items(design, [proportion_item(design, variable, value)], by,
                          where, ci, level)


def _listify(variables):
    return [variables] if isinstance(variables, str) else list(variables)


# -- quantiles ------------------------------------------------------------------------

def weighted_quantile(x, w, p) -> float:
    """R ``survey``'s ``qrule = "math"``: the smallest x whose weighted CDF is at
    least p (the lower value only where the CDF hits p exactly). Zero weights
    are ignored; cumulative sums are accumulated in extended precision as R's
    ``cumsum`` does, so ties at p resolve the same way."""
    keep = w != 0
    x, w = x[keep], w[keep]
    order = np.argsort(x, kind="stable")
    x = x[order]
    cum = np.cumsum(w[order].astype(np.longdouble))
    total = float(cum[-1])
    cumw = cum.astype(np.float64)
    below = np.flatnonzero(cumw <= p * total)
    pos = below[-1] if below.size else 0
    if p - cumw[pos] / total == 0:
        return float(x[pos])
    return float(x[min(pos + 1, x.size - 1)])


def svyquantile(design, variable, probs, by=(ALL,), where=None, level=0.95):
    """Quantiles with Woodruff intervals (R ``svyquantile(qrule = "math")``).

    The interval inverts a Wald interval (t on the domain's df) for the
    estimated CDF at the quantile, ``F(q_p) = p``, through the same quantile
    rule; ``se = (high - low) / (2 t_df)`` (Woodruff 1952). With replicates
    the df is the design's (module docstring), as R's ``svyquantile(...,
    df = degf(design))``; R's default takes the df of the design after
    ``na.rm`` drops rows, the rank rule of its ``subset``.

    Returns a DataFrame with ``variable, domain_var, domain, p, n, estimate,
    se, ci_low, ci_high, df``.
    """
    y, present = _numeric(design, variable)
    restrict = present if where is None else present & where.mask(design.data)
    rows = []
    for spec in by:
        codes, labels = domain_codes(design.data, spec)
        for g, label in enumerate(labels):
            in_g = restrict & (codes == g)
            if not in_g.any():
                raise KalibError(f"domain {label!r} of {spec!r} has no {variable!r} values")
            w = np.where(in_g, design.weights, 0.0)
            for p in np.atleast_1d(probs):
                q = weighted_quantile(y, w, float(p))
                below = Item(f"{variable}<=q", (y <= q).astype(float), np.ones(design.n),
                             in_g, "proportion")
                f = estimate_items(design, [below], (ALL,), ci="wald", level=level).frame
                low_p, high_p = f.loc[0, "ci_low"], f.loc[0, "ci_high"]
                df = f.loc[0, "df"]
                low = weighted_quantile(y, w, low_p) if low_p >= 0 else np.nan
                high = weighted_quantile(y, w, high_p) if high_p <= 1 else np.nan
                se = (high - low) / (2 * cimod.t_quantile(level, df))
                rows.append((variable, spec, label, float(p), int(in_g.sum()), q, se,
                             low, high, df))
    return pd.DataFrame(rows, columns=["variable", "domain_var", "domain", "p", "n",
                                       "estimate", "se", "ci_low", "ci_high", "df"])
