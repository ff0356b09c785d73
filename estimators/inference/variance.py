"""Design-based variance: linearization (Taylor) and replicate variance.

Linearization
-------------
An estimator is linearized as ``theta_hat ≈ theta + sum_i w_i z_i`` with w the
analysis weights of the design and ``z_i`` its influence (for a total of y,
``z_i = y_i``; for a ratio mean, ``z_i = (y_i - theta) / N_hat``). For a
calibrated design the influence is first replaced by its residual from the
base-weighted regression on the calibration variables (Deville & Särndal
1992, eq. 3.6; R's ``svyrecvar`` after ``calibrate``)::

    u_i = w_i (z_i - x_i' beta),   beta = (sum d_i x_i x_i')^{-1} sum d_i x_i z_i

and then, with ``u_hi`` the PSU totals of u in stratum h (``n_h`` PSUs,
sampling fraction ``f_h``), the with-replacement stratified estimator

    V = sum_h (1 - f_h) n_h / (n_h - 1) sum_i (u_hi - ubar_h)(u_hi - ubar_h)'

(Wolter 2007, ch. 6). Certainty strata (lonely-PSU policy) and take-all
strata contribute zero.

Multistage designs
------------------
With more than one sampling stage and an fpc at stage 1, the variance is R's
``svyrecvar`` recursion (:func:`multistage_covariance`): the stage-1 term
above plus, within every PSU, the same estimator one stage down (its
clusters the next stage's units, its fpc the next stage's), times the
stage-1 sampling fraction ``f_h``, recursively::

    V = V_1 + sum_{h,i} f_h V_2(hi),   V_2(hi) = V_within(hi) + sum f_hi V_3(...)

(Särndal, Swensson & Wretman 1992, §4.3, result 4.3.1; Lumley 2010, §3.2).
Without a stage-1 fpc (PSUs drawn with replacement) later stages do not
enter, as in R. Calibration residuals are taken once, before the recursion
(R's ``calibrate`` at stage 0). Lonely-PSU policies apply at every stage
(``weighting.design``). Domains of an uncalibrated multistage design are
summed from the (cluster, domain) totals present at every stage (a cluster
without rows of the domain has total 0; ``_multistage_domain_sums``), those
of a calibrated one (every row has a calibration residual in every column)
through the n x (block of domains) influence matrix; an uncalibrated domain
counts only its own rows as present (R's ``svyby`` subsets), and of them
only those of the item's base (R's ``na.rm`` and ``subset``, kalib's
``--where``, drop the others, as ``svyglm`` drops the rows it does not fit),
which matters for ``"average"`` and for ``Design(domain_lonely=True)`` (R's
``survey.adjust.domain.lonely``: a stratum whose only cluster with rows of
the domain is one of several is lonely for ``"adjust"`` and ``"average"``).
Differences from R: none in the numbers
(tests/estimators/inference/test_multistage.py). The full covariance
(:func:`linearization_covariance`) takes every row as present, as R's
``svyby(covmat = TRUE)``.

Variances of many domain estimates
----------------------------------
The influence of an estimate in domain g of a domain specification is
``z_i = 1[i in g] e_i s_g`` (``e_i`` the row's residual about its own
domain's estimate, ``s_g`` a constant per estimate), so a row is non-zero in
one domain's columns only, while its calibration residual ``-x_i' beta`` is
not. :func:`domain_variances` gives the k = G m variances (G domains, m
items) of R's ``svyrecvar`` without the n x k matrix nor the k x k
covariance, in O(n m) plus O((cells + groups) k):

* ``beta`` from the base-weighted cell totals of ``e`` by domain
  (:meth:`weighting.design.Design.calibration_regression`);
* the PSUs that hold one calibration cell and one domain (every PSU of an
  unclustered sample) are *simple*: in its own domain's columns a simple PSU
  has the explicit value ``U_p = E_p - r_p x_c' beta`` (r its weight, E its
  weighted e), in every other domain's columns ``U_p = -r_p x_c' beta``, the
  same function of r for all PSUs of its (stratum, cell, domain) group q;
  their squared deviations from the stratum mean sum *exactly* (no
  expanded sum of squares, no cancellation) to
  ``(x_c' beta)^2 SS_q + N_q (rbar_q x_c' beta + Ubar_h)^2`` with ``N_q``,
  ``rbar_q`` and ``SS_q = sum (r_p - rbar_q)^2`` of the group;
* the other PSUs are summed explicitly, a block of domains at a time
  (memory bounded by ``BLOCK_DOUBLES``).

A covariance between estimates is formed only on request
(:func:`linearization_covariance`, for contrasts and tests).

Replicate variance
------------------
``V = scale * sum_b rscales_b (theta_b - c)(theta_b - c)'`` with c the mean of
the replicates with positive rscales (R's ``mse = FALSE``) or the full-sample
estimate (``mse = TRUE``), as R's ``svrVar``. The replicate estimates
``theta_b`` use every row, those of take-all and certainty strata too: R's
estimators leave them out by default (``survey.drop.replicates = TRUE``),
exact only while their replicate weights equal the full-sample weights, which
re-calibration changes; kalib equals R with that option ``FALSE``
(tests/test_crosscheck_r.py, dataset cc_c).
"""

