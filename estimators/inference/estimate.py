"""Point estimates, standard errors and confidence intervals on a design.

Every estimator here is a smooth function of weighted domain totals: a
*total* ``T_g(y) = sum_i w_i 1[i in g] y_i`` or a *ratio* ``T_g(y) / T_g(x)``
(a mean has ``x = 1``, a proportion has a 0/1 ``y``). A domain ``g`` is the
intersection of a ``--by`` domain, the item's base (answered, routed, a
conditional base such as "among firms with a trainee now") and ``--where``;
rows outside it stay in the design with a zero indicator, never dropped.

Variance
    *Replicates* apply the same function to each replicate's totals (computed
    fused by ``Design.replicate_totals``, in one pass over the rows for all
    domain specifications: on their joint groups, then summed into each
    specification's domains) and combine them with R's ``svrVar`` rule
    (``estimators.inference.variance.replicate_covariance``).
    *Linearization* uses the influence values of the delta method,
    ``z_i = 1[i in g] (y_i - theta x_i) / T_g(x)`` for a ratio and
    ``z_i = 1[i in g] y_i`` for a total (Woodruff 1971), in
    ``estimators.inference.variance.linearization_covariance`` (which accounts for
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
    ``svymean(..., deff = TRUE)``: ``s^2 (N - n) / (N n)`` with n the
    domain's units, N its weight total, ``s^2`` the weighted variance
    (divisor ``n - 1``) of the residual ``y - theta x`` divided by the mean
    of x squared (times ``N^2`` for a total). ``deff = "replace"`` takes the
    with-replacement variance ``s^2 / n`` instead (R's ``deff =
    "replace"``; it is ``deff`` times ``1 - n/N``). The reference stays the
    one asked for when the weights sum to n or less (unit or normalised
    weights): ``N - n`` is then 0 or negative, and so is the reference
    variance, and deff is Inf (or negative), as R gives it; kalib does not
    switch to the with-replacement reference. ``deft = sqrt(deff)`` (NaN
    for a negative deff); Kish's weighting effect ``n sum w^2 / (sum w)^2``
    (Kish 1965).

References
----------
Woodruff, R. S. (1971). A simple method for approximating the variance of a
complicated estimate. JASA 66, 411-414.
Kish, L. (1965). Survey Sampling. Wiley.
Lumley, T. (2010). Complex Surveys. Wiley (R package ``survey``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np

from estimators._threads import thread_limits
from estimators.inference import ci as cimod
from estimators.inference import quantiles as Q
from estimators.inference.domains import (
    ALL,
    Chosen,
    Condition,
    NotMissing,
    category_hits,
    combinations,
    denoted,
    domain_codes,
    text_column,
)
from estimators.inference.quantiles import QuantileError, weighted_quantile
from estimators.inference.results import FLAG_RULE, Results, flags_of
from estimators.inference.variance import (
    domain_variances,
    linearization_covariance,
    replicate_covariance,
)
from weighting.columns import canonical, dense_range, numeric
from weighting.errors import KalibError, MissingValueError


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
    """Numeric column ``name`` with missing as 0 and its non-missing mask
    (``weighting.columns.numeric``: None, NaN, NA and "" are missing).

    An infinite value is an error naming the column and its first row: R's
    ``svymean`` would return ``Inf`` or ``NaN`` with a NaN SE, and the
    variance step would fail later without naming the variable.
    """
    if name not in design.data:
        raise KalibError(f"column {name!r} is not in the data")
    values = numeric(design.data[name], f"variable {name!r}")
    infinite = np.flatnonzero(np.isinf(values))
    if infinite.size:
        first = int(infinite[0])
        raise MissingValueError(
            f"variable {name!r} has {infinite.size} infinite value(s) (first at row "
            f"{first + 1}: {float(values[first])}); leave the cell empty for a missing answer",
            row=first,
        )
    present = ~np.isnan(values)
    return np.where(present, values, 0.0), present


def mean_items(design, variables) -> list[Item]:
    items, ones = [], np.ones(design.n)
    for name in variables:
        y, present = _numeric(design, name)
        items.append(Item(name, y, ones, present, "mean"))
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


def proportion_item(design, variable: str, value, categories=()) -> Item:
    """Share of units answering ``variable`` whose value is ``value``; the
    base is the units that answered.

    Values are compared by the one rule of categories
    (:func:`~estimators.inference.domains.denoted`: canonical text, so ``1``
    and ``1.0`` are one category; a boolean column compared as booleans, so
    ``1`` and ``True`` both mean True). A ``value`` that occurs nowhere in the
    column and is not one of ``categories`` (the codebook's, which a sample
    may lack) is a :class:`~estimators.inference.domains.CategoryError`
    listing the column's categories: a share of 0 with an interval [0, 0]
    would answer a misspelt question.
    """
    codes, texts, hit = category_hits(
        design.data,
        variable,
        [value],
        known=categories,
        what=f"proportion {variable}={canonical(value)}: ",
    )
    return Item(
        f"{variable}={denoted(texts, value)}",
        hit[codes].astype(np.float64),
        np.ones(design.n),
        codes >= 0,
        "proportion",
    )


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
    columns = (
        [c for c in design.data.columns if c.startswith(prefix)]
        if options is None
        else [prefix + o for o in options]
    )
    if not columns:
        raise KalibError(f"no option columns '{prefix}*' in the data")
    asked = np.zeros(design.n, dtype=bool)
    for c in columns:
        asked |= NotMissing(c).mask(design.data)
    return [
        Item(
            c,
            Chosen(question, c[len(prefix) :]).mask(design.data).astype(float),
            np.ones(design.n),
            asked,
            "proportion",
        )
        for c in columns
    ]


def rate_items(design, rates) -> list[Item]:
    """Items of catalog key rates (:class:`estimators.inference.catalog.KeyRate`)."""
    items = []
    for rate in rates:
        base = rate.base.mask(design.data)
        # a mean rate's published value is the mean itself, not a percentage
        value = (lambda p: p.fraction) if rate.mean_of is None else (lambda p: p.percent)
        published = {key: value(p) for key, p in rate.published_by.items()}
        if rate.published is not None:
            published[(ALL, ALL)] = value(rate.published)
        if rate.mean_of is not None:
            y, present = _numeric(design, rate.mean_of)
            items.append(
                Item(
                    rate.mean_of,
                    y,
                    np.ones(design.n),
                    base & present,
                    "mean",
                    rate=rate.id,
                    published=published,
                )
            )
            continue
        num = rate.numerator.mask(design.data).astype(np.float64)
        items.append(
            Item(
                str(rate.numerator),
                num,
                np.ones(design.n),
                base,
                "proportion",
                rate=rate.id,
                published=published,
            )
        )
    return items


# -- the engine ---------------------------------------------------------------------

# The replicate totals of every domain specification come from one pass over the
# rows, on the joint groups (the combinations present of all specifications'
# domains), while their (B, J, k) array holds at most this many doubles (128 MiB)
# or is no larger than the finest specification's; beyond that, one pass per
# specification.
JOINT_TOTALS_LIMIT = 2**24

# Up to this many row-replicates (n B) the fused replicate totals run on one
# OpenMP thread: at most about 1.5 ms of work (n = 2e3, B = 500; 0.8 ms at
# n = 1e3), of which a second thread could save half, while waking it and
# waiting for it at the end of the parallel region cost about that much when
# the machine is idle and 5 to 10 ms when the other core is busy (measured
# at n = 1e3: a quarter of the analyst-path calls). The kernel gives each
# replicate to one thread, so its bits do not depend on the count.
SERIAL_TOTALS = 2**20


def estimate_items(
    design,
    items,
    domains=(ALL,),
    where: Condition | None = None,
    ci="logit",
    level=0.95,
    deff=True,
) -> Results:
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
        Proportion CI method (``estimators.inference.ci``); means, totals and ratios get
        ``estimate +- t_df se``.
    level : float
    deff : True or "replace"
        The design effect's reference: simple random sampling without
        replacement (R's ``deff = TRUE``) or with replacement (R's ``deff =
        "replace"``); see the module docstring.

    A ratio whose denominator total is 0 in a domain with units (R's
    ``svyratio`` gives Inf or NaN there) gets its value (inf or NaN), no
    standard error, interval or deff, and the flag ``undefined``.
    """
    if deff is not True and deff != "replace":
        raise KalibError(f"deff must be True (without replacement) or 'replace', not {deff!r}")
    method = cimod.canonical_method(ci)
    if method == "percentile" and (design.replicates is None or design.method != "bootstrap"):
        raise KalibError(
            "--ci percentile needs bootstrap replicates "
            "(--variance bootstrap or a bootstrap replicate file)"
        )
    if isinstance(domains, str):
        domains = [domains]
    if not len(domains):
        raise KalibError("no domain to estimate in: give 'all' (the default) or a column")
    restrict = np.ones(design.n, dtype=bool) if where is None else where.mask(design.data)
    coded = [domain_codes(design.data, spec) for spec in domains]
    columns = _Columns(design, items, restrict)
    sums = _DomainSums(
        design, [codes for codes, _ in coded], [len(labels) for _, labels in coded], columns
    )
    with _replicate_threads(design):
        reps = sums.replicate_totals() if design.replicates is not None else [None] * len(coded)
        out = _estimate(
            design, items, domains, coded, columns, sums, reps, method, level, deff == "replace"
        )
    # flagged on the arrays, before the frame is made (once, at the end):
    # reading a frame's columns back costs more than the rule
    proportion = np.array([kind == "proportion" for kind in out["kind"]], dtype=bool)
    flags = flags_of(out["n"], out["estimate"], out["se"], out["df"], proportion)
    # a ratio over a zero total: nothing to flag as reliable or not
    undefined = (out["n"] > 0) & ~np.isfinite(out["estimate"])
    out["flag"] = np.where(undefined, "undefined", flags).astype(object)
    attrs = {
        "variance": "linearization" if design.replicates is None else design.method,
        "replicates": int(design.B),
        "ci": method,
        "level": level,
        "mse": bool(design.mse) if design.replicates is not None else False,
        "calibrated": design.calibration is not None,
        "where": "" if where is None else str(where),
        "deff": "replace" if deff == "replace" else "wor",
        "flag_rule": FLAG_RULE,
    }
    return Results.of_columns(out, attrs)


