"""Rows of issue 17's table that an earlier pass left open, re-run as a new
user would (docs/robustness.md lists every row and the test that covers it)."""

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimators import svymean, svyquantile
from estimators.cli import joined_negative_lists, main
from estimators.inference.quantiles import QuantileError
from estimators.scale.replicates import design_replicate_dataset
from weighting.design import Design
from weighting.errors import KalibError, MissingValueError, WeightError, shown


def _design():
    rng = np.random.default_rng(17)
    data = pd.DataFrame(
        {"s": np.repeat(["a", "b"], 20), "y": rng.normal(size=40), "w": np.full(40, 2.0)}
    )
    return Design(data, weights="w", strata="s")


# -- seed: a non-negative integer, never truncated or parsed -------------------------


@pytest.mark.parametrize(
    "seed, shown",
    [(1.5, "1.5"), (np.float64(2.0), "2.0"), ("1", "'1'"), (-1, "-1"), (True, "True")],
)
def test_a_seed_that_is_not_a_non_negative_integer_is_named(seed, shown):
    """seed=1.5 used to be seed 1 (int() truncated it), "1" and True seed 1."""
    message = f"seed must be a non-negative integer, got {shown}$"
    with pytest.raises(KalibError, match=message):
        _design().with_replicates("bootstrap", replicates=4, seed=seed)
    with pytest.raises(KalibError, match=message):  # the Dask path's own plan
        design_replicate_dataset(_design(), np.ones((40, 1)), method="bootstrap", seed=seed)


def test_a_numpy_integer_seed_is_the_same_seed():
    ours = _design().with_replicates("bootstrap", replicates=4, seed=np.int64(7))
    plain = _design().with_replicates("bootstrap", replicates=4, seed=7)
    assert ours.seed == 7 and type(ours.seed) is int
    np.testing.assert_array_equal(ours.replicate_weights(), plain.replicate_weights())


# -- row numbers in messages: from 1, with the file's line ---------------------------

CALIBRATE = Path(__file__).resolve().parents[1] / "reference" / "calibrate"
RAKE = [
    "--weight",
    "w",
    "--margins",
    str(CALIBRATE / "business_sector_size.csv"),
    "--margins",
    str(CALIBRATE / "business_nace.csv"),
]


def _sample(tmp_path, column, value, blank_line=False, suffix=".csv"):
    """The business sample with ``column`` of its third data row set to
    ``value`` (a blank line before that row with ``blank_line``)."""
    frame = pd.read_csv(CALIBRATE / "business_sample.csv", dtype=str)
    frame.loc[2, column] = value
    path = tmp_path / f"s{suffix}"
    if suffix == ".parquet":
        frame.assign(w=pd.to_numeric(frame["w"])).to_parquet(path)
        return path
    lines = frame.to_csv(index=False).splitlines()
    if blank_line:
        lines.insert(3, "")
    path.write_text("\n".join(lines) + "\n")
    return path


