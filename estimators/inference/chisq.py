"""Tests of independence in two-way tables: Rao–Scott and plain Pearson.

For a design, the Pearson statistic of the weighted table scaled to the
sample size, ``X^2 = sum (O - E)^2 / E``, is referred to its design-based
distribution through the generalised design effects: the eigenvalues of

    Delta = (C' D^-1 C / N)^-1 (C' D^-1 V D^-1 C)

where ``p`` are the estimated cell proportions with design covariance ``V``
(replicates or linearization), ``D = diag(p)``, ``N`` the number of rows and
``C`` the interaction contrasts orthogonalised against the main effects
(Rao & Scott 1984). Two corrections, as R ``survey::svychisq``:

``F`` (second order)
    ``F = X^2 / tr(Delta)`` on ``d0 = tr(Delta)^2 / tr(Delta^2)`` and
    ``d0 * nu`` degrees of freedom (nu the design degrees of freedom).
``Chisq`` (first order)
    ``X^2`` with ``p = P(chi2_{(r-1)(c-1)} > X^2 / mean(diag Delta))``.

Further statistics of R's ``svychisq`` (:func:`svychisq`):

``Wald``
    The Wald statistic ``W = Y' V^{-1} Y`` of the interaction cells of
    ``Y_rc = N_rc - N_r N_c / N`` (estimated totals, delta-method covariance
    ``V``; Koch, Freeman & Freeman 1975), as ``F = W / k`` on ``k = (r-1)(c-1)``
    and ``nu`` df.
``adjWald``
    Its adjustment for few design df, ``F = W (nu - k + 1) /
    (k nu)`` on ``k`` and ``nu - k + 1`` df (Fellegi 1980).
``saddlepoint``
    ``X^2`` referred to ``sum_j delta_j chi2_1 / (chi2_{d0 nu} / (d0 nu))``,
    ``delta_j`` the eigenvalues of Delta, by the saddlepoint approximation
    (:mod:`estimators.inference.chisqsum`). R's ``lincom`` is the same
    distribution computed exactly with the CompQuadForm package (without
    it R falls back to the saddlepoint); kalib does not offer it.

A test *within a domain* (``--by``/``--where``) uses the cell proportions of
the domain estimated on the full design (domain semantics), ``N`` the rows of
the domain and ``nu`` its PSUs minus strata (R's ``svychisq`` on
``subset(design, ...)`` of an uncalibrated design). R keeps every row of a
*calibrated* design in a subset and so scales its X^2 to the whole sample;
kalib scales to the domain in every case. The table has the categories
present in the domain: R keeps every level of the factor, and a level
absent from the domain makes its statistic NaN.

References
----------
Fellegi, I. P. (1980). Approximate tests of independence and goodness of fit
based on stratified multistage samples. JASA 75, 261-268.
Koch, G. G., Freeman, D. H. and Freeman, J. L. (1975). Strategies in the
multivariate analysis of data from complex surveys. International
Statistical Review 43, 59-78.
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway
contingency tables with cell proportions estimated from survey data. Annals
of Statistics 12, 46-60.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, stats

from estimators.inference.chisqsum import pfsum
from estimators.inference.domains import text_column
from estimators.inference.estimate import Item, domain_covariance
from weighting.errors import KalibError


@dataclass
class ChisqResult:
    """Rao–Scott and Pearson statistics of one two-way table."""

    rows: list
    cols: list
    table: np.ndarray  # weighted counts (r, c)
    counts: np.ndarray  # unweighted counts (r, c)
    n: int  # N: rows of the (domain) sample
    nu: float  # design degrees of freedom
    pearson: float  # X^2 of the weighted table scaled to N
    f: float
    f_ndf: float
    f_ddf: float
    f_p: float
    chisq_df: int
    chisq_p: float
    unweighted: float  # Pearson X^2 of the unweighted counts
    unweighted_df: int
    unweighted_p: float

    def lines(self) -> list[str]:
        """The three statistics as printed by ``kalib crosstab``."""
        return [
            f'Rao-Scott "F": F = {self.f:.4f}, ndf = {self.f_ndf:.4f}, '
            f"ddf = {self.f_ddf:.4f}, p = {self.f_p:.4g}",
            f'Rao-Scott "Chisq": X-squared = {self.pearson:.4f}, df = {self.chisq_df}, '
            f"p = {self.chisq_p:.4g} (first-order correction)",
            f"Unweighted Pearson: X-squared = {self.unweighted:.4f}, "
            f"df = {self.unweighted_df}, p = {self.unweighted_p:.4g}",
        ]

    def _repr_html_(self) -> str:
        """The weighted table and the three tests in HTML, for Jupyter."""
        from estimators.inference.html import chisq_html

        return chisq_html(self)


STATISTICS = ("F", "Chisq", "Wald", "adjWald", "saddlepoint")


@dataclass(frozen=True)
class ChisqTest:
    """One ``svychisq`` statistic: ``name`` (``F`` or ``X-squared``) equal to
    ``value`` on ``ndf`` and ``ddf`` degrees of freedom (``ddf`` None for a
    chi-square, both None for the saddlepoint test) with p-value ``p``."""

    statistic: str
    name: str
    value: float
    ndf: float | None
    ddf: float | None
    p: float
    method: str

    def line(self) -> str:
        """The test as ``kalib crosstab --statistic`` prints it."""
        df = (
            ""
            if self.ndf is None
            else f", df = {self.ndf:.6g}"
            if self.ddf is None
            else f", ndf = {self.ndf:.6g}, ddf = {self.ddf:.6g}"
        )
        return (
            f'{self.method} "{self.statistic}": {self.name} = {self.value:.4f}{df}, '
            f"p = {self.p:.4g}"
        )


def svychisq(design, rows: str, cols: str, statistic: str = "F", domain=None) -> ChisqTest:
    """R ``svychisq(~rows + cols, design, statistic)`` (module docstring);
    ``domain`` a boolean mask as for :func:`rao_scott`."""
    if statistic not in STATISTICS:
        raise KalibError(
            f"unknown svychisq statistic {statistic!r}; choose one of {', '.join(STATISTICS)}"
        )
    if statistic in ("F", "Chisq"):
        res = rao_scott(design, rows, cols, domain)
        if statistic == "F":
            return ChisqTest("F", "F", res.f, res.f_ndf, res.f_ddf, res.f_p, "Rao-Scott")
        return ChisqTest(
            "Chisq", "X-squared", res.pearson, res.chisq_df, None, res.chisq_p, "Rao-Scott"
        )
    t = _Table(design, rows, cols, domain)
    if statistic == "saddlepoint":
        lambdas = linalg.eigh(t.numerator, t.denominator, eigvals_only=True)[::-1]
        trace = np.trace(t.delta)
        d0 = trace**2 / np.trace(t.delta @ t.delta)
        return ChisqTest(
            "saddlepoint",
            "X-squared",
            t.x2,
            None,
            None,
            pfsum(t.x2, lambdas, d0 * t.nu, "saddlepoint"),
            "Rao-Scott",
        )
    k = t.df
    wald = t.wald(design)
    ddf = t.nu if statistic == "Wald" else t.nu - k + 1
    f = wald / k if statistic == "Wald" else wald * ddf / (k * t.nu)
    p = float(stats.f.sf(f, k, ddf)) if ddf > 0 else np.nan
    return ChisqTest(statistic, "F", f, k, ddf, p, "Design-based Wald")


def pearson(counts) -> tuple[float, int, float]:
    """Pearson's X^2 (no continuity correction), df and p of a table."""
    counts = np.asarray(counts, dtype=np.float64)
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = float(np.sum((counts - expected) ** 2 / expected))
    df = (counts.shape[0] - 1) * (counts.shape[1] - 1)
    return x2, df, float(stats.chi2.sf(x2, df))


