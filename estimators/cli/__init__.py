"""The ``kalib`` command line.

One module per subcommand; each exposes ``add_parser(subparsers)`` and a
``run(args) -> int``. Exit codes (``../shared/CLI.md``): 0 success, 2 bad input
(one line on stderr naming the offender, no traceback), 1 internal error.

Ctrl-C (SIGINT) and SIGTERM at any moment end the run with one line on stderr
(``kalib report: interrupted``) and exit 130 or 143 (128 + the signal, as a
shell reports a process its signal ended): the signal raises
:class:`Interrupted` (a ``KeyboardInterrupt``) in the main thread, so every
``finally`` block runs and the atomic writers remove their temporary files,
leaving an existing output as it was.

Every run computes with one BLAS thread (``estimators._threads``): a
multi-threaded BLAS splits the sums of a matrix product between its threads,
so the last bits of a variance would depend on ``OMP_NUM_THREADS`` and the
machine's cores; the compiled kernels' own OpenMP threads (one replicate per
thread, each summed in a fixed order) keep their parallelism.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import sys
import threading
from contextlib import contextmanager
from typing import NoReturn

from estimators._threads import thread_limits
from estimators._version import __version__

# Subcommand name -> (module under estimators.cli, its line in `kalib --help`).
# A run imports only its own subcommand's module (and that module imports
# what its options need; its work's libraries are imported when it runs), so
# `kalib --help` imports none and `kalib rake` no matplotlib or statsmodels.
SUBCOMMANDS = {
    "rake": ("rake", "calibrate a sample to population margins"),
    "replicate": ("replicate", "replicate weights, each replicate re-calibrated"),
    "estimate": ("estimate", "means, proportions or key rates with confidence intervals"),
    "crosstab": ("crosstab", "weighted two-way table with Rao-Scott tests"),
    "model": ("model", "design-based regression (svyglm, svyolr)"),
    "data": ("data", "bundled data and CATI file checks"),
    "report": ("report", "the reweighted surveys: key rates with CIs as HTML, CSV, xarray"),
}


class Interrupted(KeyboardInterrupt):
    """The run was interrupted by signal ``signum`` (SIGINT or SIGTERM)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


#: The signals that end a run cleanly. SIGTERM's default action kills the
#: process on the spot (no ``finally``, temporary files left behind), so it
#: gets the handler Ctrl-C has.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


#: Libraries whose logs an interrupted run silences: a Dask cluster torn down
#: mid-task makes distributed and asyncio log every cancelled task and closed
#: stream ("Task exception was never retrieved"), from their event-loop
#: thread, as soon as the interrupt cancels the first future.
NOISY_LOGGERS = ("distributed", "asyncio", "tornado")


def silence_library_logs() -> None:
    """After an interrupt the command line's one line says all there is to
    say: the logs of :data:`NOISY_LOGGERS` are switched off."""
    import logging

    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _interrupt(signum, frame):
    # Later signals (a second Ctrl-C) must not cut the clean-up short: the
    # first one is acted on, the rest ignored until the process exits.
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    # Silenced here, in the handler, before the exception unwinds anything:
    # a cluster's loop thread logs the moment a future is cancelled, which
    # can be before the unwinding reaches the scheduler's clean-up.
    silence_library_logs()
    raise Interrupted(signum)


def _default_signals_in_child() -> None:
    # A forked worker (the report's figures) inherits the handler; it holds no
    # output of its own, and a KeyboardInterrupt there would print the
    # worker's traceback: it ends as the signal's default action ends it,
    # and the parent, interrupted too, reports.
    for sig in SIGNALS:
        if signal.getsignal(sig) is _interrupt:
            signal.signal(sig, signal.SIG_DFL)


os.register_at_fork(after_in_child=_default_signals_in_child)


@contextmanager
def interrupts_raise():
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (in
    the main thread; elsewhere signals cannot be handled and nothing
    changes); the previous handlers are put back after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _interrupt) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