def _replicate_threads(design):
    """A ``with`` context for a replicate design's totals and variances: one
    BLAS thread (the variances' products sum in one order, as on the command
    line) and, up to ``SERIAL_TOTALS`` row-replicates, one OpenMP thread for
    the kernel (``estimators._threads``)."""
    if design.replicates is None:
        return contextlib.nullcontext()
    return thread_limits(blas=1, openmp=1 if design.n * design.B <= SERIAL_TOTALS else None)


class _Columns:
    """The items' columns on the rows of their domain-free base.

    For item j: ``mask`` (1 in its base and ``--where``), ``num = y mask`` and
    ``den = x mask`` (``mask`` for a total), each stored once in ``distinct``:
    ``mask[j]``, ``num[j]`` and ``den[j]`` index it, so that items sharing a
    base, and a mean's denominator (its base), are summed once.
    """

    def __init__(self, design, items, restrict):
        masks, mask_index = _distinct([it.base & restrict for it in items])
        everyone = [bool(mask.all()) for mask in masks]
        masks = [mask.astype(np.float64) for mask in masks]
        # a denominator of ones (means, proportions) is the mask itself
        ones = {}
        for it in items:
            if it.den is not None and id(it.den) not in ones:
                ones[id(it.den)] = bool(np.all(it.den == 1))
        # a mask of ones leaves y as it is: no product (each new array of n
        # numbers costs more in page faults than in arithmetic)
        nums = [
            np.asarray(it.num, dtype=np.float64) if everyone[k] else it.num * masks[k]
            for it, k in zip(items, mask_index)
        ]
        dens = [
            masks[k] if it.den is None or ones[id(it.den)] else it.den * masks[k]
            for it, k in zip(items, mask_index)
        ]
        self.distinct, index = _distinct([masks[k] for k in mask_index] + nums + dens)
        m = len(items)
        self.mask, self.num, self.den = index[:m], index[m : 2 * m], index[2 * m :]
        self.is_total = np.array([it.den is None for it in items], dtype=bool)

    def x(self, j):
        """The column a residual ``num - theta x`` of item j centres on."""
        return self.distinct[self.mask[j] if self.is_total[j] else self.den[j]]


