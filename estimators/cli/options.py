"""Option groups shared by several subcommands (same name, same meaning:
``../shared/CLI.md``), and the command line's spelling of library options in
error messages."""

from __future__ import annotations

import argparse
import importlib
import threading
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path

from estimators.inference.ci import ALIASES, PROPORTION_METHODS
from weighting.errors import KalibError
from weighting.pps import PPS_METHODS
from weighting.replicates import REPLICATE_TYPES
from weighting.spec import CalibrationSpec

VARIANCES = ("bootstrap", "jkn", "jk1", "linearization")
CALIBRATIONS = ("raking", "linear", "logit", "truncated", "poststratify")

# How the command line offers a library option that an error names
# (KalibError.option): said instead of the library's remedy, in subcommands
# that have the option.
REMEDIES = {
    "normalize_margins": "use --normalize-margins to rescale every margin to the first",
    "accept_failures": "use --accept-failures to keep failed replicates, flagged",
    "lonely_psu": "use --lonely-psu certainty, or --lonely-psu LONELY=NEIGHBOUR to merge",
    "nest": "use --nest if equal PSU codes in different strata are different PSUs",
    "collapse_strata": "use --collapse-strata to pair one-PSU strata (which overstates the "
    "variance)",
    "partial": "use --partial to drop them; the weights then sum to less than the "
    "population total",
    "replicate_type": "for a file written elsewhere give --replicate-type TYPE and, as it "
    "needs, --scale, --rscales, --fay-rho",
    "rscales": "give --rscales (one number, or one per replicate column)",
}


def error_message(exc: KalibError, args: argparse.Namespace) -> str:
    """The one-line message of ``exc`` for the command line: the library's
    remedy (Python keywords) replaced by the option of the subcommand that
    ``args`` were parsed for, or left out when it has none (every option's
    ``dest`` is the library keyword it sets)."""
    if exc.option is None:
        return str(exc)
    if exc.option in REMEDIES and exc.option in vars(args):
        return f"{exc.message} ({REMEDIES[exc.option]})"
    return exc.message


def add_calibration_arguments(
    p: argparse.ArgumentParser, margins_required=True, poststratify=True
) -> None:
    """The calibration options of ``../shared/CLI.md`` (read back by
    :func:`calibration_spec`); ``poststratify`` offers ``--calibration
    poststratify`` and ``--partial`` (subcommands that calibrate through
    :func:`calibrate_design`)."""
    p.add_argument(
        "--margins",
        action="append",
        type=Path,
        required=margins_required,
        metavar="FILE",
        help="population margin CSV (variables..., total); repeatable",
    )
    p.add_argument(
        "--calibration",
        default="raking",
        choices=CALIBRATIONS if poststratify else CALIBRATIONS[:-1],
        help="calibration distance (default raking); truncated = linear "
        "with bounds"
        + ("; poststratify = one (crossed) margin, R's postStratify" if poststratify else ""),
    )
    if poststratify:
        p.add_argument(
            "--partial",
            action="store_true",
            help="with --calibration poststratify: drop population cells that "
            "have no sample unit (R's partial = TRUE; the weights then sum "
            "to less than the population total)",
        )
    p.add_argument(
        "--bounds", type=number_pair, metavar="L,U", help="bounds on g = calibrated / base weight"
    )
    p.add_argument("--trim-lower", type=float, metavar="X", help="lower cap on g")
    p.add_argument("--trim-upper", type=float, metavar="X", help="upper cap on g")
    p.add_argument(
        "--weight-bounds",
        type=number_pair,
        metavar="L,U",
        help="bounds on the calibrated weights themselves (R's bounds.const = TRUE; "
        "-inf/inf for none); not with --bounds",
    )
    p.add_argument(
        "--calibration-variance",
        metavar="COL",
        help="heteroskedastic calibration: g = F(x'lambda / v) with v the column "
        "(R's calibrate(variance = )); v = the calibration variable gives the ratio "
        "estimator",
    )
    p.add_argument(
        "--aggregate-stage",
        type=int,
        metavar="K",
        help="one weight adjustment per cluster of sampling stage K (1: the PSUs): "
        "calibration variables and base weights averaged within clusters "
        "(R's aggregate.stage)",
    )
    p.add_argument(
        "--tol",
        type=float,
        default=1e-10,
        metavar="T",
        help="max relative margin error |achieved-target|/(1+|target|) (default 1e-10)",
    )
    p.add_argument(
        "--max-iter", type=int, default=1000, metavar="N", help="iteration cap (default 1000)"
    )
    p.add_argument(
        "--allow-unconverged",
        action="store_true",
        help="keep an unconverged result (flagged) instead of an error",
    )
    p.add_argument(
        "--normalize-margins",
        action="store_true",
        help="rescale margins to the first margin's grand total",
    )


