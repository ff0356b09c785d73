"""Model inputs patsy cannot take as they come (requests from H4's bad-input
pass over the CLI): a text response of one level, pandas' nullable dtypes,
column names that are no Python names."""

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.cli import main

APISTRAT = REFERENCE / "model" / "apistrat.csv"
DESIGN = ["--weight", "pw", "--strata", "stype", "--fpc", "fpc"]


def test_a_text_response_with_one_level_is_refused(tmp_path, capsys):
    # was: exit 0, intercept 1.0 with SE 1e-35 and p = 0: the model of the
    # indicator of the one level (two levels were refused as 'categorical')
    sample = tmp_path / "s.csv"
    pd.read_csv(APISTRAT).assign(answer="x").to_csv(sample, index=False)
    out = tmp_path / "m.csv"
    argv = ["model", str(sample), *DESIGN, "--formula", "answer ~ stype", "--out", str(out)]
    assert main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kalib "), err
    assert "categorical (answer[x]" in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    "family,formula",
    [
        ("binomial", "yes ~ stype"),  # a boolean (nullable) response
        ("gaussian", "api00 ~ C(grade) + growth"),  # Int64 terms
    ],
)
def test_a_parquet_with_nullable_dtypes_fits_as_its_csv(tmp_path, family, formula):
    # was: TypeError: Cannot interpret 'BooleanDtype' as a data type (patsy), a traceback
    frame = pd.read_csv(APISTRAT)
    frame["yes"] = (frame["sch_wide"] == "Yes").astype("boolean")
    frame.loc[3, "yes"] = pd.NA
    frame["grade"] = frame["stype"].map({"E": 1, "M": 2, "H": 3}).astype("Int64")
    frame["growth"] = (frame["enroll"] // 10).astype("Int64")
    frame.to_parquet(tmp_path / "s.parquet")
    frame.assign(yes=frame["yes"].astype(float)).to_csv(tmp_path / "s.csv", index=False)
    for name in ("s.parquet", "s.csv"):
        argv = ["model", str(tmp_path / name), *DESIGN, "--formula", formula]
        argv += ["--family", family, "--out", str(tmp_path / f"{name}.out.csv"), "--quiet"]
        assert main(argv) == 0
    a, b = (pd.read_csv(tmp_path / f"{n}.out.csv") for n in ("s.parquet", "s.csv"))
    assert list(a.term) == list(b.term)
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-12)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-12)


@pytest.mark.parametrize("column", ["a.b", "my var"])
def test_a_column_name_patsy_cannot_take_bare_gets_the_q_hint(tmp_path, capsys, column):
    # was: "the term 'a.b' reads the attribute 'a.b'; a formula may call only
    # C, Diff, ..." with no word that Q('a.b') names the column (it does)
    frame = pd.read_csv(APISTRAT)
    frame[column] = frame["api00"]
    frame.to_csv(tmp_path / "s.csv", index=False)
    argv = ["model", str(tmp_path / "s.csv"), *DESIGN, "--formula", f"{column} ~ stype"]
    assert main([*argv, "--out", str(tmp_path / "o.csv"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"write it Q({column!r})" in err, err
    argv[-1] = f"Q({column!r}) ~ stype"
    assert main([*argv, "--out", str(tmp_path / "o.csv"), "--quiet"]) == 0