def _distinct(columns):
    """The distinct arrays of ``columns`` and, per column, its index among them.

    The same object is the same column; otherwise only columns with equal
    sums are compared element by element, so the cost is about O(n k)."""
    distinct, index, by_id, by_sum = [], [], {}, {}
    for column in columns:
        match = by_id.get(id(column))
        if match is None:
            bucket = by_sum.setdefault(float(np.sum(column)), [])
            match = next((k for k in bucket if np.array_equal(distinct[k], column)), None)
            if match is None:
                match = len(distinct)
                distinct.append(column)
                bucket.append(match)
            by_id[id(column)] = match
        index.append(match)
    return distinct, np.array(index, dtype=np.int64)


class _DomainSums:
    """Domain sums of several domain specifications, from one pass over the rows.

    The rows' codes of every specification are crossed into joint groups (the
    combinations present); a sum over a specification's domain is the sum of
    its joint groups' sums. ``full[s]`` holds specification s's domain sums
    ``(3, G_s, u)`` of the distinct columns ``c``, of ``w c`` and of ``w^2 c``
    (the last for the masks only, zero elsewhere).
    """

    def __init__(self, design, codes, sizes, columns):
        self.design, self.codes, self.sizes, self.columns = design, codes, sizes, columns
        self.joint, combos = combinations(codes, sizes)
        self.J = len(combos)
        self._segments = []
        for s, size in enumerate(sizes):
            order = np.argsort(combos[:, s], kind="stable")
            starts = np.searchsorted(combos[order, s], np.arange(size))
            self._segments.append((order, starts))
        w = design.weights
        joint = np.zeros((3, self.J, len(columns.distinct)))
        weighted = np.empty(design.n)
        for k, column in enumerate(columns.distinct):
            joint[0, :, k] = np.bincount(self.joint, column, minlength=self.J)
            joint[1, :, k] = np.bincount(
                self.joint, np.multiply(w, column, out=weighted), minlength=self.J
            )
            if k in columns.mask:
                joint[2, :, k] = np.bincount(
                    self.joint, np.multiply(w, weighted, out=weighted), minlength=self.J
                )
        self.full = [self._reduce(s, joint, axis=1) for s in range(len(codes))]

    def _reduce(self, s, joint_sums, axis):
        """Sum the joint groups (along ``axis``) into specification s's domains."""
        order, starts = self._segments[s]
        return np.add.reduceat(np.take(joint_sums, order, axis=axis), starts, axis=axis)

    def replicate_totals(self):
        """Per specification, the replicate totals ``(B, G_s, m)`` of the items'
        numerators and denominators, from one ``Design.replicate_totals`` call
        on the distinct columns (one per specification beyond
        ``JOINT_TOTALS_LIMIT``)."""
        cols = self.columns
        used = np.unique(np.concatenate([cols.num, cols.den]))
        position = np.zeros(len(cols.distinct), dtype=np.int64)
        position[used] = np.arange(used.size)
        values = np.column_stack([cols.distinct[k] for k in used])
        if self.design.B * self.J * used.size <= JOINT_TOTALS_LIMIT or self.J <= max(self.sizes):
            joint = self.design.replicate_totals(values, self.joint, self.J)
            totals = [self._reduce(s, joint, axis=1) for s in range(len(self.codes))]
        else:
            totals = [
                self.design.replicate_totals(values, codes, size)
                for codes, size in zip(self.codes, self.sizes)
            ]
        return [(R[:, :, position[cols.num]], R[:, :, position[cols.den]]) for R in totals]