def calibration_spec(args) -> CalibrationSpec:
    """The one ``CalibrationSpec`` of the parsed calibration options (checked
    when made: subcommands make it before they read any file).
    ``--calibration poststratify`` is the linear calibration to its one
    margin (:func:`calibrate_design`), without bounds or trimming."""
    if args.calibration != "poststratify":
        if getattr(args, "partial", False):
            raise KalibError("--partial belongs to --calibration poststratify")
        return CalibrationSpec(
            args.calibration,
            args.bounds,
            trim_caps(args),
            args.tol,
            args.max_iter,
            args.allow_unconverged,
            args.normalize_margins,
            variance=args.calibration_variance,
            aggregate_stage=args.aggregate_stage,
            weight_bounds=args.weight_bounds,
        )
    variants = (args.weight_bounds, args.calibration_variance, args.aggregate_stage)
    if (
        args.bounds is not None
        or trim_caps(args) is not None
        or any(v is not None for v in variants)
    ):
        raise KalibError(
            "--calibration poststratify takes no --bounds, --weight-bounds, "
            "--trim-lower/--trim-upper, --calibration-variance or --aggregate-stage: "
            "g is N_c / (base-weight total of cell c) in every cell"
        )
    return CalibrationSpec(
        "linear",
        None,
        None,
        args.tol,
        args.max_iter,
        args.allow_unconverged,
        args.normalize_margins,
    )


def calibrate_design(design, margins, spec: CalibrationSpec, args):
    """``design`` calibrated as the options say: ``design.calibrate(margins,
    spec)``, or with ``--calibration poststratify`` R's ``postStratify`` to the
    one (crossed) margin (``Design.poststratify``, ``--partial``)."""
    if args.calibration != "poststratify":
        return design.calibrate(margins, spec=spec)
    if len(margins) != 1:
        raise KalibError(
            f"--calibration poststratify takes one (crossed) margin, got "
            f"{len(margins)} --margins files (cross the variables in one file)"
        )
    return design.poststratify(
        margins[0], partial=args.partial, tol=spec.tol, max_iter=spec.max_iter
    )


def trim_caps(args):
    """``(--trim-lower, --trim-upper)`` as given (either may be None), or None."""
    if args.trim_lower is None and args.trim_upper is None:
        return None
    return args.trim_lower, args.trim_upper


def add_design_arguments(p: argparse.ArgumentParser, pps: bool = False) -> None:
    """``--id --weight --strata --psu --fpc --nest --lonely-psu`` (and, with
    ``pps``, ``--pps --pps-variance``: subcommands that estimate on the design).

    ``--psu`` and ``--fpc`` are repeatable, one per sampling stage in order
    (R's ``id = ~psu + ssu, fpc = ~N1 + N2``): ``args.psu``/``args.fpc`` are
    lists (or None); :func:`stage_columns` gives ``Design`` its argument."""
    p.add_argument("--id", default="id", metavar="COL", help="unit identifier (default id)")
    p.add_argument("--weight", metavar="COL", help="base weight column (default N/n)")
    p.add_argument("--strata", metavar="COL", help="stratum column")
    p.add_argument(
        "--psu",
        action="append",
        metavar="COL",
        help="cluster column of a sampling stage: primary sampling units; repeat "
        "for later stages, in order (--psu district --psu school)",
    )
    p.add_argument(
        "--fpc",
        action="append",
        metavar="COL",
        help="population count per stratum (or sampling fraction if <= 1); repeat "
        "per stage in the order of --psu (a later stage's within each cluster of "
        "the stage before)",
    )
    p.add_argument(
        "--nest",
        action="store_true",
        help="PSU codes are nested in strata: equal codes in different strata are "
        "different PSUs (R's nest = TRUE; without it they are an error)",
    )
    p.add_argument(
        "--lonely-psu",
        type=_lonely_policy,
        default="error",
        metavar="POLICY|A=B,...",
        help="strata with one sampled PSU (or cluster at a later stage): error "
        "(default), certainty, remove, adjust, average (R's survey.lonely.psu), or "
        "LONELY=NEIGHBOUR[,...] to merge stage-1 strata",
    )
    p.add_argument(
        "--domain-lonely",
        action="store_true",
        help="in a domain, a stratum with one PSU holding the domain's rows is lonely "
        "for --lonely-psu adjust or average (R's survey.adjust.domain.lonely = TRUE)",
    )
    if pps:  # PPS without replacement (weighting.pps); no replicates on such a design
        p.add_argument(
            "--pps",
            metavar="brewer|overton|hr[=PSUM]|FILE",
            help="PPS sampling without replacement, --fpc giving the PSUs' inclusion "
            "probabilities: Brewer's, Overton's or Hartley-Rao's approximation (hr=PSUM: "
            "the population's sum of pi^2 / n, R's HR(psum)), or a "
            "CSV of joint inclusion probabilities (header row, one row and column per "
            "PSU in order of first appearance; R's pps = ppsmat(...))",
        )
        p.add_argument(
            "--pps-variance",
            choices=("HT", "YG"),
            type=str.upper,
            default="HT",
            help="Horvitz-Thompson (default) or Yates-Grundy form of a --pps design's "
            "variance (R's variance =)",
        )