def _error(capsys, *args):
    assert main([*args, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err.strip()


@pytest.mark.parametrize(
    "column, value, words",
    [
        ("w", "-3", "base weights: 1 value(s) not positive and finite (first at row 3: -3.0)"),
        ("w", "abc", "are not numbers (first at row 3: 'abc')"),
        ("nace", "", "calibration variable 'nace' has 1 missing value(s) (first at row 3)"),
    ],
)
def test_a_bad_row_is_named_from_1_with_its_line(tmp_path, capsys, column, value, words):
    """Row 2 (0-based) used to be 'row 2' while a margin file's errors named
    1-based lines: now row 3, line 4 of the CSV (line 1 the header), line 5
    when a blank line precedes it, row 3 of a parquet file."""
    out = str(tmp_path / "o.csv")
    sample = _sample(tmp_path, column, value)
    err = _error(capsys, "rake", str(sample), *RAKE, "--out", out)
    assert words in err and err.endswith(f"(row 3 is line 4 of {str(sample)!r})")
    sample = _sample(tmp_path, column, value, blank_line=True)
    err = _error(capsys, "rake", str(sample), *RAKE, "--out", out)
    assert err.endswith(f"(row 3 is line 5 of {str(sample)!r})")
    if column == "w" and value == "-3":
        sample = _sample(tmp_path, column, value, suffix=".parquet")
        err = _error(capsys, "rake", str(sample), *RAKE, "--out", out)
        assert words in err and err.endswith(f"(row 3 of {str(sample)!r})")


def test_the_library_keeps_the_position_of_the_row():
    with pytest.raises(WeightError, match=r"first at row 2: -2\.0\)$") as caught:
        Design(weights=[1.0, -2.0, 1.0])
    assert caught.value.row == 1
    data = pd.DataFrame({"y": [1.0, 2.0, np.inf, np.inf], "w": np.ones(4)})
    with pytest.raises(
        MissingValueError, match=r"'y' has 2 infinite value\(s\) \(first at row 3: inf\)"
    ):
        svymean(Design(data, weights="w"), "y")


def test_an_infinite_value_names_the_variable_on_the_command_line(tmp_path, capsys):
    """'inf' in a column used to give 'influence values are not finite'."""
    sample = tmp_path / "s.csv"
    sample.write_text("id,y\n1,2\n2,inf\n3,4\n")
    err = _error(capsys, "estimate", str(sample), "--mean", "y", "--out", str(tmp_path / "o.csv"))
    assert err.endswith(
        "variable 'y' has 1 infinite value(s) (first at row 2: inf); leave the cell empty "
        f"for a missing answer (row 2 is line 3 of {str(sample)!r})"
    )


# -- --bounds -1,2: a negative list is the option's value ------------------------------


def test_a_list_that_starts_with_a_minus_is_an_option_value(tmp_path, capsys):
    """argparse refused '--bounds -1,2' as 'expected one argument'."""
    sample = str(CALIBRATE / "business_sample.csv")
    out = tmp_path / "o.csv"
    args = ["rake", sample, *RAKE, "--calibration", "linear", "--out", str(out), "--quiet"]
    assert main([*args, "--bounds", "-1,2"]) == 0
    joined = tmp_path / "joined.csv"
    assert main([*args[:-3], "--out", str(joined), "--quiet", "--bounds=-1,2"]) == 0
    assert out.read_bytes() == joined.read_bytes()
    err = _error(capsys, *args[:-1], "--force", "--bounds", "-0.5,-0.1")  # read, then refused
    assert "L < 1 < U" in err
    assert joined_negative_lists(["--where", "x > -1", "--bounds", "-1,2.5", "-1,2"]) == [
        "--where",
        "x > -1",
        "--bounds=-1,2.5",
        "-1,2",
    ]


# -- plain values in messages, never numpy reprs --------------------------------------


def test_numpy_text_categories_are_plain_text_in_messages():
    """A stratum of a numpy string array was named np.str_('a')."""
    strata = np.array(["a", "a", "b", "b"])
    with pytest.raises(KalibError, match=r"not constant within stratum 'a' \(10 to 11\)$"):
        Design(weights=np.ones(4), strata=strata, fpc=[10, 11, 8, 8])
    assert [type(c) for c in Design(weights=np.ones(4), strata=strata).strata_labels] == [str] * 2


@pytest.mark.parametrize(
    "value, text",
    [
        (np.float64(np.nan), "nan"),
        (np.float32(2.5), "2.5"),
        (np.int64(3), "3"),
        (np.True_, "True"),
        (np.str_("a"), "'a'"),
        ("1", "'1'"),
        (None, "missing"),
        (2**70, "1180591620717411303424"),
    ],
)
def test_shown(value, text):
    assert shown(value) == text


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(replicates=np.float64(3.0)), "replicates must be an integer >= 2, got 3.0$"),
        (dict(replicates=np.int64(1)), "replicates must be an integer >= 2, got 1$"),
        (dict(seed=np.float64(1.5)), "seed must be a non-negative integer, got 1.5$"),
    ],
)
def test_replicate_options_are_named_plainly(options, message):
    with pytest.raises(KalibError, match=message):
        _design().with_replicates("bootstrap", **options)
    if "seed" not in options:
        return
    with pytest.raises(KalibError, match=r"fay_rho must be a number in \[0, 1\), got 1\.5$"):
        _design().with_replicates("fay", fay_rho=np.float64(1.5))


def test_weights_of_another_length_are_refused():
    """Design(df, weights=np.ones(5)) on 40 rows was a design of 5 rows."""
    data = pd.DataFrame({"y": np.arange(40.0)})
    with pytest.raises(KalibError, match=r"'weights' has shape \(5,\), the sample has 40 rows"):
        Design(data, weights=np.ones(5))


# -- a reader of stdout that goes away ------------------------------------------------


