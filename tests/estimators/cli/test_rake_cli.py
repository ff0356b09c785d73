"""``kalib rake`` and estimators.io.files: output, refusal to overwrite, one-line
errors with exit code 2, margin files read as text."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.cli import main
from estimators.io.files import OutputExistsError, current_umask, read_margins, write_atomic
from weighting.errors import MarginError

REF = REFERENCE / "calibrate"
SAMPLE = str(REF / "business_sample.csv")
MARGINS = [
    "--margins",
    str(REF / "business_sector_size.csv"),
    "--margins",
    str(REF / "business_nace.csv"),
]


def rake(*args):
    return main(["rake", SAMPLE, *MARGINS, "--weight", "w", *args])


def test_rake_writes_rows_plus_weight_equal_to_r(tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert (
        rake("--calibration", "logit", "--bounds", "0.8,1.2", "--tol", "1e-12", "--out", str(out))
        == 0
    )
    written = pd.read_csv(out)
    sample = pd.read_csv(SAMPLE)
    assert list(written.columns) == list(sample.columns) + ["weight"]
    reference = pd.read_csv(REF / "business_weights.csv")
    np.testing.assert_allclose(written["weight"], reference["logit"], rtol=1e-8)
    assert "converged in" in capsys.readouterr().out
    assert not list(tmp_path.glob("*.tmp"))


def test_rake_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "out.csv"
    out.write_text("keep me")
    assert rake("--out", str(out)) == 2
    err = capsys.readouterr().err.strip()
    assert "exists" in err and "--force" in err and len(err.splitlines()) == 1
    assert out.read_text() == "keep me"
    assert rake("--out", str(out), "--force", "--quiet") == 0
    assert capsys.readouterr().out == ""
    assert "weight" in out.read_text().splitlines()[0]


def test_rake_bad_input_is_one_line_naming_the_offender(tmp_path, capsys):
    margin = tmp_path / "nace.csv"
    margin.write_text("nace,total\nC,1\nF,2\n")
    code = main(["rake", SAMPLE, "--margins", str(margin), "--out", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "nace=G" in err and "respondents" in err
    assert not (tmp_path / "o.csv").exists()


def test_rake_names_jointly_infeasible_bounds(tmp_path, capsys):
    sample = tmp_path / "s.csv"
    sample.write_text("a,b\nx,u\nx,v\ny,u\ny,v\n")
    (tmp_path / "a.csv").write_text("a,total\nx,2.6\ny,1.4\n")
    (tmp_path / "b.csv").write_text("b,total\nu,2.6\nv,1.4\n")
    code = main(
        [
            "rake",
            str(sample),
            "--margins",
            str(tmp_path / "a.csv"),
            "--margins",
            str(tmp_path / "b.csv"),
            "--calibration",
            "truncated",
            "--bounds",
            "0.5,1.5",
            "--max-iter",
            "50",
            "--out",
            str(tmp_path / "o.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "cannot hold together" in err and "a=y" in err and "b=u" in err


def test_margin_file_keeps_codes_as_text(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("nace,size,total\n01,1,10\n02,1,5.5\n")
    margin = read_margins(path)
    assert margin.variables == ("nace", "size")
    assert margin.table == {("01", "1"): 10.0, ("02", "1"): 5.5}
    path.write_text("nace,total\n01,ten\n")
    with pytest.raises(MarginError, match=r"line 2: total 'ten'"):
        read_margins(path)
    path.write_text("nace,count\n01,1\n")
    with pytest.raises(MarginError, match="no 'total' column"):
        read_margins(path)


def test_write_atomic_replaces_only_with_force(tmp_path):
    path = tmp_path / "x.txt"
    write_atomic(path, "one")
    with pytest.raises(OutputExistsError, match="x.txt"):
        write_atomic(path, "two")
    write_atomic(path, lambda tmp: Path(tmp).write_text("three"), force=True)
    assert path.read_text() == "three"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


def test_write_atomic_gives_the_usual_file_mode(tmp_path):
    # not mkstemp's owner-only 0600: what open() would create under the umask
    path = write_atomic(tmp_path / "x.csv", "a\n")
    assert path.stat().st_mode & 0o777 == 0o666 & ~current_umask()


def test_rake_names_a_non_numeric_base_weight(tmp_path, capsys):
    sample = tmp_path / "s.csv"
    sample.write_text("a,w\nx,1\ny,two\nx,1.5\n")
    (tmp_path / "a.csv").write_text("a,total\nx,2\ny,1\n")
    code = main(
        [
            "rake",
            str(sample),
            "--margins",
            str(tmp_path / "a.csv"),
            "--weight",
            "w",
            "--out",
            str(tmp_path / "o.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "'w'" in err and "row 2: 'two'" in err


def test_rake_reads_and_writes_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    pd.read_csv(SAMPLE).to_parquet(tmp_path / "s.parquet")
    out = tmp_path / "o.parquet"
    assert (
        main(
            [
                "rake",
                str(tmp_path / "s.parquet"),
                *MARGINS,
                "--weight",
                "w",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    reference = pd.read_csv(REF / "business_weights.csv")
    np.testing.assert_allclose(pd.read_parquet(out)["weight"], reference["raking"], rtol=1e-8)