#: the --lonely-psu policies given by name (weighting.design.LONELY_POLICIES)
LONELY_POLICIES = ("error", "certainty", "remove", "adjust", "average")


def _lonely_policy(text: str):
    if text in LONELY_POLICIES:
        return text
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    if not pairs or any(len(pair) != 2 or not all(pair) for pair in pairs):
        raise argparse.ArgumentTypeError(
            f"expected {', '.join(LONELY_POLICIES)} or LONELY=NEIGHBOUR[,...], got {text!r}"
        )
    return dict(pairs)


def stage_columns(columns):
    """``Design``'s ``psu``/``fpc`` from a repeatable option: None, the one
    column of a single stage (so that single-stage designs are built as
    before), or the tuple of the stages' columns."""
    if not columns:
        return None
    return columns[0] if len(columns) == 1 else tuple(columns)


def design_columns(args) -> list[str]:
    """The sample columns the design options name (strata, PSUs, fpc)."""
    return [c for c in [args.strata, *(args.psu or ()), *(args.fpc or ())] if c]


def design_of_args(frame, args):
    """The ``Design`` of the parsed design options on ``frame``."""
    from weighting.design import Design

    return Design(
        frame,
        weights=args.weight,
        strata=args.strata,
        psu=stage_columns(args.psu),
        fpc=stage_columns(args.fpc),
        nest=args.nest,
        lonely_psu=args.lonely_psu,
        domain_lonely=args.domain_lonely,
        pps=pps_option(getattr(args, "pps", None)),
        variance=getattr(args, "pps_variance", "HT"),
    )


def pps_option(value: str | None):
    """``Design``'s ``pps`` from ``--pps``: a method name as it is, ``hr=X``
    Hartley-Rao with the population's sum of pi^2 / n (R's ``HR(X)``), else
    the joint-inclusion matrix in the file it names."""
    if value is None or value.lower() in PPS_METHODS:
        return value
    name, _, psum = value.partition("=")
    if name.lower() in ("hr", "hartley-rao") and psum:
        from weighting.pps import HR

        try:
            return HR(float(psum))
        except ValueError:
            raise KalibError(f"--pps {value}: {psum!r} is not a number") from None
    from estimators.io.joint_inclusion import read_joint_inclusion

    return read_joint_inclusion(value)


def add_variance_arguments(p: argparse.ArgumentParser, default: str) -> None:
    """``--variance --replicates --seed``: replicates made in this process."""
    p.add_argument(
        "--variance",
        choices=VARIANCES,
        default=default,
        help=f"variance method when no replicate file is given (default {default})",
    )
    add_replicate_arguments(p)


def add_replicate_arguments(p: argparse.ArgumentParser) -> None:
    """``--replicates --seed`` (the RNG contract of ``../shared/CLI.md``)."""
    p.add_argument(
        "--replicates",
        type=replicate_count,
        default=1000,
        metavar="B",
        help="number of bootstrap replicates (default 1000)",
    )
    p.add_argument(
        "--seed", type=int, default=20170602, metavar="S", help="random seed (default 20170602)"
    )


def add_replicate_file_arguments(p: argparse.ArgumentParser) -> None:
    """``--replicate-type --scale --rscales --fay-rho``: the variance constants
    of a ``--replicate-weights`` file without sidecar (R's ``svrepdesign``
    rules, ``weighting.replicates.svrep_constants``; read back by
    :func:`replicate_file_options`)."""
    p.add_argument(
        "--replicate-type",
        choices=REPLICATE_TYPES + ("acs",),
        type=str.lower,
        metavar="TYPE",
        help="type of a --replicate-weights file without sidecar (R's "
        "svrepdesign type: " + ", ".join(REPLICATE_TYPES) + "); sets its "
        "scale and rscales by R's rules",
    )
    p.add_argument(
        "--scale",
        type=float,
        metavar="S",
        help="replicate-variance scale of a file without sidecar (bootstrap, "
        "jk1, jkn, other; the type's default otherwise)",
    )
    p.add_argument(
        "--rscales",
        type=number_list,
        metavar="R|R1,R2,...",
        help="rscales of a file without sidecar: one number, or one per "
        "replicate column (required for jkn)",
    )
    p.add_argument(
        "--fay-rho",
        type=fay_rho,
        metavar="RHO",
        help="Fay's rho of a --replicate-type fay file (default 0.5)",
    )


