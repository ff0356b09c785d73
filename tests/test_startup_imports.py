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

The ``kalib`` subcommands' one-line help is kept in ``estimators.cli`` so that
``kalib --help`` imports no subcommand; it must say what each subcommand's
own parser says.
"""

import argparse
import json
import subprocess
import sys
import textwrap

import pytest
from repo_paths import REPO

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


def loaded_by(code: str) -> set[str]:
    """The WATCHED modules in ``sys.modules`` after ``code`` ran in a fresh
    interpreter (a SystemExit of 0, as from ``--help``, is a normal end)."""
    program = (
        "import json, sys\ntry:\n"
        + textwrap.indent(textwrap.dedent(code).strip() + "\n", "    ")
        + "except SystemExit as exc:\n    if exc.code not in (0, None):\n        raise\n"
        + f"print(json.dumps([m for m in {WATCHED!r} if m in sys.modules]))\n"
    )
    run = subprocess.run([sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


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
