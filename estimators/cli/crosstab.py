"""``kalib crosstab``: a weighted two-way table with SEs and its tests.

    kalib crosstab SAMPLE.csv [design or replicate options] --rows VAR --cols VAR
                   [--by VAR] [--where EXPR] [--statistic Wald|adjWald|saddlepoint ...]
                   --out TAB.csv [--force] [--quiet]

Writes one row per cell (and domain): ``domain_var, domain, rows, cols, n,
weighted_count, weighted_count_se, proportion, proportion_se, ci_low,
ci_high`` (``rows``/``cols`` hold the categories; the proportion is the cell's
share of the domain's table, with a logit CI). Prints, per domain, R
``svychisq``'s "F" (Rao–Scott second order, df and p) and "Chisq" (Pearson X^2
of the weighted table scaled to n with the first-order corrected p), and the
unweighted Pearson X^2 (see ``estimators.inference.chisq``); each
``--statistic`` adds a line with that statistic of R ``svychisq`` (the
design-based Wald test, its adjusted form, or X^2 by saddlepoint).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from estimators.cli.estimate import add_domain_arguments, build_design, compared_columns
from estimators.cli.options import scheduler_context
from weighting.errors import KalibError

COLUMNS = [
    "domain_var",
    "domain",
    "rows",
    "cols",
    "n",
    "weighted_count",
    "weighted_count_se",
    "proportion",
    "proportion_se",
    "ci_low",
    "ci_high",
]


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "crosstab",
        help="weighted two-way table with Rao-Scott tests",
        description="Weighted table with SEs; Rao-Scott F and Chisq (as R svychisq) "
        "and the unweighted Pearson chi-square.",
    )
    p.add_argument("sample", type=Path, metavar="SAMPLE", help="sample CSV or parquet file")
    p.add_argument("--rows", required=True, metavar="VAR", help="row variable")
    p.add_argument("--cols", required=True, metavar="VAR", help="column variable")
    p.add_argument(
        "--statistic",
        action="append",
        default=[],
        choices=("Wald", "adjWald", "saddlepoint"),
        help="also print this svychisq statistic; repeatable",
    )
    add_domain_arguments(p)
    p.add_argument(
        "--out", type=Path, required=True, metavar="PATH", help="output CSV (or .parquet)"
    )
    p.set_defaults(run=run)
    return p


def crosstab(design, rows, cols, by=(), where=None, level=0.95, statistics=()):
    """Cell table (DataFrame with ``COLUMNS``) and ``[(domain_var, domain,
    ChisqResult, [ChisqTest of each of statistics])]`` for the whole sample
    and each ``by`` domain."""
    import pandas as pd

    from estimators.inference import estimate as E
    from estimators.inference.chisq import rao_scott, svychisq
    from estimators.inference.domains import ALL, EmptyDomainError, domain_codes, text_column

    restrict = np.ones(design.n, bool) if where is None else where.mask(design.data)
    r_text, c_text = text_column(design.data, rows), text_column(design.data, cols)
    answered = (r_text.notna() & c_text.notna()).to_numpy()
    r_levels, c_levels = sorted(set(r_text.dropna())), sorted(set(c_text.dropna()))
    shares, totals = [], []
    for r in r_levels:
        for c in c_levels:
            hit = ((r_text == r) & (c_text == c)).to_numpy(np.float64)
            shares.append(E.Item(f"{r}|{c}", hit, np.ones(design.n), answered, "proportion"))
            totals.append(E.Item(f"{r}|{c}", hit, None, answered, "total"))
    specs = [ALL] + [b for b in by if b != ALL]
    coded = {spec: domain_codes(design.data, spec) for spec in specs}
    for spec, (codes, labels) in coded.items():
        # a table of no rows has no shares and no test: say which, before work
        counts = np.bincount(codes[restrict & answered], minlength=len(labels))
        if (counts == 0).any():
            where_text = "" if where is None else f" within --where {str(where)!r}"
            head = (
                "no row"
                if spec == ALL
                else f"domain {spec} = {labels[int(np.argmin(counts))]} has no row"
            )
            raise EmptyDomainError(f"{head} with both {rows!r} and {cols!r} answered{where_text}")
    mask = None if where is None else where
    p = E.estimate_items(design, shares, specs, mask, ci="logit", level=level).frame
    t = E.estimate_items(design, totals, specs, mask, ci="logit", level=level).frame
    cells = p["variable"].str.split("|", n=1, expand=True)
    table = pd.DataFrame(
        {
            "domain_var": p["domain_var"],
            "domain": p["domain"],
            "rows": cells[0],
            "cols": cells[1],
            "n": p["unweighted"] * p["n"],
            "weighted_count": t["estimate"],
            "weighted_count_se": t["se"],
            "proportion": p["estimate"],
            "proportion_se": p["se"],
            "ci_low": p["ci_low"],
            "ci_high": p["ci_high"],
        }
    )
    table["n"] = table["n"].round().astype(np.int64)
    tests = []
    for spec, (codes, labels) in coded.items():
        for g, label in enumerate(labels):
            mask = restrict & (codes == g)
            try:
                res = rao_scott(design, rows, cols, domain=mask)
                extra = [svychisq(design, rows, cols, s, domain=mask) for s in statistics]
            except KalibError as exc:  # e.g. one category only in this domain
                res, extra = exc, []
            tests.append((spec, label, res, extra))
    return table[COLUMNS], tests


def run(args) -> int:
    from estimators.inference.domains import ALL, parse_where
    from estimators.io.files import check_writable, csv_compression, write_table

    check_writable(args.out, args.force)
    csv_compression(args.out)  # a name of another format: refused before the work
    where = parse_where(args.where) if args.where else None
    with scheduler_context(args.scheduler):
        design = build_design(
            args, text_columns=[args.rows, args.cols] + compared_columns(args, where)
        )
        table, tests = crosstab(
            design, args.rows, args.cols, args.by, where, args.level, args.statistic
        )
    write_table(table, args.out, force=args.force)
    if not args.quiet:
        for spec, label, res, extra in tests:
            head = "all" if spec == ALL else f"{spec} = {label}"
            if isinstance(res, KalibError):
                print(f"{args.rows} x {args.cols} [{head}]: not testable: {res}")
                continue
            print(f"{args.rows} x {args.cols} [{head}] (N = {res.n})")
            for line in res.lines() + [t.line() for t in extra]:
                print(f"  {line}")
    return 0