from __future__ import annotations

import numpy as np

from estimators.inference.domains import combinations
from weighting.errors import KalibError

#: Doubles (8 bytes) in the largest array of a block of domain estimates in
#: :func:`domain_variances` (2^21: 16 MiB).
BLOCK_DOUBLES = 2**21


def linearization_covariance(design, influence, present=None) -> np.ndarray:
    """Linearization covariance of estimators with the given influence values.

    Single-stage designs take the stratified with-replacement estimator
    (:func:`stratified_psu_covariance`); multistage designs with an fpc at
    stage 1, and lonely-PSU policies ``"adjust"``/``"average"``, take R's
    ``svyrecvar`` recursion (:func:`multistage_covariance`).

    Parameters
    ----------
    design : weighting.design.Design
    influence : array-like (n,) or (n, m)
        ``z_i`` such that the estimates are ``≈ sum_i w_i z_i`` (plus a
        constant), w = ``design.weights``.
    present : ndarray (n,) bool, optional
        The rows the estimates are made on (a model's fitted rows): R's
        ``svyglm`` drops the others from an uncalibrated design, which
        changes the variance where presence matters (``"average"``,
        ``domain_lonely``; :func:`_presence_matters`). Default: every row.

    Returns
    -------
    ndarray (m, m)
    """
    z = np.asarray(influence, dtype=np.float64)
    z = z.reshape(design.n, -1)
    _require_finite_influence(z)
    u = design.weights[:, None] * design.calibration_residuals(z)
    if getattr(design, "pps", None) is not None:  # PPS without replacement: weighting.pps
        return design.pps.covariance(u, design.psu)
    if is_multistage(design):
        if present is None or design.calibration is not None or not _presence_matters(design):
            return multistage_covariance(design, u)
        rows = np.repeat(np.asarray(present, dtype=bool).reshape(-1, 1), u.shape[1], axis=1)
        return multistage_covariance(design, u, rows)
    return stratified_psu_covariance(design, u)


def is_multistage(design) -> bool:
    """Whether the variance needs R's ``svyrecvar`` recursion: later stages
    enter it (an fpc at stage 1), or a lonely-PSU policy other than a zero
    contribution applies to a lonely stratum (or may, in a domain, with
    ``domain_lonely``)."""
    stages = getattr(design, "stages", ())
    if len(stages) > 1 and design.fpc is not None:
        return True
    if design.lonely_psu not in ("adjust", "average"):
        return False
    return bool(design.certainty.any()) or getattr(design, "domain_lonely", False)


def multistage_covariance(design, u, present=None, diagonal=False) -> np.ndarray:
    r"""R's ``svyrecvar`` for weighted, residualized scores ``u`` (n, m).

    .. math::

        V = \sum_h c_h \sum_{i \in h} (u_{hi} - \bar u_h)(u_{hi} - \bar u_h)'
          + \sum_{h, i} f_h V_{2,hi}

    with ``u_hi`` the PSU totals, ``c_h = (1 - f_h) n_h / (n_h - 1)`` and
    ``V_{2,hi}`` the same expression one stage down within PSU ``hi``
    (its clusters are the next stage's, its stratum the PSU), recursively
    (Särndal, Swensson & Wretman 1992, §4.3, result 4.3.1; Lumley 2010,
    §3.2). Later stages enter only when stage 1 has an fpc (with
    replacement, the PSU totals carry the whole variance). A stratum whose
    ``f_h`` is 1 within 1e-7 contributes zero (R's take-all rule). Lonely
    strata (one sampled cluster, not take-all), by ``design.lonely_psu``:
    ``"certainty"``, ``"remove"`` and a merge give zero; ``"adjust"``
    gives ``(1 - f_h) u_hi u_hi'`` (centred on zero); ``"average"`` leaves
    the stratum out and scales the stage's sum by ``H / H_ok`` (strata with
    a row of the estimate over those without a lonely PSU, per column;
    NaN when none is left, which is every lonely stratum of stage 2 and
    beyond, since each of those is alone in its stage-1 cluster, as in R).

    Parameters
    ----------
    design : weighting.design.Design
    u : ndarray (n, m)
    present : ndarray (n, m) bool, optional
        Rows that belong to the estimate of each column (R drops the others
        from a ``subset``/``svyby`` design): ``"average"`` reads it to
        count the strata and stage-1 clusters with rows, and
        ``Design(domain_lonely=True)`` under ``"adjust"`` or ``"average"`` to
        find strata with a single cluster holding rows. Default: all.
    diagonal : bool
        Return the m variances instead of the (m, m) covariance.

    Returns
    -------
    ndarray (m, m), or (m,) with ``diagonal``
    """
    m = u.shape[1]
    policy = _policy(design)
    out = np.zeros(m) if diagonal else np.zeros((m, m))
    domain_lonely = getattr(design, "domain_lonely", False) and present is not None
    for stage, multiplier in _stages(design):
        out += _stage_sum(stage, u, multiplier, policy, present, diagonal, domain_lonely)
    return out