def _contrasts(nr: int, nc: int) -> np.ndarray:
    """Interaction contrasts of an r x c table (cells with rows varying
    fastest), orthogonalised against the main-effects design."""
    r = np.repeat(np.arange(nr)[None, :], nc, axis=0).reshape(-1)
    c = np.repeat(np.arange(nc), nr)
    main = np.column_stack(
        [np.ones(nr * nc)]
        + [(r == i).astype(float) for i in range(1, nr)]
        + [(c == j).astype(float) for j in range(1, nc)]
    )
    inter = np.column_stack(
        [((r == i) & (c == j)).astype(float) for j in range(1, nc) for i in range(1, nr)]
    )
    coef, *_ = np.linalg.lstsq(main, inter, rcond=None)
    return inter - main @ coef


def rao_scott(design, rows: str, cols: str, domain=None) -> ChisqResult:
    """Rao–Scott tests of ``rows`` x ``cols`` on ``design`` (optionally within
    the boolean ``domain`` mask), as R ``svychisq`` statistics "F" and
    "Chisq"; also the unweighted Pearson X^2 of the same rows."""
    t = _Table(design, rows, cols, domain)
    trace = np.trace(t.delta)
    d0 = trace**2 / np.trace(t.delta @ t.delta)
    f = t.x2 / trace
    u_x2, u_df, u_p = pearson(t.counts)
    return ChisqResult(
        rows=t.r_levels,
        cols=t.c_levels,
        table=t.table,
        counts=t.counts,
        n=t.N,
        nu=t.nu,
        pearson=t.x2,
        f=f,
        f_ndf=d0,
        f_ddf=d0 * t.nu,
        f_p=float(stats.f.sf(f, d0, d0 * t.nu)),
        chisq_df=t.df,
        chisq_p=float(stats.chi2.sf(t.x2 / np.mean(np.diag(t.delta)), t.df)),
        unweighted=u_x2,
        unweighted_df=u_df,
        unweighted_p=u_p,
    )


