"""What starting up loads: each case runs in a fresh interpreter and reads
``sys.modules`` at its end, so a heavy import that comes back at module level
(a subcommand's parser importing its work, a package importing its pipeline)
fails here.

Heavy, never loaded by these cases (issue 14): matplotlib, statsmodels,
dask, distributed, xarray, netCDF4, tqdm, scipy.stats and pyarrow. pandas 3
imports pyarrow itself (its default string dtype), so where pandas is needed
(``kalib rake`` reads and writes CSV, ``svymean`` returns a frame) pyarrow is
allowed exactly when ``import pandas`` alone loads it. ``kalib --help`` and
``import estimators`` load neither pandas nor scipy, ``kalib rake`` no scipy.

``import weighting`` loads nothing beyond the standard library, numpy, itself
and its compiled kernels (``cext``, with the Cython runtime's modules): it is
vendorable.

The ``kalib`` subcommands' one-line help is kept in ``estimators.cli`` so that
``kalib --help`` imports no subcommand; it must say what each subcommand's
own parser says.

Without the ``report`` extra (matplotlib, tqdm, xarray, netCDF4, blocked on
import here as if not installed) every other subcommand runs, and ``kalib
report`` ends with one line naming the extra.
"""

import argparse
import json
import os
import subprocess
import sys
import textwrap

import pytest
from repo_paths import REFERENCE, REPO
from test_packaging import BLOCKER

from estimators.cli.report import REPORT_EXTRA

HEAVY = (
    "matplotlib",
    "statsmodels",
    "dask",
    "distributed",
    "xarray",
    "netCDF4",
    "tqdm",
    "scipy.stats",
    "pyarrow",
)
WATCHED = HEAVY + ("pandas", "scipy", "numpy")


def loaded_by(code: str, watched=WATCHED) -> set[str]:
    """The ``watched`` modules in ``sys.modules`` after ``code`` ran in a
    fresh interpreter (a SystemExit of 0, as from ``--help``, is a normal
    end); ``watched=None``: the top-level packages of every module loaded
    after the interpreter's own start-up."""
    program = (
        "import json, sys\nSTARTUP = set(sys.modules)\ntry:\n"
        + textwrap.indent(textwrap.dedent(code).strip() + "\n", "    ")
        + "except SystemExit as exc:\n    if exc.code not in (0, None):\n        raise\n"
        + (
            "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - STARTUP})))\n"
            if watched is None
            else f"print(json.dumps([m for m in {watched!r} if m in sys.modules]))\n"
        )
    )
    run = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


def test_import_weighting_loads_only_numpy_the_standard_library_and_itself():
    loaded = loaded_by("import weighting", watched=None)
    assert {"numpy", "weighting"} <= loaded
    # cext: the compiled kernels weighting/_backend.py loads; _cython_*,
    # cython_runtime: the modules every Cython extension registers.
    own = {"numpy", "weighting", "cext", "cython_runtime"}
    others = {
        m for m in loaded - own - set(sys.stdlib_module_names) if not m.startswith("_cython_")
    }
    assert not others, others


@pytest.fixture(scope="module")
def with_pandas() -> set[str]:
    """What ``import pandas`` brings along (pyarrow with pandas 3)."""
    return loaded_by("import pandas")


def kalib(*argv) -> str:
    return f"from estimators.cli import main\nsys.exit(main({list(map(str, argv))!r}))"


def test_kalib_help_loads_no_pandas_nor_scipy():
    loaded = loaded_by(kalib("--help"))
    assert not loaded & set(HEAVY + ("pandas", "scipy")), loaded


@pytest.mark.parametrize("command", ["rake", "replicate", "estimate", "crosstab", "report"])
def test_a_subcommands_help_loads_no_heavy_module(command):
    loaded = loaded_by(kalib(command, "--help"))
    assert not loaded & set(HEAVY + ("pandas", "scipy")), loaded


def test_kalib_rake_csv_in_csv_out_loads_pandas_only(tmp_path, with_pandas):
    sample = tmp_path / "sample.csv"
    sample.write_text(
        "id,sex,weight\n" + "".join(f"{i},{'mf'[i % 2]},{1 + i % 3}\n" for i in range(20))
    )
    margin = tmp_path / "sex.csv"
    margin.write_text("sex,total\nm,30\nf,34\n")
    out = tmp_path / "out.csv"
    loaded = loaded_by(
        kalib("rake", sample, "--margins", margin, "--weight", "weight", "--out", out, "--quiet")
    )
    assert out.exists()
    assert "pandas" in loaded
    assert not loaded & (set(HEAVY + ("scipy",)) - with_pandas), loaded


def test_import_estimators_loads_no_pandas_nor_scipy():
    loaded = loaded_by("import estimators")
    assert not loaded & set(HEAVY + ("pandas", "scipy")), loaded


