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

A test *within a domain* (``--by``/``--where``) uses the cell proportions of
the domain estimated on the full design (domain semantics), ``N`` the rows of
the domain and ``nu`` its PSUs minus strata (R's ``svychisq`` on
``subset(design, ...)`` of an uncalibrated design). R keeps every row of a
*calibrated* design in a subset and so scales its X^2 to the whole sample;
kalib scales to the domain in every case.

References
----------
Rao, J. N. K. and Scott, A. J. (1984). On chi-squared tests for multiway
contingency tables with cell proportions estimated from survey data. Annals
of Statistics 12, 46-60.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from estimators.inference.domains import text_column
from estimators.inference.estimate import Item, domain_covariance
from weighting.errors import KalibError


@dataclass
class ChisqResult:
    """Rao–Scott and Pearson statistics of one two-way table."""

    rows: list
    cols: list
    table: np.ndarray          # weighted counts (r, c)
    counts: np.ndarray         # unweighted counts (r, c)
    n: int                     # N: rows of the (domain) sample
    nu: float                  # design degrees of freedom
    pearson: float             # X^2 of the weighted table scaled to N
    f: float
    f_ndf: float
    f_ddf: float
    f_p: float
    chisq_df: int
    chisq_p: float
    unweighted: float          # Pearson X^2 of the unweighted counts
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
    main = np.column_stack([np.ones(nr * nc)]
                           + [(r == i).astype(float) for i in range(1, nr)]
                           + [(c == j).astype(float) for j in range(1, nc)])
    inter = np.column_stack([((r == i) & (c == j)).astype(float)
                             for j in range(1, nc) for i in range(1, nr)])
    coef, *_ = np.linalg.lstsq(main, inter, rcond=None)
    return inter - main @ coef


def rao_scott(design, rows: str, cols: str, domain=None) -> ChisqResult:
    """Rao–Scott tests of ``rows`` x ``cols`` on ``design`` (optionally within
    the boolean ``domain`` mask), as R ``svychisq`` statistics "F" and
    "Chisq"; also the unweighted Pearson X^2 of the same rows."""
    n = design.n
    in_domain = np.ones(n, bool) if domain is None else np.asarray(domain, bool)
    r_text, c_text = text_column(design.data, rows), text_column(design.data, cols)
    answered = (r_text.notna() & c_text.notna()).to_numpy() & in_domain
    r_levels = sorted(set(r_text[in_domain & r_text.notna().to_numpy()]))
    c_levels = sorted(set(c_text[in_domain & c_text.notna().to_numpy()]))
    nr, nc = len(r_levels), len(c_levels)
    if nr < 2 or nc < 2:
        raise KalibError(f"crosstab {rows} x {cols}: need at least two categories each, "
                         f"got {nr} ({rows}) and {nc} ({cols}) in the domain")
    items = []
    for c in c_levels:      # rows vary fastest within each column (R's order)
        for r in r_levels:
            hit = ((r_text == r) & (c_text == c)).to_numpy(np.float64)
            items.append(Item(f"{r}:{c}", hit, np.ones(n), answered, "proportion"))
    p, V, _, _ = domain_covariance(design, items, "all")
    p = p.reshape(-1)
    N = int(in_domain.sum())
    nu = _domain_df(design, in_domain)

    w = design.weights
    cells = np.array([it.num for it in items]).T * answered[:, None]
    table = (w @ cells).reshape(nc, nr).T
    counts = cells.sum(axis=0).reshape(nc, nr).T
    x2, df, _ = pearson(table * N / table.sum())

    C = _contrasts(nr, nc)
    inv = np.where(p == 0, 0.0, 1.0 / np.where(p == 0, 1.0, p))
    CiD = C * inv[:, None]
    delta = np.linalg.solve(CiD.T @ C / N, CiD.T @ V @ CiD)
    trace = np.trace(delta)
    d0 = trace**2 / np.trace(delta @ delta)
    f = x2 / trace
    u_x2, u_df, u_p = pearson(counts)
    return ChisqResult(
        rows=r_levels, cols=c_levels, table=table, counts=counts, n=N, nu=nu,
        pearson=x2, f=f, f_ndf=d0, f_ddf=d0 * nu,
        f_p=float(stats.f.sf(f, d0, d0 * nu)),
        chisq_df=df, chisq_p=float(stats.chi2.sf(x2 / np.mean(np.diag(delta)), df)),
        unweighted=u_x2, unweighted_df=u_df, unweighted_p=u_p)


def _domain_df(design, in_domain) -> float:
    if design.replicates is not None:
        return float(design.degf)
    return float(np.unique(design.psu[in_domain]).size
                 - np.unique(design.strata[in_domain]).size)