def replicate_file_options(args) -> dict:
    """The given ``--replicate-type --scale --rscales --fay-rho`` as
    ``read_replicate_weights`` keywords (they need ``--replicate-weights``)."""
    given = {
        name: getattr(args, name)
        for name in ("replicate_type", "scale", "rscales", "fay_rho")
        if getattr(args, name, None) is not None
    }
    if given and args.replicate_weights is None:
        raise KalibError(
            "--replicate-type, --scale, --rscales and --fay-rho describe a "
            "--replicate-weights file without sidecar"
        )
    return given


def add_scheduler_argument(p: argparse.ArgumentParser) -> None:
    """``--scheduler``: replicates on Dask (default: in-process, no Dask)."""
    p.add_argument(
        "--scheduler",
        metavar="threads|processes|ADDRESS",
        help="run replicate draws, re-calibration and replicate totals "
        "chunked on Dask: its threaded scheduler, a LocalCluster of "
        "processes, or an existing dask-scheduler's address "
        "(default: in-process; the numbers are the same)",
    )


@contextmanager
def scheduler_context(scheduler):
    """The Dask scheduler of ``--scheduler`` for the ``with`` block (nothing
    without it, so that the in-process path never imports dask)."""
    if scheduler is None:
        with nullcontext():
            yield
        return
    from estimators.scale import dask_scheduler

    try:
        with dask_scheduler(scheduler):
            try:
                yield
            except KeyboardInterrupt:
                _quiet_dask()  # before the cluster's teardown
                raise
    except KeyboardInterrupt:  # (or while the cluster was starting)
        _quiet_dask()
        raise


def _quiet_dask() -> None:
    """After an interrupt: a cluster torn down mid-task makes distributed and
    asyncio log every cancelled task and closed stream, here and in each
    worker process that outlives its scheduler, and a cluster whose start
    was cut short is closed again at exit, with a traceback. The command
    line's one line says all there is to say: the worker processes are
    ended and that closing at exit dropped (the logs were silenced by the
    signal handler, :func:`estimators.cli._interrupt`, before any of this)."""
    import atexit
    import multiprocessing
    import sys

    for worker in multiprocessing.active_children():  # a LocalCluster's
        worker.terminate()
    spec = sys.modules.get("distributed.deploy.spec")
    if spec is not None:
        atexit.unregister(spec.close_clusters)


@contextmanager
def importing(module: str):
    """Import ``module`` on a second thread while the block runs: for a block
    of compiled work that releases the GIL, and a module the command imports
    after it anyway. The thread is joined when the block ends, so that no
    import runs beside the command's own; an import that fails is left to
    the command's own import of the module to report."""
    thread = threading.Thread(target=_import_quietly, args=(module,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        thread.join()


def _import_quietly(module: str) -> None:
    with suppress(Exception):
        importlib.import_module(module)


def make_replicates(design, scheduler, method, **kwargs):
    """``design.with_replicates(method, **kwargs)``, chunked on Dask under
    ``--scheduler`` (call inside ``scheduler_context``)."""
    if scheduler is None:
        return design.with_replicates(method, **kwargs)
    from estimators.scale import with_replicates_chunked

    return with_replicates_chunked(design, method, **kwargs)


def add_ci_argument(p: argparse.ArgumentParser) -> None:
    """``--ci``: interval method for proportions."""
    p.add_argument(
        "--ci",
        default="logit",
        choices=PROPORTION_METHODS + tuple(ALIASES),
        help="CI method for proportions (default logit)",
    )


def add_level_argument(p: argparse.ArgumentParser) -> None:
    """``--level``."""
    p.add_argument(
        "--level", type=confidence_level, default=0.95, help="confidence level (default 0.95)"
    )


def replicate_count(text: str) -> int:
    value = int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"need at least 2 replicates (got {text})")
    return value


def confidence_level(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"level must be between 0 and 1 (got {text})")
    return value


def fay_rho(text: str) -> float:
    """``--fay-rho``: a number in [0, 1)."""
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"Fay's rho must be in [0, 1) (got {text})")
    return value


def number_list(text: str) -> list[float]:
    """``R`` or ``R1,R2,...`` as floats."""
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number or comma-separated numbers, got {text!r}"
        ) from None


def number_pair(text: str) -> tuple[float, float]:
    """``L,U`` as two floats (``inf``, ``-inf`` allowed)."""
    try:
        low, high = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected L,U (two numbers), got {text!r}") from None
    return low, high