class OneLineParser(argparse.ArgumentParser):
    """argparse's own errors (an unknown option, a bad ``--level``) as the one
    line on stderr, exit 2, that every other bad input gets, instead of the
    usage block before it; ``--help`` shows the usage. The subcommands'
    parsers are of this class too (argparse makes them of their parent's)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(commands=None) -> argparse.ArgumentParser:
    """The ``kalib`` parser: the subcommands named in ``commands`` in full
    (their modules imported), the others as their line of help; without
    ``commands``, every subcommand in full."""
    parser = OneLineParser(
        prog="kalib",
        description="Survey calibration and design-based inference.",
    )
    parser.add_argument("--version", action="version", version=f"kalib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, summary) in SUBCOMMANDS.items():
        if commands is None or name in commands:
            importlib.import_module(f"estimators.cli.{module}").add_parser(sub)
        else:
            sub.add_parser(name, help=summary)
    return parser


# A list of numbers that starts with a minus sign (`--bounds -1,2`): argparse
# takes only single negative numbers for option values and would read this one
# as an unknown option ("expected one argument").
_NEGATIVE_LIST = re.compile(r"-\d[\d.eE+-]*(,[\d.eE+-]*)+")


def joined_negative_lists(argv: list[str]) -> list[str]:
    """``--opt -1,2`` written as ``--opt=-1,2``, which argparse reads as the
    option's value; nothing else changes."""
    out: list[str] = []
    for token in argv:
        previous = out[-1] if out else ""
        if _NEGATIVE_LIST.fullmatch(token) and previous.startswith("--") and "=" not in previous:
            out[-1] = f"{previous}={token}"
        else:
            out.append(token)
    return out


# A run's input files by option (their words in the message) and its outputs.
_INPUTS = {
    "sample": "input SAMPLE",
    "file": "input FILE",
    "from_07091": "--from-07091",
    "margins": "--margins",
    "replicate_weights": "--replicate-weights",
    "pps": "--pps",
}
_OUTPUTS = ("out", "predict_out")


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two names are one file: the same inode when both exist (a hard
    link, a symbolic link, a relative path), else the same path once links
    are followed (an output not written yet)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_inputs_as_outputs(args: argparse.Namespace) -> None:
    """OutputWriteError when an output of the run is one of its input files
    (the same file by any name), or a directory that holds one: ``--force``
    replaces an earlier output, never the data a run reads (``kalib rake s.csv
    --out s.csv --force`` would otherwise overwrite the sample's base weights
    with the calibrated ones; ``kalib report d/s.csv --out d --force`` would
    delete the sample with the old directory)."""
    outputs = [o for o in (getattr(args, name, None) for name in _OUTPUTS) if o is not None]
    existing = [o for o in outputs if os.path.exists(o)]
    if not existing:
        return  # the usual case: nothing to compare
    for name, words in _INPUTS.items():
        given = getattr(args, name, None)
        for path in given if isinstance(given, list) else [given]:
            if path is None or not os.path.isfile(path):
                continue  # --pps brewer, say: not a file
            for out in existing:
                if os.path.isdir(out):
                    # through a link too: the directory replaced is its target
                    held = os.path.realpath(out)
                    if os.path.commonpath([held, os.path.realpath(path)]) != held:
                        continue
                    problem = f"is a directory that holds the {words} file {str(path)!r}"
                    place = "directory"
                elif same_file(out, path):
                    problem, place = f"is also the {words} file", "file"
                else:
                    continue
                from estimators.io.files import OutputWriteError

                raise OutputWriteError(
                    f"output {str(out)!r} {problem}; write to another {place} "
                    "(--force replaces outputs, never inputs)"
                )


def main(argv: list[str] | None = None) -> int:
    argv = joined_negative_lists(sys.argv[1:] if argv is None else list(argv))
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    with interrupts_raise():
        try:
            # The first argument naming a subcommand (`kalib rake ...`): only
            # its parser is built. Anything else (`kalib --help`, a typo)
            # needs only the list of subcommands.
            parser = build_parser([command] if command else [])
            args = parser.parse_args(argv)
            from weighting.errors import KalibError  # the subcommand has loaded it

            try:
                refuse_inputs_as_outputs(args)
                with thread_limits(blas=1):
                    return int(args.run(args) or 0)
            except KalibError as exc:
                from estimators.cli.inputs import sample_position
                from estimators.cli.options import error_message

                message = error_message(exc, args) + sample_position(exc, args)
                print(f"kalib {args.command}: error: {message}", file=sys.stderr)
                return 2
            except MemoryError as exc:
                # A kernel's scratch (cext/alloc.pxd names the step and the
                # buffer) or an array too large for this machine: one line, no
                # traceback; outputs are written atomically, none half-written.
                print(f"kalib {args.command}: error: out of memory: {exc}", file=sys.stderr)
                return 1
            except BrokenPipeError:
                # The reader of stdout has gone (`kalib rake ... | head -1`): as a
                # process that SIGPIPE ends, silently, with no traceback now or
                # at exit (the buffered rest goes to /dev/null). Outputs are
                # written atomically before the summaries, so none is half-written.
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                return 128 + signal.SIGPIPE
        except KeyboardInterrupt as exc:
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            print(f"kalib{' ' + command if command else ''}: interrupted", file=sys.stderr)
            return 128 + signum


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