def test_a_closed_stdout_ends_the_run_silently_after_its_output(tmp_path):
    """`kalib rake ... | head -1` printed a BrokenPipeError traceback."""
    sample = tmp_path / "semi.csv"  # a ';' file, so that the run prints a first line at once
    pd.read_csv(CALIBRATE / "business_sample.csv").to_csv(sample, sep=";", index=False)
    out = tmp_path / "o.csv"
    run = subprocess.Popen(
        [sys.executable, "-m", "estimators.cli", "rake", str(sample), *RAKE, "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert run.stdout.readline().startswith(b"read ")
    run.stdout.close()  # as head -1 does; the summary comes after the calibration
    stderr = run.communicate(timeout=120)[1].decode()
    assert run.returncode == 128 + signal.SIGPIPE and stderr == ""
    assert len(pd.read_csv(out)) == 1000


# -- an infinite value in a model ------------------------------------------------------

APISTRAT = Path(__file__).resolve().parents[1] / "reference" / "tests_intervals" / "apistrat.csv"


@pytest.mark.parametrize(
    "edit, formula, words",
    [
        (("api00", "inf"), "api00 ~ ell", "the model column 'api00' is not finite in 1 row(s) "),
        (
            ("meals", "0"),
            "api00 ~ np.log(meals)",
            "the model column 'np.log(meals)' is not finite",
        ),
    ],
)
def test_an_infinite_model_value_is_named_with_its_row(tmp_path, capsys, edit, formula, words):
    """Both were a statsmodels traceback ('The first guess on the deviance
    function returned a nan'), the second after numpy's warnings."""
    frame = pd.read_csv(APISTRAT, dtype=str)
    frame.loc[4, edit[0]] = edit[1]
    sample = tmp_path / "s.csv"
    frame.to_csv(sample, index=False)
    design = ["--id", "cds", "--weight", "pw", "--strata", "stype"]
    out = tmp_path / "m.csv"
    err = _error(capsys, "model", str(sample), *design, "--formula", formula, "--out", str(out))
    assert words in err and err.endswith(f"(row 5 is line 6 of {str(sample)!r})")
    assert not out.exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["estimate", "s.csv", "--mean", "y", "--level", "1.5", "--out", "o.csv"], "--level"),
        (
            ["estimate", "s.csv", "--mean", "y", "--replicates", "1", "--out", "o.csv"],
            "--replicates",
        ),
        (["report", "--survey", "banana"], "invalid choice: 'banana'"),
        (["rake", "s.csv", "--margins"], "expected one argument"),
        (["bogus"], "invalid choice: 'bogus'"),
    ],
)
def test_option_errors_are_one_line_too(capsys, args, words):
    """argparse printed its usage block (up to 23 lines) before the error."""
    with pytest.raises(SystemExit) as caught:
        main(args)
    err = capsys.readouterr().err
    assert caught.value.code == 2 and err.count("\n") == 1 and words in err
    assert err.startswith("kalib") and err.endswith("--help)\n")


# -- API arguments of the wrong kind ---------------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda d: svymean(d, "y", level="0.95"),
            KalibError,
            r"level must be in \(0, 1\), got '0\.95'$",
        ),
        (lambda d: svyquantile(d, "y", "0.5"), QuantileError, r"must be numbers, not \['0\.5'\]$"),
        (lambda d: svyquantile(d, "y", True), QuantileError, r"must be numbers, not \[True\]$"),
        (
            lambda d: svymean(d, []),
            KalibError,
            r"name at least one variable to estimate \(got \[\]\)",
        ),
        (
            lambda d: svymean(d, None),
            KalibError,
            r"at least one variable to estimate \(got None\)",
        ),
        (lambda d: svymean(d, "y", by=[]), KalibError, "no domain to estimate in"),
    ],
)
def test_arguments_of_the_wrong_kind_are_named(call, error, message):
    """Were a TypeError ('<' between int and str), a quantile of the text
    '0.5' or of True (the maximum), a ZeroDivisionError, numpy's 'need at
    least one array to concatenate'."""
    with pytest.raises(error, match=message):
        call(_design())


def test_one_domain_column_may_be_given_as_a_string():
    """by="s" worked only for one-letter columns (the string was iterated)."""
    design = _design().data.rename(columns={"s": "stype"})
    design = Design(design, weights="w", strata="stype")
    named = svymean(design, "y", by="stype").frame
    listed = svymean(design, "y", by=["stype"]).frame
    pd.testing.assert_frame_equal(named, listed)
    assert named["domain"].tolist() == ["a", "b"]
