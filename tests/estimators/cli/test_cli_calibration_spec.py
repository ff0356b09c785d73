"""The calibration options read back into one CalibrationSpec, and library
remedies said in the command line's words (no Python keywords on stderr)."""

import argparse

import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.cli import main
from estimators.cli.options import add_calibration_arguments, calibration_spec, error_message
from weighting.errors import DesignError, KalibError
from weighting.spec import CalibrationSpec

REF = REFERENCE / "variance"
SAMPLE = str(REF / "business.csv")


def _parse(*argv):
    p = argparse.ArgumentParser()
    add_calibration_arguments(p, margins_required=False)
    return p.parse_args(list(argv))


def test_options_make_one_spec():
    assert calibration_spec(_parse()) == CalibrationSpec()
    spec = calibration_spec(
        _parse(
            "--calibration",
            "logit",
            "--bounds",
            "0.5,2",
            "--trim-upper",
            "1.8",
            "--tol",
            "1e-9",
            "--max-iter",
            "50",
            "--allow-unconverged",
            "--normalize-margins",
        )
    )
    assert spec == CalibrationSpec("logit", (0.5, 2.0), (None, 1.8), 1e-9, 50, True, True)
    with pytest.raises(KalibError, match=r"bounds \(1.5, 2\) must satisfy L < 1 < U"):
        calibration_spec(_parse("--bounds", "1.5,2"))


def test_bad_settings_fail_before_any_file_is_read(tmp_path, capsys):
    assert (
        main(
            [
                "rake",
                str(tmp_path / "no-such.csv"),
                "--margins",
                str(tmp_path / "m.csv"),
                "--calibration",
                "logit",
                "--out",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "logit distance needs bounds" in err and "no-such" not in err


def test_remedies_name_the_subcommands_option(tmp_path, capsys):
    pd.DataFrame({"sector": ["a", "b", "b", "a"], "total": [10.0, 20.0, 5.0, 5.0]})
    sample = tmp_path / "s.csv"
    pd.DataFrame(
        {"id": [1, 2, 3, 4], "g": ["x", "x", "y", "y"], "h": ["u", "v", "u", "v"]}
    ).to_csv(sample, index=False)
    (tmp_path / "g.csv").write_text("g,total\nx,60\ny,40\n")
    (tmp_path / "h.csv").write_text("h,total\nu,50\nv,60\n")  # sums to 110, not 100
    args = [
        "rake",
        str(sample),
        "--margins",
        str(tmp_path / "g.csv"),
        "--margins",
        str(tmp_path / "h.csv"),
        "--out",
        str(tmp_path / "o.csv"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "grand totals disagree" in err
    assert "(use --normalize-margins to rescale every margin to the first)" in err
    assert "normalize_margins" not in err
    assert main(args + ["--normalize-margins", "--quiet"]) == 0


def test_a_remedy_the_subcommand_lacks_is_left_out():
    exc = DesignError(
        "1 stratum/strata with a single PSU: ['a']",
        option="lonely_psu",
        remedy="choose lonely_psu='certainty' or a mapping {lonely: neighbour}",
    )
    with_option = argparse.Namespace(lonely_psu="error")
    assert error_message(exc, with_option) == (
        "1 stratum/strata with a single PSU: ['a'] (use "
        "--lonely-psu certainty, or --lonely-psu "
        "LONELY=NEIGHBOUR to merge)"
    )
    assert error_message(exc, argparse.Namespace()) == "1 stratum/strata with a single PSU: ['a']"
    plain = KalibError("column 'x' is not in the data")
    assert error_message(plain, argparse.Namespace()) == "column 'x' is not in the data"


def test_replicate_says_lonely_psu_as_its_option(capsys):
    assert main(["replicate", SAMPLE, "--strata", "id", "--out", "/tmp/never.csv"]) == 2
    err = capsys.readouterr().err
    assert "single PSU" in err and "--lonely-psu certainty" in err and "lonely_psu=" not in err