def _policy(design) -> str:
    """The lonely-PSU policy of the variance (a merge leaves none lonely)."""
    return design.lonely_psu if isinstance(design.lonely_psu, str) else "certainty"


def _stages(design):
    """The stages that enter the variance, each with the product of the
    earlier stages' sampling fractions per stratum (R's ``multistage``
    multiplies a PSU's within variance by its stratum's ``n/N``): stage 1
    alone without a stage-1 fpc."""
    multiplier = np.ones(1)
    for stage in design.stages:
        if stage.number > 1:
            if design.fpc is None:
                return
            previous = design.stages[stage.number - 2]
            multiplier = (multiplier * previous.sampling_fraction)[previous.cluster_stratum]
        yield stage, multiplier


def _stage_sum(stage, u, multiplier, policy, present, diagonal, domain_lonely) -> np.ndarray:
    """One stage's term of :func:`multistage_covariance`, times the product
    of the earlier stages' sampling fractions (``multiplier`` per stratum).
    With ``domain_lonely`` (R's ``survey.adjust.domain.lonely``, diagonal
    only), a stratum of several clusters of which one has present rows is
    lonely for ``"adjust"`` and ``"average"`` in that column."""
    m = u.shape[1]
    P, H = len(stage.cluster_stratum), len(stage.n_clusters)
    totals = np.empty((P, m))
    for j in range(m):
        totals[:, j] = np.bincount(stage.cluster, u[:, j], minlength=P)
    n_h = stage.n_clusters.astype(np.float64)
    strata = stage.cluster_stratum
    means = np.empty((H, m))
    for j in range(m):
        means[:, j] = np.bincount(strata, totals[:, j], minlength=H) / n_h
    lonely = np.repeat(stage.lonely[:, None], m, axis=1)  # (H, m)
    if domain_lonely and policy in ("adjust", "average"):
        clusters = np.empty((H, m))
        for j in range(m):
            held = np.bincount(stage.cluster, present[:, j], minlength=P) > 0
            clusters[:, j] = np.bincount(strata, held, minlength=H)
        lonely |= (clusters == 1) & (n_h[:, None] > 1)
    if policy == "adjust":  # a lonely PSU deviates from zero
        means[lonely] = 0.0
    centred = totals - means[strata]
    factor = _stage_factors(stage, multiplier, policy)[:, None] * np.ones(m)
    if policy == "average":
        factor[lonely] = 0.0
    weighted = centred * factor[strata]
    if diagonal:
        V = np.einsum("pj,pj->j", weighted, centred)
    else:
        V = weighted.T @ centred
    if policy != "average" or not lonely.any():
        return V
    rows = np.ones(u.shape, bool) if present is None else present
    has = np.empty((H, m), bool)
    for j in range(m):
        has[:, j] = np.bincount(stage.stratum, rows[:, j], minlength=H) > 0
    scale = _average_scale(stage.number, has, lonely)
    with np.errstate(invalid="ignore"):  # 0 x Inf: no stratum left, NaN as R
        return V * scale if diagonal else V * np.sqrt(np.outer(scale, scale))


