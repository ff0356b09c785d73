"""``--scheduler`` on the command line: the same numbers as in-process."""

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.cli import main

REF = REFERENCE / "variance"
SAMPLE = str(REF / "business.csv")
DESIGN = [
    "--weight",
    "w",
    "--strata",
    "stratum",
    "--margins",
    str(REF / "business_margin_sector_size.csv"),
    "--margins",
    str(REF / "business_margin_nace.csv"),
    "--tol",
    "1e-12",
]


def _run(tmp_path, name, args, scheduler):
    out = tmp_path / f"{name}.csv"
    extra = [] if scheduler is None else ["--scheduler", scheduler]
    assert main([*args, *DESIGN, *extra, "--out", str(out), "--quiet"]) == 0
    return pd.read_csv(out)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["bootstrap", "jkn"])
def test_replicate_on_threads_equals_in_process(tmp_path, method):
    args = ["replicate", SAMPLE, "--method", method, "--replicates", "20", "--seed", "3"]
    here = _run(tmp_path, "here", args, None)
    dask = _run(tmp_path, "dask", args, "threads")
    assert list(dask.columns) == list(here.columns)
    np.testing.assert_allclose(dask.to_numpy(float), here.to_numpy(float), rtol=1e-12)


def test_estimate_on_threads_equals_in_process(tmp_path):
    args = [
        "estimate",
        SAMPLE,
        "--mean",
        "y1,x",
        "--by",
        "sector",
        "--variance",
        "bootstrap",
        "--replicates",
        "20",
        "--seed",
        "3",
    ]
    here = _run(tmp_path, "here", args, None)
    dask = _run(tmp_path, "dask", args, "threads")
    assert len(here) == 6 and (here["se"] > 0).all()  # 2 variables x (all, 2 sectors)
    np.testing.assert_allclose(dask["se"], here["se"], rtol=1e-12)
    np.testing.assert_allclose(dask["estimate"], here["estimate"], rtol=1e-12)
