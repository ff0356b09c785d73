"""``kalib model``: design-based GLM (R's ``svyglm``) or proportional-odds
model (R's ``svyolr``).

    kalib model SAMPLE.csv [design or replicate options] [--where EXPR]
                --formula "Y ~ A + B" --family gaussian|binomial|poisson|ordinal
                [--link logit|probit] [--levels A,B,C]
                [--predict VAR ... --predict-out MARGINS.csv] [--level 0.95]
                --out COEF.csv [--force] [--quiet]

Design, calibration and replicate options are those of ``kalib estimate``
(``--variance linearization`` by default; ``bootstrap``/``jkn``/``jk1`` make
and re-calibrate replicates in this process; ``--replicate-weights FILE``
uses a ``kalib replicate`` file). ``--where`` fits the model on a domain, on
the full design, as rows with a missing model variable are.

Output (CLI.md): ``term, estimate, se, t, df, p, ci_low, ci_high``, plus
``odds_ratio, or_ci_low, or_ci_high`` for ``binomial``; term names as patsy
writes them (``Intercept``, ``sector[T.public]``), the reference level of a
factor the first in sorted order. ``--family ordinal`` (link ``logit`` or
``probit``): the coefficients, then the thresholds as rows named ``1|2``,
``2|3``, ... (R's names); the odds-ratio columns (logit) are empty on them.
The response's categories are its sorted numeric codes, or ``--levels``
(lowest first; needed for text codes). Categorical variables stored as numbers
(``1``, ``2``) enter as numbers unless written ``C(VAR)``. A binomial response
is 0/1 or ``I(VAR == 'code')``.

``--predict VAR`` (repeatable, needs ``--predict-out``) writes predictive
margins of the factor VAR and their differences from its first level
(average marginal effects) with ``variable, level, estimate, se, ci_low,
ci_high, contrast, contrast_se, contrast_ci_low, contrast_ci_high, df``;
for ``ordinal``, one row per level and category (column ``category`` after
``level``), the margin being the predicted probability of the category.
The summary (unless ``--quiet``) shows the table and a design-based Wald F
test of every term (R's ``regTermTest``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from estimators.cli.estimate import add_domain_arguments, build_design, compared_columns
from estimators.cli.options import scheduler_context

# The families and links are the parser's choices (and need scipy, as every
# model run does); the rest is imported when the model runs.
from estimators.model.families import FAMILIES
from estimators.model.ordinal import LINKS
from weighting.errors import KalibError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "model",
        help="design-based regression (svyglm, svyolr)",
        description="Design-based GLM: coefficients with design-based SEs, t on the "
        "design df, CIs, odds ratios (binomial) and Wald tests of terms.",
    )
    p.add_argument("sample", type=Path, metavar="SAMPLE", help="sample CSV or parquet file")
    p.add_argument(
        "--formula",
        required=True,
        metavar="'Y ~ A + B'",
        help="patsy formula, e.g. \"I(trainee_now == 'yes') ~ sector + size_class\"",
    )
    p.add_argument(
        "--family",
        choices=tuple(FAMILIES) + ("ordinal",),
        default="gaussian",
        help="gaussian (linear), binomial (logistic), poisson (log-linear) or "
        "ordinal (proportional odds, R's svyolr)",
    )
    p.add_argument(
        "--link",
        choices=tuple(LINKS),
        default=None,
        help="link of --family ordinal: logit (default) or probit",
    )
    p.add_argument(
        "--levels",
        metavar="A,B,C",
        help="categories of an ordinal response, lowest first (needed when "
        "they are text; else the sorted numeric codes)",
    )
    p.add_argument(
        "--predict",
        action="append",
        default=[],
        metavar="VAR",
        help="predictive margins of factor VAR; repeatable (needs --predict-out)",
    )
    p.add_argument(
        "--predict-out", type=Path, metavar="PATH", help="CSV for the --predict margins"
    )
    add_domain_arguments(p)
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="PATH",
        help="coefficient table CSV (or .parquet)",
    )
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    import pandas as pd

    from estimators.cli import same_file
    from estimators.inference.domains import parse_where
    from estimators.io.files import check_writable, csv_compression, write_table
    from estimators.model import svyglm, svyolr
    from estimators.model.formula import formula_variables

    check_writable(args.out, args.force)
    csv_compression(args.out)  # a name of another format: refused before the work
    if args.by:
        raise KalibError(
            "kalib model takes no --by: put the variable in the formula "
            "(or fit a domain with --where)"
        )
    for option, value in (("--link", args.link), ("--levels", args.levels)):
        if value is not None and args.family != "ordinal":
            raise KalibError(f"{option} is for --family ordinal, not --family {args.family}")
    levels = None if args.levels is None else [v.strip() for v in args.levels.split(",")]
    if levels is not None and "" in levels:
        raise KalibError(
            f"--levels {args.levels!r} has an empty level: give the response's "
            "categories lowest first, e.g. --levels low,medium,high"
        )
    if bool(args.predict) != (args.predict_out is not None):
        raise KalibError("--predict VAR and --predict-out PATH go together")
    if args.predict_out is not None:
        if same_file(args.predict_out, args.out):
            # with --force the margins would silently replace the coefficients
            raise KalibError(
                f"--predict-out {str(args.predict_out)!r} is the --out file; "
                "give the predictive margins a file of their own"
            )
        check_writable(args.predict_out, args.force)
        csv_compression(args.predict_out)
    where = parse_where(args.where) if args.where else None
    # --where's columns as text (codes keep leading zeros), unless the model uses them
    model_columns = set(formula_variables(args.formula))
    text = [c for c in compared_columns(args, where) if c not in model_columns]
    with scheduler_context(args.scheduler):
        design = build_design(args, text_columns=text)
        if args.family == "ordinal":
            fit = svyolr(
                args.formula,
                design,
                args.link or "logit",
                levels=levels,
                subset=where,
                level=args.level,
            )
        else:
            fit = svyglm(args.formula, design, args.family, subset=where, level=args.level)
    margins = [fit.predicted_margins(var) for var in args.predict]
    write_table(fit.tidy(), args.out, force=args.force)
    if margins:
        write_table(pd.concat(margins, ignore_index=True), args.predict_out, force=args.force)
    if not args.quiet:
        print(fit.summary())
        for table in margins:
            print()
            print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    return 0
