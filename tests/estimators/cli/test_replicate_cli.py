"""``kalib replicate`` end to end."""

import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.cli import main
from estimators.io.files import read_margins
from estimators.io.replicate_file import read_replicate_weights
from weighting.design import Design

REF = REFERENCE / "variance"
SAMPLE = str(REF / "business.csv")
MARGINS = [
    "--margins",
    str(REF / "business_margin_sector_size.csv"),
    "--margins",
    str(REF / "business_margin_nace.csv"),
]


def test_bootstrap_file_equals_the_api(tmp_path, capsys):
    out = tmp_path / "reps.csv"
    args = [
        "replicate",
        SAMPLE,
        "--weight",
        "w",
        "--strata",
        "stratum",
        *MARGINS,
        "--method",
        "bootstrap",
        "--replicates",
        "30",
        "--seed",
        "5",
        "--tol",
        "1e-12",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    assert "bootstrap: 30 replicates (seed 5)" in capsys.readouterr().out
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["id", "weight"] + [f"rep_{b}" for b in range(1, 31)]
    data = pd.read_csv(
        REF / "business.csv", dtype={"sector": str, "size_class": str, "nace": str, "stratum": str}
    )
    margins = [
        read_margins(REF / "business_margin_sector_size.csv"),
        read_margins(REF / "business_margin_nace.csv"),
    ]
    api = (
        Design(data, weights="w", strata="stratum")
        .calibrate(margins, tol=1e-12)
        .with_replicates("bootstrap", replicates=30, seed=5)
    )
    np.testing.assert_array_equal(frame.iloc[:, 2:].to_numpy(), api.replicate_weights())
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["seed"] == 5 and meta["mse"] is False and len(meta["convergence"]) == 30
    # same command again: refused without --force (exit 2), accepted with it
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err
    assert main(args + ["--force", "--quiet"]) == 0


def test_jk1_parquet_with_clusters_and_fpc(tmp_path):
    out = tmp_path / "reps.parquet"
    assert (
        main(
            [
                "replicate",
                str(REF / "apiclus1.csv"),
                "--id",
                "cds",
                "--weight",
                "pw",
                "--psu",
                "dnum",
                "--fpc",
                "fpc",
                "--method",
                "jk1",
                "--mse",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    back = read_replicate_weights(out)
    assert back.repweights.shape == (183, 15) and back.mse
    assert back.scale == pytest.approx((1 - 15 / 757) * 14 / 15)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--strata", "id"], "single PSU"),
        (["--id", "stratum"], "not unique"),
        (["--strata", "nope"], "no column 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, extra, message):
    code = main(
        [
            "replicate",
            SAMPLE,
            "--weight",
            "w",
            "--method",
            "jkn",
            *extra,
            "--out",
            str(tmp_path / "r.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "r.csv").exists()


def test_lonely_psu_merge_option(tmp_path):
    data = pd.DataFrame({"id": range(5), "s": ["a", "a", "b", "c", "c"], "y": 1.0})
    data.to_csv(tmp_path / "s.csv", index=False)
    assert (
        main(
            [
                "replicate",
                str(tmp_path / "s.csv"),
                "--strata",
                "s",
                "--lonely-psu",
                "b=a",
                "--method",
                "jkn",
                "--quiet",
                "--out",
                str(tmp_path / "r.csv"),
            ]
        )
        == 0
    )
    meta = json.loads((tmp_path / "r.json").read_text())
    assert meta["replicates"] == 5 and meta["design"]["strata"] == 2


def test_estimate_reads_the_file_with_another_id_column(tmp_path):
    # the replicate file's unit column is always `id`; the sample's is --id
    sample = tmp_path / "s.csv"
    pd.read_csv(SAMPLE).rename(columns={"id": "unit"}).sample(frac=1, random_state=1).to_csv(
        sample, index=False
    )
    reps = tmp_path / "reps.csv"
    design = ["--weight", "w", "--strata", "stratum", *MARGINS]
    assert (
        main(
            [
                "replicate",
                str(sample),
                "--id",
                "unit",
                *design,
                "--method",
                "jkn",
                "--out",
                str(reps),
                "--quiet",
            ]
        )
        == 0
    )
    assert "id" in pd.read_csv(reps, nrows=1).columns
    from_file, in_process = tmp_path / "a.csv", tmp_path / "b.csv"
    assert (
        main(
            [
                "estimate",
                str(sample),
                "--id",
                "unit",
                "--replicate-weights",
                str(reps),
                "--mean",
                "y1",
                "--out",
                str(from_file),
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "estimate",
                str(sample),
                "--id",
                "unit",
                *design,
                "--variance",
                "jkn",
                "--mean",
                "y1",
                "--out",
                str(in_process),
                "--quiet",
            ]
        )
        == 0
    )
    a, b = pd.read_csv(from_file), pd.read_csv(in_process)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-12)
    assert a["se"].iloc[0] > 0
