"""The command line on files as analysts have them (issue 17): exports from
Norwegian Excel, text that looks like a missing marker, repeated or missing
ids, duplicated headers, write errors — a correct result or one line, exit 2."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.cli import main

REF = REFERENCE / "variance"
SAMPLE = REF / "business.csv"
MARGINS = [REF / "business_margin_sector_size.csv", REF / "business_margin_nace.csv"]


def _as_excel(source, target):
    """``source`` as Norwegian Excel saves it: ';', decimal comma, cp1252, CRLF."""
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8"))))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([f.replace(".", ",") if _is_decimal(f) else f for f in row])
    target.write_bytes(out.getvalue().encode("cp1252"))
    return target


def _is_decimal(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return "." in field


def _one_line_error(capsys, code, *fragments):
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("kalib "), err
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_an_excel_export_rakes_exactly_like_the_plain_file(tmp_path, capsys):
    with_place = tmp_path / "with_place.csv"
    pd.read_csv(SAMPLE).assign(fylke="Østfold").to_csv(with_place, index=False)
    sample = _as_excel(with_place, tmp_path / "utvalg.csv")
    margins = [_as_excel(m, tmp_path / f"m{k}.csv") for k, m in enumerate(MARGINS)]
    plain, excel = tmp_path / "plain.csv", tmp_path / "excel.csv"
    args = ["--weight", "w", "--tol", "1e-12"]
    assert (
        main(
            [
                "rake",
                str(SAMPLE),
                *args,
                *[a for m in MARGINS for a in ("--margins", str(m))],
                "--out",
                str(plain),
                "--quiet",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == ""
    assert (
        main(
            [
                "rake",
                str(sample),
                *args,
                *[a for m in margins for a in ("--margins", str(m))],
                "--out",
                str(excel),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        f"read {str(sample)!r}: 910 rows, 14 columns (';'-separated, decimal comma, Windows-1252)"
    ) in out
    assert f"read {str(margins[1])!r}" in out
    np.testing.assert_array_equal(pd.read_csv(excel)["weight"], pd.read_csv(plain)["weight"])


def test_text_na_is_a_category_not_missing(tmp_path, capsys):
    sample = tmp_path / "s.csv"
    sample.write_text("id,region,w\n1,NA,1\n2,NA,1\n3,Oslo,1\n4,null,1\n5,,1\n")
    out = tmp_path / "e.csv"
    assert (
        main(
            [
                "estimate",
                str(sample),
                "--weight",
                "w",
                "--proportion",
                "region=NA",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    row = pd.read_csv(out).iloc[0]
    assert row["estimate"] == pytest.approx(2 / 4) and row["n"] == 4  # the empty cell is missing


@pytest.mark.parametrize(
    "command",
    [
        ["rake", "--margins", str(MARGINS[1])],
        ["replicate", "--method", "jk1"],
        ["estimate", "--mean", "y1"],
        ["crosstab", "--rows", "sector", "--cols", "nace"],
        ["model", "--formula", "y1 ~ x"],
    ],
)
def test_every_command_checks_ids(tmp_path, capsys, command):
    frame = pd.read_csv(SAMPLE)
    frame.loc[4, "id"] = frame.loc[2, "id"]  # lines 4 and 6 share id 3
    sample = tmp_path / "dup.csv"
    frame.to_csv(sample, index=False)
    code = main([command[0], str(sample), *command[1:], "--out", str(tmp_path / "o.csv")])
    _one_line_error(
        capsys, code, "dup.csv': id column 'id' is not unique: id 3 appears 2 times (lines 4, 6)"
    )
    assert not (tmp_path / "o.csv").exists()


def test_blank_id_is_an_error_and_ids_stay_integers(tmp_path, capsys):
    frame = pd.read_csv(SAMPLE)[["id", "stratum", "w", "y1"]]
    blank = frame.astype({"id": object})
    blank.loc[7, "id"] = ""
    blank.to_csv(tmp_path / "blank.csv", index=False)
    code = main(
        [
            "replicate",
            str(tmp_path / "blank.csv"),
            "--weight",
            "w",
            "--method",
            "jk1",
            "--out",
            str(tmp_path / "r.csv"),
        ]
    )
    _one_line_error(capsys, code, "id column 'id' has 1 missing value(s) (line 9)")
    assert (
        main(
            [
                "replicate",
                str(SAMPLE),
                "--weight",
                "w",
                "--method",
                "jk1",
                "--quiet",
                "--out",
                str(tmp_path / "r.csv"),
            ]
        )
        == 0
    )
    ids = pd.read_csv(tmp_path / "r.csv", dtype=str)["id"]
    assert ids.tolist() == frame["id"].astype(str).tolist() and not ids.str.contains(r"\.").any()


def test_duplicated_header_is_named(tmp_path, capsys):
    text = SAMPLE.read_text().replace('"nace",', '"sector",', 1)
    (tmp_path / "h.csv").write_text(text)
    code = main(
        ["estimate", str(tmp_path / "h.csv"), "--mean", "y1", "--out", str(tmp_path / "e.csv")]
    )
    _one_line_error(capsys, code, "column 'sector' appears twice in the header (columns 1 and 3)")


@pytest.mark.parametrize(
    "command",
    [
        ["estimate", str(SAMPLE), "--mean", "y1"],
        ["rake", str(SAMPLE), "--margins", str(MARGINS[1])],
        ["replicate", str(SAMPLE), "--method", "jk1"],
    ],
)
def test_write_errors_are_one_line(tmp_path, capsys, command):
    code = main([*command, "--out", "/proc/kalib.csv", "--quiet"])
    _one_line_error(capsys, code, "cannot write '/proc/kalib.csv'")
    (tmp_path / "d.csv").mkdir()
    code = main([*command, "--out", str(tmp_path / "d.csv"), "--force", "--quiet"])
    _one_line_error(capsys, code, "is a directory; give a file name")
    code = main([*command, "--out", str(tmp_path / "nowhere" / "o.csv"), "--quiet"])
    _one_line_error(capsys, code, "output directory", "does not exist")


def test_inputs_that_are_directories_or_in_another_encoding(tmp_path, capsys):
    code = main(["estimate", str(tmp_path), "--mean", "y1", "--out", str(tmp_path / "e.csv")])
    _one_line_error(capsys, code, "is a directory, not a file")
    code = main(["report", str(tmp_path), "--out", str(tmp_path / "r"), "--quiet"])
    _one_line_error(capsys, code, "is a directory, not a file")
    sample = tmp_path / "s.csv"
    sample.write_bytes("id,fylke,y\n1,Østfold,1\n2,Møre og Romsdal,0\n".encode("cp1252"))
    assert (
        main(
            [
                "estimate",
                str(sample),
                "--proportion",
                "fylke=Østfold",
                "--encoding",
                "cp1252",
                "--out",
                str(tmp_path / "e.csv"),
            ]
        )
        == 0
    )
    assert "Windows-1252 (--encoding)" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "e.csv")["estimate"].iloc[0] == 0.5
    code = main(
        [
            "estimate",
            str(sample),
            "--mean",
            "y",
            "--encoding",
            "klingon",
            "--out",
            str(tmp_path / "f.csv"),
        ]
    )
    _one_line_error(capsys, code, "unknown encoding 'klingon'")


def test_a_header_only_cati_export(tmp_path, capsys):
    from estimators.surveys.employers import CATI_FILE

    (tmp_path / "x.csv").write_text(CATI_FILE.read_text(encoding="utf-8").splitlines()[0] + "\n")
    code = main(["data", "validate", str(tmp_path / "x.csv")])
    _one_line_error(capsys, code, "x.csv' has a header but no data rows")


def test_a_replicate_file_with_a_bad_sidecar(tmp_path, capsys):
    reps = tmp_path / "r.csv"
    assert (
        main(
            [
                "replicate",
                str(SAMPLE),
                "--weight",
                "w",
                "--strata",
                "stratum",
                "--method",
                "jkn",
                "--quiet",
                "--out",
                str(reps),
            ]
        )
        == 0
    )
    meta = json.loads(reps.with_suffix(".json").read_text())
    reps.with_suffix(".json").write_text(json.dumps({**meta, "scale": -1}))
    code = main(
        [
            "estimate",
            str(SAMPLE),
            "--replicate-weights",
            str(reps),
            "--mean",
            "y1",
            "--out",
            str(tmp_path / "e.csv"),
        ]
    )
    _one_line_error(capsys, code, "r.json': 'scale' must be a positive number (it is -1)")


def test_report_output_place_is_checked_before_any_work(tmp_path, capsys):
    code = main(["report", "--out", str(tmp_path / "missing" / "report"), "--quiet"])
    _one_line_error(capsys, code, "output directory", "does not exist")
    (tmp_path / "file").write_text("x")
    code = main(["report", "--out", str(tmp_path / "file"), "--force", "--quiet"])
    _one_line_error(capsys, code, "exists and is not a directory")