def _ratios(is_total, num, den):
    """A total's ``num``, a ratio's ``num / den``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(is_total, num, num / den)


def _estimate(design, items, domains, coded, columns, sums, reps, method, level, replace):
    """The result columns (arrays and lists of all rows) of every domain
    specification.

    The domains of all specifications are stacked, (sum of G_s, m), so that
    everything done row by row (ratios, intervals and their quantiles, Kish's
    effect) is done once per call, whatever the number of specifications;
    what needs a specification's domain codes (linearization, df, deff) and
    the replicate variance (R's ``svrVar`` on each specification's estimates,
    so that the numbers are those of one specification at a time) run per
    specification.
    """
    m = len(items)
    sizes = [len(labels) for _, labels in coded]
    spans = [slice(a, b) for a, b in zip(np.cumsum([0] + sizes[:-1]), np.cumsum(sizes))]
    full = np.concatenate(sums.full, axis=1)  # (3, sum G_s, u)
    is_total = columns.is_total
    n_obs, wbase = full[0][:, columns.mask], full[1][:, columns.mask]
    t_num, t_den = full[1][:, columns.num], full[1][:, columns.den]
    theta = _ratios(is_total, t_num, t_den)
    empty = n_obs == 0

    def by_spec(function):
        return np.concatenate([function(s, span) for s, span in enumerate(spans)])

    theta_reps = None
    if design.replicates is None:
        var = by_spec(
            lambda s, span: _linearized(
                design, columns, coded[s][0], sizes[s], theta[span], t_den[span], empty[span]
            )
        )
        df = by_spec(lambda s, span: _domain_df(design, columns, coded[s][0], sizes[s]))
    else:
        theta_reps = np.concatenate([_ratios(is_total, *r) for r in reps], axis=1)
        var = by_spec(
            lambda s, span: _replicate_variance(
                design, theta[span], theta_reps[:, span], empty[span]
            )
        )
        df = np.full(theta.shape, float(design.degf))
    # a ratio over a zero total (units in the domain, x = 0 in all): R's Inf or
    # NaN estimate, and no variance (linearization's residuals would give one)
    var = np.where(~empty & ~is_total & (t_den == 0), np.nan, var)
    se = np.sqrt(var)

    proportion = np.array([it.kind == "proportion" for it in items])
    low, high = cimod.wald_ci(theta, se, df, level)
    if proportion.any():
        se_logit = None
        if theta_reps is not None:
            logit_reps = _logit(theta_reps)
            var_logit = by_spec(
                lambda s, span: _replicate_variance(
                    design, _logit(theta[span]), logit_reps[:, span], empty[span]
                )
            )
            # a replicate with p_b = 0 or 1 has no logit: delta method there
            with np.errstate(divide="ignore", invalid="ignore"):
                se_logit = np.where(
                    np.isfinite(var_logit), np.sqrt(var_logit), se / (theta * (1 - theta))
                )
        p_low, p_high = cimod.proportion_ci(
            theta,
            se,
            method=method,
            df=df,
            level=level,
            n=n_obs,
            se_logit=se_logit,
            replicates=theta_reps,
        )
        low = np.where(proportion, p_low, low)
        high = np.where(proportion, p_high, high)

    # an empty domain has no estimate and no interval (flagged "empty")
    low, high = np.where(empty, np.nan, low), np.where(empty, np.nan, high)
    deff = by_spec(
        lambda s, span: _deff(
            design,
            columns,
            coded[s][0],
            theta[span],
            t_num[span],
            t_den[span],
            wbase[span],
            n_obs[span],
            var[span],
            replace,
        )
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        kish = n_obs * full[2][:, columns.mask] / wbase**2  # Kish's n sum w^2 / (sum w)^2
    unweighted = _ratios(is_total, full[0][:, columns.num], full[0][:, columns.den])
    rows = sum(sizes)
    out = {
        "rate": [it.rate for it in items] * rows,
        "variable": [it.variable for it in items] * rows,
        "kind": [it.kind for it in items] * rows,
        "domain_var": [spec for spec, G in zip(domains, sizes) for _ in range(G * m)],
        "domain": [label for _, labels in coded for label in labels for _ in items],
    }
    for name, values in (
        ("n", n_obs),
        ("weighted_base", wbase),
        ("estimate", theta),
        ("se", se),
        ("ci_low", low),
        ("ci_high", high),
        ("deff", deff),
        ("deff_kish", kish),
        ("df", df),
        ("unweighted", unweighted),
    ):
        out[name] = np.asarray(values, dtype=np.float64).reshape(-1)
    out["n"] = out["n"].astype(np.int64)
    with np.errstate(invalid="ignore"):  # R's deff is negative when sum w < n
        out["deft"] = np.sqrt(out["deff"])
    out["published"] = [
        it.published.get((spec, label), np.nan)
        for spec, (_, labels) in zip(domains, coded)
        for label in labels
        for it in items
    ]
    return out


def _logit(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(p / (1 - p))


def _influence(columns, codes, G, theta, t_den):
    """Influence values (n, G*m) of the domain totals/ratios: a row's values
    sit in its own domain's columns, zero in every other domain's."""
    n, m = codes.size, theta.shape[1]
    safe = np.where(t_den == 0, 1.0, t_den)
    th = np.where(np.isfinite(theta), theta, 0.0)
    z = np.zeros((n, G, m))
    rows = np.arange(n)
    for j in range(m):
        y = columns.distinct[columns.num[j]]
        if columns.is_total[j]:
            z[rows, codes, j] = y
        else:
            x = columns.distinct[columns.den[j]]
            z[rows, codes, j] = (y - th[codes, j] * x) / safe[codes, j]
    return z.reshape(n, G * m)


def _linearized(design, columns, codes, G, theta, t_den, empty):
    """Delta-method variances of theta (G, m), without their covariance."""
    th = np.where(np.isfinite(theta), theta, 0.0)
    e = np.empty((theta.shape[1], codes.size))  # item-major, as domain_variances works
    for j, row in enumerate(e):
        if columns.is_total[j]:
            row[:] = columns.distinct[columns.num[j]]
            continue
        # the residual about the row's own domain's ratio
        if G == 1:
            np.multiply(columns.distinct[columns.den[j]], th[0, j], out=row)
        else:
            np.take(th[:, j], codes, out=row, mode="clip")  # codes are valid
            row *= columns.distinct[columns.den[j]]
        np.subtract(columns.distinct[columns.num[j]], row, out=row)
    scale = np.where(columns.is_total, 1.0, 1.0 / np.where(t_den == 0, 1.0, t_den))
    # the rows of each item's base: R drops the others (na.rm, subset) from an
    # uncalibrated design, which changes the strata counted under
    # lonely_psu="average" and domain_lonely (domain_variances decides)
    present = np.stack([columns.distinct[k] > 0 for k in columns.mask], axis=1)
    var = domain_variances(design, codes, G, e.T, scale, present)
    var[empty] = np.nan
    return var


def domain_covariance(design, items, spec, restrict=None, present=None):
    """Estimates and their full covariance across domains and items, for
    comparisons: returns ``theta (G, m)``, ``cov (G m, G m)``, the domain
    labels and the replicate estimates ``(B, G, m)`` (None for linearization).

    ``present``: (n,) bool, the rows R's design keeps (svyglm drops rows with
    missing values); default every row, as R's ``svyby(covmat = TRUE)``.
    """
    codes, labels = domain_codes(design.data, spec)
    restrict = np.ones(design.n, bool) if restrict is None else restrict
    columns = _Columns(design, items, restrict)
    sums = _DomainSums(design, [codes], [len(labels)], columns)
    t_num, t_den = sums.full[0][1][:, columns.num], sums.full[0][1][:, columns.den]
    theta = _ratios(columns.is_total, t_num, t_den)
    if design.replicates is not None:
        reps = _ratios(columns.is_total, *sums.replicate_totals()[0])
        _require_finite(reps, labels, items)
        cov = replicate_covariance(
            theta.reshape(-1),
            reps.reshape(reps.shape[0], -1),
            design.scale,
            design.rscales,
            design.mse,
        )
        return theta, cov, labels, reps
    z = _influence(columns, codes, len(labels), theta, t_den)
    return theta, linearization_covariance(design, z, present), labels, None


def _require_finite(reps, labels, items):
    bad = ~np.isfinite(reps).all(axis=0)
    if bad.any():
        g, j = np.argwhere(bad)[0]
        raise KalibError(
            f"domain {labels[g]!r} of {items[j].variable!r} is empty in "
            f"{int((~np.isfinite(reps[:, g, j])).sum())} replicate(s)"
        )


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
            idx = np.flatnonzero(ok)[start : start + 256]
            cov = replicate_covariance(
                flat_t[idx], flat_r[:, idx], design.scale, design.rscales, design.mse
            )
            var[idx] = np.diag(cov)
    return var.reshape(G, m)


def _domain_df(design, columns, codes, G):
    """R's degf of each domain's subset: PSUs minus strata holding a unit."""
    df = {}
    for k in np.unique(columns.mask):  # items sharing a base share their df
        rows = columns.distinct[k] > 0
        # every PSU one row: a domain's PSUs are its rows, no search for repeats
        psus = (
            np.bincount(codes[rows], minlength=G)
            if design.n_psus == design.n
            else _distinct_per_domain(codes[rows], design.psu[rows], G)
        )
        df[k] = psus - _distinct_per_domain(codes[rows], design.strata[rows], G)
    return np.column_stack([df[k] for k in columns.mask]).astype(np.float64)


def _distinct_per_domain(codes, values, G):
    """Number of distinct ``values`` (non-negative int codes) in each domain."""
    size = int(values.max()) + 1 if values.size else 1
    pairs = codes * size + values
    if dense_range(G * size, pairs.size):  # presence by counting: O(n + G size)
        seen = np.bincount(pairs, minlength=G * size) > 0
        return seen.reshape(G, size).sum(axis=1)
    return np.bincount(np.unique(pairs) // size, minlength=G)


def _deff(design, columns, codes, theta, t_num, t_den, wbase, n_obs, var, replace=False):
    """R's design effect: against simple random sampling of the domain's n
    units without replacement from a population of its weight total
    (``deff = TRUE``), or with replacement (``replace``, ``deff =
    "replace"``); see the module docstring."""
    w, is_total = design.weights, columns.is_total
    G, m = theta.shape
    th = np.where(np.isfinite(theta), theta, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ybar = t_num / wbase  # domain mean of y
        centre = np.where(is_total, ybar, th)
        # weighted sum of squares of the residual e = y - centre * x (x = 1 for
        # totals and means), each row about its own domain's centre
        ss = np.empty((G, m))
        e = np.empty(codes.size)  # one buffer: fresh large arrays cost page faults
        for j in range(m):
            if G == 1:  # one domain: no gather, no grouping
                np.multiply(columns.x(j), centre[0, j], out=e)
            else:
                np.take(centre[:, j], codes, out=e, mode="clip")  # codes are valid
                e *= columns.x(j)
            np.subtract(columns.distinct[columns.num[j]], e, out=e)
            e *= e
            e *= w
            ss[:, j] = e.sum() if G == 1 else np.bincount(codes, e, minlength=G)
        s2 = ss / wbase * n_obs / (n_obs - 1)
        xbar = t_den / wbase
        # R's rule even when the weights sum to n or less: the reference
        # variance is then 0 or negative and deff Inf or negative, as in R
        fpc = 1 / n_obs if replace else (wbase - n_obs) / (wbase * n_obs)
        vsrs = np.where(is_total, s2 * wbase**2 * fpc, s2 * fpc / xbar**2)
        return var / vsrs


# -- convenience front ends ---------------------------------------------------------


def svymean(design, variables, by=(ALL,), where=None, level=0.95, deff=True) -> Results:
    """Means of numeric variables (R ``svymean`` / ``svyby``); ``deff`` as in
    :func:`estimate_items`."""
    return estimate_items(
        design, mean_items(design, _listify(variables)), by, where, "logit", level, deff
    )


def svytotal(design, variables, by=(ALL,), where=None, level=0.95, deff=True) -> Results:
    """Totals of numeric variables (R ``svytotal``)."""
    return estimate_items(
        design, total_items(design, _listify(variables)), by, where, "logit", level, deff
    )


def svyratio(design, numerator, denominator, by=(ALL,), where=None, level=0.95, deff=True):
    """Ratio of totals ``T(y) / T(x)`` (R ``svyratio``); a zero ``T(x)`` in a
    domain with units gives R's Inf (or NaN for 0/0), flagged ``undefined``."""
    return estimate_items(
        design, [ratio_item(design, numerator, denominator)], by, where, "logit", level, deff
    )