class _Table:
    """The weighted table of ``rows`` x ``cols`` (within ``domain``) and what
    the tests share: cell items, X^2 scaled to N, the design effect matrix."""

    def __init__(self, design, rows, cols, domain):
        n = design.n
        in_domain = np.ones(n, bool) if domain is None else np.asarray(domain, bool)
        r_text, c_text = text_column(design.data, rows), text_column(design.data, cols)
        self.answered = (r_text.notna() & c_text.notna()).to_numpy() & in_domain
        self.r_levels = sorted(set(r_text[in_domain & r_text.notna().to_numpy()]))
        self.c_levels = sorted(set(c_text[in_domain & c_text.notna().to_numpy()]))
        nr, nc = len(self.r_levels), len(self.c_levels)
        if nr < 2 or nc < 2:
            raise KalibError(
                f"crosstab {rows} x {cols}: need at least two categories each, "
                f"got {nr} ({rows}) and {nc} ({cols}) in the domain"
            )
        items = []
        for c in self.c_levels:  # rows vary fastest within each column (R's order)
            for r in self.r_levels:
                hit = ((r_text == r) & (c_text == c)).to_numpy(np.float64)
                items.append(Item(f"{r}:{c}", hit, np.ones(n), self.answered, "proportion"))
        # R's svychisq on a subset drops the other rows (and those with a
        # missing category): present, for the lonely-PSU policies that count rows
        p, V, _, _ = domain_covariance(design, items, "all", present=self.answered)
        p = p.reshape(-1)
        self.N = int(in_domain.sum())
        self.nu = _domain_df(design, in_domain)
        self.cells = np.array([it.num for it in items]).T * self.answered[:, None]
        self.table = (design.weights @ self.cells).reshape(nc, nr).T
        self.counts = self.cells.sum(axis=0).reshape(nc, nr).T
        self.x2, self.df, _ = pearson(self.table * self.N / self.table.sum())
        C = _contrasts(nr, nc)
        inv = np.where(p == 0, 0.0, 1.0 / np.where(p == 0, 1.0, p))
        CiD = C * inv[:, None]
        self.denominator, self.numerator = CiD.T @ C / self.N, CiD.T @ V @ CiD
        self.delta = np.linalg.solve(self.denominator, self.numerator)

    def wald(self, design) -> float:
        """``Y' V^-1 Y`` for the interaction cells (rows and columns after
        the first) of ``Y_rc = N_rc - N_r N_c / N``, the weighted counts'
        departure from independence, with its delta-method covariance: the
        covariance of the totals of ``z_rc = 1_rc - (N_c/N) 1_r - (N_r/N) 1_c
        + N_r N_c / N^2`` (R ``svychisq(statistic = "Wald")``)."""
        nr, nc = self.table.shape
        N_r, N_c, N = self.table.sum(axis=1), self.table.sum(axis=0), self.table.sum()
        in_row = self.cells.reshape(-1, nc, nr).sum(axis=1)  # (n, nr)
        in_col = self.cells.reshape(-1, nc, nr).sum(axis=2)  # (n, nc)
        items = []
        for c in range(1, nc):
            for r in range(1, nr):
                z = (
                    self.cells[:, c * nr + r]
                    - N_c[c] / N * in_row[:, r]
                    - N_r[r] / N * in_col[:, c]
                    + N_r[r] * N_c[c] / N**2 * self.answered
                )
                items.append(Item(f"{r}:{c}", z, None, self.answered, "total"))
        Y, V, _, _ = domain_covariance(design, items, "all", present=self.answered)
        Y = Y.reshape(-1)
        return float(Y @ np.linalg.solve(V, Y))


def _domain_df(design, in_domain) -> float:
    if design.replicates is not None:
        return float(design.degf)
    return float(np.unique(design.psu[in_domain]).size - np.unique(design.strata[in_domain]).size)
