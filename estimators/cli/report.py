"""``kalib report [SAMPLE]``: calibrate, replicate, estimate every key rate and
write the report directory (index.html, keyrates.csv/.nc, weights, replicate
weights, figures, run.json). Options as in ``../shared/CLI.md``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from estimators.report.labels import LANGUAGES
from weighting.errors import KalibError

VARIANCE_METHODS = ("bootstrap", "jkn", "jk1", "linearization")
CALIBRATIONS = ("raking", "linear", "logit", "truncated")
CI_METHODS = ("logit", "beta", "korn-graubard", "xlogit", "wilson", "wald", "percentile")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "report", help="the reweighted employer survey: key rates with CIs as HTML, CSV, xarray",
        description=__doc__)
    p.add_argument("sample", nargs="?", type=Path, metavar="SAMPLE",
                   help="sample CSV (default: the bundled CATI employer survey)")
    p.add_argument("--margins", action="append", type=Path, default=[], metavar="FILE",
                   help="population margin CSV, repeatable (default: bundled SSB margins)")
    p.add_argument("--id", default="id", metavar="COL", help="unit identifier column")
    p.add_argument("--weight", metavar="COL", help="base weight column")
    p.add_argument("--strata", metavar="COL", help="stratum column")
    p.add_argument("--psu", metavar="COL", help="primary sampling unit column")
    p.add_argument("--fpc", metavar="COL", help="population count or sampling fraction column")
    p.add_argument("--calibration", choices=CALIBRATIONS, default="raking",
                   help="calibration distance (default raking)")
    p.add_argument("--bounds", type=_bounds, metavar="L,U", help="bounds on g")
    p.add_argument("--tol", type=float, default=1e-10, metavar="T", help="convergence tolerance")
    p.add_argument("--max-iter", type=int, default=1000, metavar="N", help="iteration cap")
    p.add_argument("--variance", choices=VARIANCE_METHODS, default="bootstrap",
                   help="variance method (default bootstrap, re-calibrated replicates)")
    p.add_argument("--replicates", type=_positive_int, default=1000, metavar="B",
                   help="number of bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=20170602, metavar="S", help="random seed")
    p.add_argument("--ci", choices=CI_METHODS, default="logit",
                   help="CI method for proportions (default logit)")
    p.add_argument("--level", type=_level, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--lang", choices=LANGUAGES, default="en", help="page language")
    p.add_argument("--out", type=Path, default=Path("report"), metavar="PATH",
                   help="output directory (default report/)")
    p.add_argument("--force", action="store_true", help="replace an existing output directory")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    from estimators.report import ReportSettings, build_report

    if args.sample is not None and not args.sample.is_file():
        raise KalibError(f"sample file {str(args.sample)!r} not found")
    for margin in args.margins:
        if not margin.is_file():
            raise KalibError(f"margin file {str(margin)!r} not found")
    settings = ReportSettings(
        sample=args.sample, margins=tuple(args.margins), id=args.id, weight=args.weight,
        strata=args.strata, psu=args.psu, fpc=args.fpc, calibration=args.calibration,
        bounds=args.bounds, tol=args.tol, max_iter=args.max_iter, variance=args.variance,
        replicates=args.replicates, seed=args.seed,
        ci="beta" if args.ci == "korn-graubard" else args.ci, level=args.level,
        lang=args.lang, out=args.out, force=args.force, quiet=args.quiet)
    report = build_report(settings)
    if not args.quiet:
        total = sum(report.timings.values())
        print(f"kalib report: {len(report.keyrates)} estimates of "
              f"{report.keyrates['rate'].nunique()} key rates written to "
              f"{args.out}/index.html in {total:.1f} s", file=sys.stderr)
    return 0


def _bounds(text: str) -> tuple[float, float]:
    try:
        lower, upper = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"bounds must be L,U (got {text!r})") from None
    if not lower < 1 < upper:
        raise argparse.ArgumentTypeError(f"bounds must satisfy L < 1 < U (got {text!r})")
    return lower, upper


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"need at least 2 replicates (got {text})")
    return value


def _level(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"level must be between 0 and 1 (got {text})")
    return value
