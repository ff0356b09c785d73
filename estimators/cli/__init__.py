"""The ``kalib`` command line.

One module per subcommand; each exposes ``add_parser(subparsers)`` and a
``run(args) -> int``. Exit codes (``../shared/CLI.md``): 0 success, 2 bad input
(one line on stderr naming the offender, no traceback), 1 internal error.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from estimators._version import __version__
from weighting.errors import KalibError

# Subcommand name -> module under estimators.cli (imported lazily so that
# `kalib rake` does not pay for matplotlib or statsmodels).
SUBCOMMANDS = {
    "rake": "rake",
    "replicate": "replicate",
    "estimate": "estimate",
    "crosstab": "crosstab",
    "model": "model",
    "data": "data",
    "report": "report",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kalib",
        description="Survey calibration and design-based inference.",
    )
    parser.add_argument("--version", action="version", version=f"kalib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        try:
            mod = importlib.import_module(f"estimators.cli.{module}")
        except ModuleNotFoundError as exc:  # subcommand not built yet
            if exc.name != f"estimators.cli.{module}":
                raise
            continue
        mod.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KalibError as exc:
        from estimators.cli.options import error_message

        print(f"kalib {args.command}: error: {error_message(exc, args)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