def svyprop(
    design,
    variable,
    value,
    by=(ALL,),
    where=None,
    ci="logit",
    level=0.95,
    categories=(),
    deff=True,
):
    """Proportion ``variable == value`` with a proportion CI (``svyciprop``);
    ``value`` and ``categories`` as in :func:`proportion_item`."""
    return estimate_items(
        design, [proportion_item(design, variable, value, categories)], by, where, ci, level, deff
    )


def _listify(variables) -> list:
    """One name, or a sequence of at least one."""
    if isinstance(variables, str):
        return [variables]
    try:
        names = list(variables)
    except TypeError:  # None, a number
        names = []
    if not names:
        raise KalibError(f"name at least one variable to estimate (got {variables!r})")
    return names


# -- quantiles ------------------------------------------------------------------------


def _probabilities(probs) -> np.ndarray:
    """Quantile probabilities as floats, each in [0, 1]: R's ``svyquantile``
    answers 1.5 with the maximum and an SE of 0, -0.5 with the minimum, and
    fails on NaN; kalib names the probability."""
    given = np.atleast_1d(np.asarray(probs))
    if given.dtype.kind not in "iuf":  # not text ("0.5"), booleans or objects either
        raise QuantileError(f"quantile probabilities must be numbers, not {given.tolist()!r}")
    p = given.astype(np.float64)
    bad = ~((p >= 0) & (p <= 1))
    if bad.any():
        raise QuantileError(f"quantile probability {float(p[bad][0])!r} is not in [0, 1]")
    return p