def _stage_factors(stage, multiplier, policy) -> np.ndarray:
    """Per stratum of a stage: ``(1 - f) n / (n - 1)`` times the earlier
    stages' fractions; 0 for a take-all stratum (``1 - f < 1e-7``, R's rule)
    and for a lonely one, but under ``"adjust"`` (``1 - f``)."""
    n_h = stage.n_clusters.astype(np.float64)
    complement = 1.0 - stage.sampling_fraction
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_h > 1, complement * n_h / (n_h - 1), complement)
    factor = np.where(complement < 1e-7, 0.0, factor)
    if policy != "adjust":
        factor = np.where(stage.lonely, 0.0, factor)
    return factor * np.broadcast_to(multiplier, factor.shape)


def _average_scale(number, has, lonely) -> np.ndarray:
    """R's ``onestage`` under ``"average"``: the strata with rows (``has``,
    (H, k)) over those of them not ``lonely`` (H, k), per column; at stages
    beyond the first (``number`` > 1) every stratum is alone in its parent
    cluster, so a lonely one with rows makes the column NaN."""
    if number == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            return has.sum(axis=0) / (has & ~lonely).sum(axis=0)
    return np.where((has & lonely).any(axis=0), np.nan, 1.0)


def _require_finite_influence(z) -> None:
    if not np.all(np.isfinite(z)):
        rows = np.flatnonzero(~np.isfinite(z).all(axis=1))
        raise KalibError(
            f"influence values are not finite in {rows.size} row(s) (first at row {rows[0] + 1})",
            row=rows[0],
        )


def stratum_factors(design) -> np.ndarray:
    """``(1 - f_h) n_h / (n_h - 1)`` per stratum; 0 for a stratum with one PSU
    and for certainty strata."""
    n_h = design.n_psu.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_h > 1, (1.0 - design.sampling_fraction) * n_h / (n_h - 1), 0.0)
    return np.where(design.certainty, 0.0, factor)


def stratified_psu_covariance(design, u) -> np.ndarray:
    """``sum_h (1 - f_h) n_h/(n_h - 1) sum_i (u_hi - ubar_h)(u_hi - ubar_h)'``.

    ``u`` (n, m) are weighted, already residualized scores; the PSU totals
    ``u_hi`` are taken over the design's PSUs.
    """
    P, m = design.n_psus, u.shape[1]
    totals = np.empty((P, m))
    for j in range(m):
        totals[:, j] = np.bincount(design.psu, u[:, j], minlength=P)
    n_h = design.n_psu.astype(np.float64)
    stratum = design.psu_stratum
    means = np.empty((design.n_strata, m))
    for j in range(m):
        means[:, j] = np.bincount(stratum, totals[:, j], minlength=design.n_strata) / n_h
    centred = totals - means[stratum]
    return (centred * stratum_factors(design)[stratum][:, None]).T @ centred


