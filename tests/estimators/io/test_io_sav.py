"""SPSS files that crash pyreadstat (found by the fuzz tests, issue 17) are a
named error, never a dead process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from repo_paths import REFERENCE, REPO

from estimators.io.files import InputFileError, read_table_info

DAMAGED = REFERENCE / "io" / "damaged_segfault.sav"
CRASH = f"import pyreadstat; pyreadstat.read_sav({str(DAMAGED)!r}, metadataonly=True)"


def test_the_damaged_file_still_crashes_pyreadstat():
    # what kalib guards against: without the guard, the reader kills the process
    run = subprocess.run([sys.executable, "-c", CRASH], capture_output=True)
    if run.returncode >= 0:
        pytest.skip("this pyreadstat no longer crashes on the file")
    assert run.returncode == -11


def test_readers_name_the_damaged_file():
    from estimators.io.cati import read_cati_sav
    from estimators.surveys.employers import codebook

    for read in (lambda: read_cati_sav(DAMAGED, codebook()), lambda: read_table_info(DAMAGED)):
        with pytest.raises(
            InputFileError,
            match=r"cannot read SPSS file '.*damaged_segfault.sav': the SPSS "
            r"reader crashed \(SIGSEGV; a damaged file\)",
        ):
            read()


def test_kalib_data_validate_exits_2_with_one_line():
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}  # no crash report leaks from the probe
    run = subprocess.run(
        [sys.executable, "-m", "estimators.cli", "data", "validate", str(DAMAGED)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "the SPSS reader crashed (SIGSEGV" in run.stderr


def test_a_sound_file_reads(tmp_path):
    import pandas as pd

    from estimators.io.cati import write_cati_sav
    from estimators.surveys.employers import codebook, load_cati

    coded = load_cati(missing="codes").head(5)
    write_cati_sav(coded, tmp_path / "x.sav", codebook())
    frame, info = read_table_info(tmp_path / "x.sav")
    assert (info.format, info.rows, info.where(2)) == ("sav", 5, "row 3")
    assert frame["id"].tolist() == pd.to_numeric(coded["id"]).tolist()