def svyquantile(
    design,
    variable,
    probs,
    by=(ALL,),
    where=None,
    level=0.95,
    interval_type="mean",
    qrule="math",
    df=None,
):
    """Quantiles with confidence intervals (R ``svyquantile``).

    ``qrule`` is any of R's rules (``math``, the default, ``school``,
    ``shahvaish``, ``hf1`` ... ``hf9``) and ``interval_type`` any of its
    intervals: Woodruff's (1952) inversion of an interval for the CDF at the
    quantile (``mean``, the default: Wald, t on the domain's df; ``beta``,
    ``xlogit``, ``asin``), Francisco & Fuller's score interval (``score``)
    or, on a replicate design, the replicate variance of the quantile
    (``quantile``); ``se = (high - low) / (2 t_df)`` (formulas and the
    differences from R in :mod:`estimators.inference.quantiles`). ``df``
    replaces the domain's degrees of freedom (``numpy.inf``: normal
    quantiles). With replicates the df is the design's (module docstring),
    as R's ``svyquantile(..., df = degf(design))``; R's default takes the df
    of the design after ``na.rm`` drops rows, the rank rule of its ``subset``.

    Returns a DataFrame with ``variable, domain_var, domain, p, n, estimate,
    se, ci_low, ci_high, df``.
    """
    import pandas as pd

    Q.check_rule(qrule)
    Q.check_interval(interval_type, design.replicates is not None)
    probs = _probabilities(probs)
    y, present = _numeric(design, variable)
    restrict = present if where is None else present & where.mask(design.data)
    rows = []
    for spec in by:
        codes, labels = domain_codes(design.data, spec)
        for g, label in enumerate(labels):
            in_g = restrict & (codes == g)
            if not in_g.any():
                raise QuantileError(f"domain {label!r} of {spec!r} has no {variable!r} values")
            w = np.where(in_g, design.weights, 0.0)
            for p in probs:
                q = weighted_quantile(y, w, float(p), qrule)
                low, high, used_df = _quantile_interval(
                    design, y, w, in_g, q, float(p), qrule, interval_type, level, df
                )
                se = (high - low) / (2 * cimod.t_quantile(level, used_df))
                rows.append(
                    (variable, spec, label, float(p), int(in_g.sum()), q, se, low, high, used_df)
                )
    return pd.DataFrame(
        rows,
        columns=[
            "variable",
            "domain_var",
            "domain",
            "p",
            "n",
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "df",
        ],
    )


def _quantile_interval(design, y, w, in_g, q, p, qrule, interval_type, level, df):
    """``(low, high, df)`` of quantile ``q`` of ``y`` in the domain ``in_g``
    (``w``: the weights there, zero elsewhere); ``df`` None: the domain's."""

    def share(hits):
        item = Item("share", hits.astype(float), np.ones(design.n), in_g, "proportion")
        return estimate_items(design, [item], (ALL,), ci="wald", level=level).frame.loc[0]

    if interval_type == "quantile":
        df = float(design.degf) if df is None else df
        W = np.asarray(design.replicate_weights(), dtype=float) * in_g[:, None]
        return (*Q.replicate_interval(y, W, q, p, qrule, design, df, level), df)
    below = share(y <= q)
    df = below["df"] if df is None else df
    if interval_type == "score":

        def exceed(theta):
            r = share(y > theta)
            return r["estimate"], r["se"]

        return (*Q.score_interval(y[in_g], w[in_g], p, qrule, exceed, df, level), df)
    p_interval = Q.proportion_interval(
        interval_type, below["estimate"], below["se"], df, below["n"], level, below["df"]
    )
    return (*Q.woodruff_interval(y, w, p_interval, qrule), df)