def domain_variances(design, codes, n_domains, residuals, scale, present=None) -> np.ndarray:
    """Linearization variances of G x m domain estimates (R's ``svyrecvar``).

    Estimate ``(g, j)`` has the influence values ``z_i = 1[codes_i = g]
    residuals_ij scale_gj``: the variances are the diagonal of
    :func:`linearization_covariance` of the n x G m matrix of those values
    (calibration residuals, PSU totals, strata, fpc, certainty strata),
    computed without it (module docstring).

    Parameters
    ----------
    design : weighting.design.Design
    codes : ndarray (n,) of int
        Each row's domain, ``0..n_domains-1``.
    n_domains : int
    residuals : ndarray (n, m)
        ``e_ij``: for a ratio, ``y_ij - theta_gj x_ij`` about the row's own
        domain's estimate; for a total, ``y_ij``.
    scale : ndarray (n_domains, m)
        ``s_gj``: ``1 / T_gj(x)`` for a ratio, 1 for a total.
    present : ndarray (n, m) bool, optional
        The rows of each item's base (answered, ``--where``): in an
        uncalibrated design the others are no rows of the item's domains,
        as R's ``na.rm`` and ``subset`` drop them, which matters where
        presence does (:func:`_presence_matters`). Default: every row.

    Returns
    -------
    ndarray (n_domains, m)
    """
    e = np.asarray(residuals, dtype=np.float64).reshape(design.n, -1)
    _require_finite_influence(e)
    G, m = int(n_domains), e.shape[1]
    if present is not None and design.calibration is None and _presence_matters(design):
        return _by_presence(design, np.asarray(codes, dtype=np.int64), G, e, scale, present)
    if getattr(design, "pps", None) is None and is_multistage(design):
        if design.calibration is None:
            var = _multistage_domain_sums(design, np.asarray(codes, dtype=np.int64), G, e)
            return var * np.asarray(scale, dtype=np.float64) ** 2
    if is_multistage(design) or getattr(design, "pps", None) is not None:
        return _multistage_domain_variances(design, codes, G, e, scale)
    e = np.ascontiguousarray(e.T)  # item-major: each item's residuals contiguous
    codes = np.asarray(codes, dtype=np.int64)
    regression = design.calibration_regression()
    if regression is None:  # no calibration: the residual is z itself
        cell, X, beta = np.zeros(design.n, np.int64), None, None
        C = 1
    else:
        cell, X, M, omega = regression
        C = X.shape[0]
        beta = np.linalg.solve(M, _cell_rhs(omega, cell, X, codes, G, e))
    units = _DomainUnits(design, cell, C, codes, G, e)
    factor = stratum_factors(design)
    var = np.empty(G * m)
    width = max(1, BLOCK_DOUBLES // (m * max(units.rows_per_column, C, 1)))
    for g0 in range(0, G, width):
        g1 = min(G, g0 + width)
        block = slice(g0 * m, g1 * m)
        if X is None or beta is None:  # no calibration: nothing fitted
            fitted = np.zeros((C, (g1 - g0) * m))
        else:
            fitted = X @ beta[:, block]
        var[block] = factor @ units.stratum_sums_of_squares(fitted, g0, g1)
    return var.reshape(G, m) * np.asarray(scale, dtype=np.float64) ** 2


def _presence_matters(design) -> bool:
    """Whether which rows hold an estimate's domain changes its variance: the
    ``"average"`` policy counts the strata with rows, and ``domain_lonely``
    the clusters with rows (:func:`multistage_covariance`)."""
    if not is_multistage(design):
        return False
    policy = _policy(design)
    return policy == "average" or (policy == "adjust" and getattr(design, "domain_lonely", False))


def _by_presence(design, codes, G, e, scale, present) -> np.ndarray:
    """:func:`domain_variances` with the rows outside an item's base moved
    to an extra domain G (their residuals are 0), so that only the base's
    rows count as rows of the item's domains; items sharing a base are
    computed together."""
    present = np.asarray(present, dtype=bool).reshape(design.n, -1)
    scale = np.asarray(scale, dtype=np.float64).reshape(G, -1)
    bases, index = np.unique(present, axis=1, return_inverse=True)
    index = np.asarray(index).reshape(-1)
    var = np.empty((G, e.shape[1]))
    for k in range(bases.shape[1]):
        columns = np.flatnonzero(index == k)
        recoded = np.where(bases[:, k], codes, G)
        padded = np.vstack([scale[:, columns], np.ones((1, columns.size))])
        var[:, columns] = domain_variances(design, recoded, G + 1, e[:, columns], padded)[:G]
    return var


def _multistage_domain_variances(design, codes, G, e, scale) -> np.ndarray:
    """:func:`domain_variances` of a multistage design: the n x G m influence
    matrix a block of domains at a time, through :func:`multistage_covariance`.
    A row belongs to its own domain's estimates only (R's ``svyby`` subsets),
    except after calibration, where R keeps every row in a subset. A PPS
    design without replacement takes the same path: its quadratic form
    (``weighting.pps``) has every pair of PSUs, no sums within strata."""
    n, m = e.shape
    codes = np.asarray(codes, dtype=np.int64)
    scale = np.asarray(scale, dtype=np.float64).reshape(G, m)
    rows = np.arange(n)
    var = np.empty((G, m))
    width = max(1, BLOCK_DOUBLES // (n * m))
    for g0 in range(0, G, width):
        g1 = min(G, g0 + width)
        inside = (codes >= g0) & (codes < g1)
        z = np.zeros((n, g1 - g0, m))
        z[rows[inside], codes[inside] - g0] = e[inside] * scale[codes[inside]]
        z = z.reshape(n, -1)
        u = design.weights[:, None] * design.calibration_residuals(z)
        if getattr(design, "pps", None) is not None:  # PPS without replacement
            var[g0:g1] = design.pps.variances(u, design.psu).reshape(-1, m)
            continue
        present = None
        if design.calibration is None:
            own = codes[:, None] == np.arange(g0, g1)
            present = np.repeat(own, m, axis=1)
        var[g0:g1] = multistage_covariance(design, u, present, diagonal=True).reshape(-1, m)
    return var


def _multistage_domain_sums(design, codes, G, e) -> np.ndarray:
    """:func:`multistage_covariance`'s variances of the G x m domain totals
    of e (uncalibrated: a row enters its own domain's columns only), from the
    (cluster, domain) totals present at every stage, without the n x G m
    influence matrix. In stratum s (``n_s`` clusters) and domain g, with
    ``K`` clusters holding rows of g (totals ``T``, mean ``Tbar = sum T /
    n_s``), the sum of squares over all ``n_s`` clusters is exactly
    ``sum_K (T - Tbar)^2 + (n_s - K) Tbar^2`` (the others' totals are 0)."""
    m = e.shape[1]
    policy = _policy(design)
    w = design.weights
    var = np.zeros((G, m))
    for stage, multiplier in _stages(design):
        P = len(stage.cluster_stratum)
        entry, pairs = combinations([stage.cluster, codes], [P, G])
        stratum = stage.cluster_stratum[pairs[:, 0]]
        group, groups = combinations([stratum, pairs[:, 1]], [len(stage.n_clusters), G])
        q_stratum, q_dom = groups.T
        n_s = stage.n_clusters[q_stratum].astype(np.float64)
        K = np.bincount(group, minlength=len(groups))
        factor = _stage_factors(stage, multiplier, policy)[q_stratum]
        lonely = stage.lonely[q_stratum]
        if getattr(design, "domain_lonely", False) and policy in ("adjust", "average"):
            lonely = lonely | ((K == 1) & (n_s > 1))  # one cluster of the domain
        if policy == "average":
            factor = np.where(lonely, 0.0, factor)
        term = np.empty((G, m))
        for j in range(m):
            T = np.bincount(entry, w * e[:, j], minlength=len(pairs))
            mean = np.bincount(group, T, minlength=len(groups)) / n_s
            if policy == "adjust":  # a lonely PSU deviates from zero
                mean[lonely] = 0.0
            SS = np.bincount(group, (T - mean[group]) ** 2, minlength=len(groups))
            SS += (n_s - K) * mean**2
            term[:, j] = np.bincount(q_dom, factor * SS, minlength=G)
        if policy == "average" and lonely.any():
            has = np.zeros((len(stage.n_clusters), G), bool)
            has[q_stratum, q_dom] = True  # strata with rows of the domain
            bad = np.zeros_like(has)
            bad[q_stratum, q_dom] = lonely
            with np.errstate(invalid="ignore"):  # 0 x Inf: no stratum left, NaN as R
                term *= _average_scale(stage.number, has, bad)[:, None]
        var += term
    return var


def _cell_rhs(d, cell, X, codes, G, e) -> np.ndarray:
    """``X' Z`` (p, G m): ``Z[c, (g, j)] = sum_{i in c, codes_i = g} d_i e_ij``,
    the base-weighted cell totals of every domain's influence values (``e``
    item-major, (m, n))."""
    C, p = X.shape
    m = e.shape[0]
    pair, combos = combinations([cell, codes], [C, G])
    K = len(combos)
    sums = np.empty((K, m))
    de = np.empty(len(d))
    for j in range(m):
        sums[:, j] = np.bincount(pair, np.multiply(d, e[j], out=de), minlength=K)
    if C * G * m <= BLOCK_DOUBLES:  # Z as a dense (C, G m) table
        Z = np.zeros((C, G, m))
        Z[combos[:, 0], combos[:, 1]] = sums
        return X.T @ Z.reshape(C, G * m)
    # many cells (a calibration on units): X' Z feature by feature over the pairs
    rhs = np.empty((p, G, m))
    x_pair = X[combos[:, 0]]
    for f in range(p):
        for j in range(m):
            rhs[f, :, j] = np.bincount(combos[:, 1], x_pair[:, f] * sums[:, j], minlength=G)
    return rhs.reshape(p, G * m)


class _DomainUnits:
    """The PSUs of a design seen by one domain specification (module docstring).

    Rows are first summed into *entries*, one per (PSU, cell, domain)
    present, with their weight ``r`` and weighted residuals ``E`` (when every
    PSU is one row, the rows are the entries and ``E = r e`` is left
    unformed). An entry is *simple* when it is its PSU's only entry. Simple
    entries keep their order: their sums by (stratum, domain) are bincounts
    in the order of the rows, as the PSU totals of the dense computation
    are, with no gather of n rows into another order (at n = 1e6 a random
    gather costs more than the arithmetic). They are also summarised per
    (stratum, cell, domain) group (``N``, ``R``, ``rbar``, ``SS``, in stratum
    order). The entries of the other PSUs are kept sorted by PSU (``x_*``).
    Residuals are item-major, ``(m, entries)``.
    """

    def __init__(self, design, cell, C, codes, G, e):
        w, m = design.weights, e.shape[0]
        P, H = design.n_psus, design.n_strata
        self.H, self.m, self.G, self.n_psu = H, m, G, design.n_psu.astype(np.float64)
        self.x_psu = np.zeros(0, dtype=np.int64)
        if P == design.n:  # every PSU is one row: the rows are the entries
            stratum, dom, r, E = design.strata, codes, w, None
            self.e = e
        else:
            entry, combos = combinations([design.psu, cell, codes], [P, C, G])
            psu, cell, dom = combos.T
            size = len(combos)
            r = np.bincount(entry, w, minlength=size)
            E = np.stack([np.bincount(entry, w * e[j], minlength=size) for j in range(m)])
            several = np.bincount(psu, minlength=P)[psu] > 1
            if several.any():
                x = np.flatnonzero(several)
                codes_x, self.x_psu = np.unique(psu[x], return_inverse=True)
                self.x_cell, self.x_dom, self.x_r, self.x_E = cell[x], dom[x], r[x], E[:, x]
                self.x_segments = _Segments(design.psu_stratum[codes_x], H)
                self.x_starts = np.searchsorted(self.x_psu, np.arange(len(codes_x)))
                keep = ~several
                psu, cell, dom, r, E = psu[keep], cell[keep], dom[keep], r[keep], E[:, keep]
            stratum = design.psu_stratum[psu]
            self.e = None
        self.stratum, self.cell, self.dom, self.r, self.E = stratum, cell, dom, r, E

        group, combos = combinations([stratum, cell, dom], [H, C, G])
        self.q_stratum, self.q_cell, self.q_dom = combos.T
        self.N = np.bincount(group, minlength=len(combos)).astype(np.float64)
        self.R = np.bincount(group, r, minlength=len(combos))
        self.rbar = self.R / self.N
        self.SS = np.bincount(group, (r - self.rbar[group]) ** 2, minlength=len(combos))
        self.q_segments = _Segments(self.q_stratum, H)
        #: rows of the (rows, columns) arrays a block of columns makes
        self.rows_per_column = max(len(combos), len(self.x_psu))

    def stratum_sums_of_squares(self, fitted, g0, g1) -> np.ndarray:
        """``sum_{p in h} (U_p - Ubar_h)^2`` (H, (g1 - g0) m) for the estimates
        of domains g0..g1-1, whose ``x_c' beta`` per cell are ``fitted``."""
        H, m = self.H, self.m
        Gb, k = g1 - g0, fitted.shape[1]

        # simple entries in their own domain: one value per item, summed by
        # (stratum, domain)
        rows: slice | np.ndarray
        if Gb == self.G:
            rows, dom = slice(None), self.dom
        else:
            rows = np.flatnonzero((self.dom >= g0) & (self.dom < g1))
            dom = self.dom[rows] - g0
        key = self.stratum[rows] * Gb + dom
        at = self.cell[rows] * Gb + dom
        r = self.r[rows]
        # the tables are small and contiguous, the codes valid: clip mode takes
        # them without the bounds check (4x faster at n = 1e6)
        table = fitted.reshape(-1, m).T.copy()
        U = np.empty((m, len(key)))
        S = np.empty((H * Gb, m))
        for i in range(m):
            np.take(table[i], at, out=U[i], mode="clip")
            if self.E is None:  # rows: U = w (e - x'beta)
                np.subtract(self.e[i, rows], U[i], out=U[i])
                U[i] *= r
            else:  # entries: U = E - r x'beta
                U[i] *= r
                np.subtract(self.E[i, rows], U[i], out=U[i])
            S[:, i] = np.bincount(key, U[i], minlength=H * Gb)
        S = S.reshape(H, k)

        # simple entries of other domains, by group
        fit_q = fitted[self.q_cell]
        mask = np.ones_like(fit_q, dtype=bool)
        own = np.flatnonzero((self.q_dom >= g0) & (self.q_dom < g1))  # done above
        mask[own[:, None], (self.q_dom[own] - g0)[:, None] * m + np.arange(m)] = False
        S -= self.q_segments.sum(np.where(mask, self.R[:, None] * fit_q, 0.0))

        # PSUs with several entries: their totals in full
        U_x = None
        if len(self.x_psu):
            U_x = -np.add.reduceat(self.x_r[:, None] * fitted[self.x_cell], self.x_starts, axis=0)
            inside = np.flatnonzero((self.x_dom >= g0) & (self.x_dom < g1))
            idx = (self.x_psu[inside] * k + (self.x_dom[inside] - g0) * m)[:, None] + np.arange(m)
            U_x += np.bincount(
                idx.reshape(-1), self.x_E[:, inside].T.reshape(-1), minlength=U_x.size
            ).reshape(U_x.shape)
            S += self.x_segments.sum(U_x)

        Ubar = S / self.n_psu[:, None]
        V = np.empty((H * Gb, m))
        means = Ubar.reshape(H * Gb, m).T.copy()
        dev = np.empty(len(key))
        for i in range(m):
            np.take(means[i], key, out=dev, mode="clip")
            np.subtract(U[i], dev, out=dev)
            dev *= dev
            V[:, i] = np.bincount(key, dev, minlength=H * Gb)
        V = V.reshape(H, k)
        between = (self.rbar[:, None] * fit_q + Ubar[self.q_stratum]) ** 2
        V += self.q_segments.sum(
            np.where(mask, fit_q**2 * self.SS[:, None] + self.N[:, None] * between, 0.0)
        )
        if U_x is not None:
            V += self.x_segments.sum((U_x - Ubar[self.x_segments.codes]) ** 2)
        return V


class _Segments:
    """Sums over the runs of equal codes of a sorted code array (strata)."""

    def __init__(self, codes, size):
        self.codes, self.size = codes, size
        counts = np.bincount(codes, minlength=size)
        self.present = np.flatnonzero(counts)
        self.starts = (np.cumsum(counts) - counts)[self.present]

    def sum(self, values) -> np.ndarray:
        out = np.zeros((self.size,) + values.shape[1:])
        if len(values):
            out[self.present] = np.add.reduceat(values, self.starts, axis=0)
        return out


def replicate_covariance(theta_full, theta_reps, scale, rscales, mse=False) -> np.ndarray:
    """Replicate covariance with R's conventions (``svrVar``).

    .. math:: V = s \\sum_b r_b (\\theta_b - c)(\\theta_b - c)'

    with ``s = scale``, ``r_b = rscales[b]`` and ``c`` the mean of the
    replicates with ``r_b > 0`` (R's ``mse = FALSE``) or the full-sample
    estimate (``mse = TRUE``). The one home of this rule: the estimators
    (:mod:`estimators.inference.estimate`), the models
    (:mod:`estimators.model.variance`) and, on labelled arrays, the Dask path
    (:func:`replicate_variance`) all call it. As R, except that a replicate
    estimate that is not finite raises instead of giving NaN.

    Parameters
    ----------
    theta_full : array-like (m,)
        Full-sample estimates (the centre when ``mse``).
    theta_reps : array-like (B, m)
        Replicate estimates.
    scale : float
    rscales : array-like (B,)
    mse : bool
        Centre on ``theta_full`` instead of the mean of the replicates with
        ``rscales > 0``.

    Returns
    -------
    ndarray (m, m)

    References
    ----------
    Lumley, T. (2010). Complex Surveys, ch. 2.3 (R ``survey:::svrVar``).
    """
    full = np.atleast_1d(np.asarray(theta_full, dtype=np.float64))
    reps = np.asarray(theta_reps, dtype=np.float64).reshape(-1, full.size)
    rscales = np.broadcast_to(np.asarray(rscales, dtype=np.float64), (reps.shape[0],))
    bad = ~np.isfinite(reps).all(axis=1)
    if bad.any():
        idx = np.flatnonzero(bad)
        raise KalibError(
            f"{idx.size} replicate estimate(s) are not finite (first: replicate {idx[0] + 1})"
        )
    centre = full if bool(mse) else reps[rscales > 0].mean(axis=0)
    dev = reps - centre
    return float(scale) * (dev * rscales[:, None]).T @ dev


def replicate_variance(theta_full, theta_reps, scale, rscales, mse=False, dim="replicate"):
    """The diagonal of :func:`replicate_covariance` on labelled arrays.

    ``V_j = scale * sum_b rscales_b (theta_bj - c_j)^2`` along ``dim`` of
    xarray objects (lazy when they are dask-backed, so that the Dask path
    never gathers the replicate estimates into one process). The centre is
    as in :func:`replicate_covariance`; unlike it, a replicate estimate that
    is not finite gives NaN (R's behaviour), since a lazy array cannot be
    checked without computing it.

    Parameters
    ----------
    theta_full : xarray.DataArray
        Full-sample estimates (the centre when ``mse``).
    theta_reps : xarray.DataArray
        Replicate estimates, with dimension ``dim``.
    scale : float
    rscales : xarray.DataArray along ``dim``
    mse : bool
    dim : str

    Returns
    -------
    xarray.DataArray, ``theta_reps`` without ``dim``.
    """
    centre = theta_full if bool(mse) else theta_reps.where(rscales > 0).mean(dim)
    return scale * (rscales * (theta_reps - centre) ** 2).sum(dim)