def test_a_svymean_call_loads_no_heavy_module(with_pandas):
    loaded = loaded_by("""
        import numpy as np
        from estimators import svymean
        from weighting.design import Design
        rng = np.random.default_rng(1)
        data = {"y": rng.normal(size=40), "g": np.repeat(["a", "b"], 20)}
        design = Design(data, weights=np.full(40, 2.0), strata=np.repeat([0, 1], 20))
        frame = svymean(design, "y", by=("all", "g")).frame
        assert len(frame) == 3 and (frame["flag"] != "").all()
        """)
    assert "pandas" in loaded
    assert not loaded & (set(HEAVY) - with_pandas), loaded


def test_the_help_lines_are_the_subcommands_own():
    from estimators.cli import SUBCOMMANDS, build_parser

    lazy = build_parser([])
    full = build_parser()

    def helps(parser):
        (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return {choice.dest: choice.help for choice in action._choices_actions}

    assert helps(lazy) == helps(full)
    assert set(helps(full)) == set(SUBCOMMANDS)


# -- without the report extra ------------------------------------------------------------

APISTRAT = str(REFERENCE / "estimators" / "apistrat.csv")
DESIGN = ("--id", "snum", "--weight", "pw", "--strata", "stype", "--fpc", "fpc")


def kalib_without_report_extra(*argv) -> subprocess.CompletedProcess:
    """``kalib *argv`` in a fresh interpreter where importing any module of
    the report extra fails as if it were not installed."""
    # test_packaging's BLOCKER runs its second argument with the modules
    # named in its first blocked; the rest are the command line.
    run_kalib = "from estimators.cli import main\nsys.exit(main(sys.argv[3:]))"
    return subprocess.run(
        [sys.executable, "-c", BLOCKER, ",".join(REPORT_EXTRA), run_kalib, *map(str, argv)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def test_the_report_extra_is_the_packages():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    extra = pyproject["project"]["optional-dependencies"]["report"]
    names = {req.split(">")[0].split("=")[0].strip().lower() for req in extra}
    assert names == {name.lower() for name in REPORT_EXTRA}


@pytest.mark.parametrize(
    "argv",
    [
        ("replicate", APISTRAT, *DESIGN, "--method", "jkn", "--out", "{tmp}/reps.csv"),
        ("estimate", APISTRAT, *DESIGN, "--mean", "api00", "--by", "stype", "--variance",
         "bootstrap", "--replicates", "20", "--out", "{tmp}/est.csv"),
        ("crosstab", APISTRAT, *DESIGN, "--rows", "sch_wide", "--cols", "comp_imp",
         "--out", "{tmp}/tab.csv"),
        ("model", APISTRAT, *DESIGN, "--formula", "I(sch_wide == 'Yes') ~ meals",
         "--family", "binomial", "--out", "{tmp}/coef.csv"),
        ("data", "validate", REPO / "estimators/surveys/employers/data/cati_employers_2017.csv"),
    ],
    ids=lambda argv: argv[0],
)  # fmt: skip
def test_every_other_subcommand_runs_without_the_report_extra(argv, tmp_path):
    argv = [str(a).format(tmp=tmp_path) for a in argv]
    run = kalib_without_report_extra(*argv, *(["--quiet"] if argv[0] != "data" else []))
    assert run.returncode == 0, run.stderr[-2000:]
    if "--out" in argv:
        out = argv[argv.index("--out") + 1]
        assert len(open(out).read().splitlines()) > 1


def test_kalib_report_without_the_extra_names_it_in_one_line(tmp_path):
    run = kalib_without_report_extra("report", "--out", tmp_path / "report", "--quiet")
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert "pip install 'kalib[report]'" in run.stderr and "matplotlib" in run.stderr
    assert not (tmp_path / "report").exists()


@pytest.mark.slow  # a whole report (5 replicates)
@pytest.mark.skipif(
    (os.cpu_count() or 1) < 2, reason="with one core the report's jobs run in its own process"
)
def test_kalib_reports_own_process_loads_no_figure_model_or_netcdf_library(tmp_path):
    # The figures (matplotlib), the regression analysis (statsmodels, patsy,
    # formulaic) and keyrates.nc (xarray, netCDF4, dask) are made by the
    # report's forked workers, which import them; the main process only
    # collects their results (issue 14: the report's start-up and run time).
    out = tmp_path / "report"
    watched = ("matplotlib", "statsmodels", "patsy", "formulaic", "xarray", "netCDF4", "dask")
    loaded = loaded_by(kalib("report", "--replicates", "5", "--out", out, "--quiet"), watched)
    assert (out / "figures" / "model_rating.png").exists() and (out / "keyrates.nc").exists()
    assert not loaded, loaded


def test_a_svymean_call_without_its_frame_loads_no_pandas():
    # the estimators hand over columns: only the frame (and the readers) need
    # pandas, the intervals only scipy.special
    loaded = loaded_by("""
        import numpy as np
        from estimators.inference.estimate import svymean
        from weighting.design import Design
        rng = np.random.default_rng(1)
        data = {"y": rng.normal(size=40), "g": np.repeat([1, 2], 20)}
        design = Design(data, weights=np.full(40, 2.0), strata=np.repeat([0, 1], 20))
        results = svymean(design, "y", by=("all", "g"))
        """)
    assert "scipy" in loaded
    assert not loaded & set(HEAVY + ("pandas",)), loaded
