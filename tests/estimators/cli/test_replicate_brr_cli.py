"""``kalib replicate --method brr|fay``, replicate files of every ``svrepdesign``
type (``--replicate-type --scale --rscales --fay-rho``), and ``--calibration
poststratify`` end to end, against R survey 4.1.1 (tests/reference/brr and
tests/reference/poststratify)."""

import json

import numpy as np
import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.cli import main

BRR = REFERENCE / "brr"
PS = REFERENCE / "poststratify"
BRR_REF = json.loads((BRR / "brr_reference.json").read_text())
PS_REF = json.loads((PS / "poststratify_reference.json").read_text())
DESIGN = ["--weight", "w", "--strata", "stratum", "--psu", "psu"]
REPS = [f"rep_{b}" for b in range(1, 13)]


@pytest.fixture
def x_margin(tmp_path):
    totals = json.loads((BRR / "brr_calibration_totals.json").read_text())["margin"]
    path = tmp_path / "x.csv"
    pd.DataFrame({"x": totals["x"], "total": totals["total"]}).to_csv(path, index=False)
    return str(path)


def poststrata(tmp_path, name):
    """R's population table (variables, Freq) as a kalib margin file."""
    frame = pd.read_csv(PS / name)
    frame.columns = [c.replace(".", "_") for c in frame.columns[:-1]] + ["total"]
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def estimate(tmp_path, sample, *args):
    out = tmp_path / "est.csv"
    assert main(["estimate", str(sample), *args, "--quiet", "--force", "--out", str(out)]) == 0
    return pd.read_csv(out).query("domain_var == 'all'").set_index("variable")


@pytest.mark.parametrize(
    "method, extra, ref_file, ref_key",
    [
        ("brr", [], "brr_repweights.csv", "BRR"),
        ("fay", [], "fay_repweights.csv", "Fay"),
        ("fay", ["--fay-rho", "0.5", "--mse"], "fay_repweights.csv", "Fay_mse"),
    ],
)
def test_replicate_file_equals_rs_and_reproduces_its_ses(
    tmp_path, capsys, method, extra, ref_file, ref_key
):
    out = tmp_path / "reps.csv"
    assert (
        main(
            [
                "replicate",
                str(BRR / "brr_data.csv"),
                *DESIGN,
                "--method",
                method,
                *extra,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert f"{method}: 12 replicates, scale" in capsys.readouterr().out
    frame = pd.read_csv(out)
    R = pd.read_csv(BRR / ref_file)
    np.testing.assert_allclose(frame[REPS], R[REPS], rtol=1e-12, atol=1e-12)
    meta = json.loads(out.with_suffix(".json").read_text())
    info = BRR_REF[ref_key]["design"]
    assert (meta["method"], meta["degf"], meta["mse"]) == (method, info["degf"], info["mse"])
    assert meta["scale"] == pytest.approx(info["scale"], rel=1e-15)
    assert meta["fay_rho"] == (0.5 if method == "fay" else 0.0)
    est = estimate(
        tmp_path, BRR / "brr_data.csv", "--replicate-weights", str(out), "--mean", "y,z"
    )
    ref = BRR_REF[ref_key]["svymean_y_z"]
    np.testing.assert_allclose(est.loc[["y", "z"], "se"], list(ref["se"].values()), rtol=1e-8)


def test_recalibrated_brr_equals_rs_calibrate(tmp_path, x_margin):
    out = tmp_path / "reps.csv"
    assert (
        main(
            [
                "replicate",
                str(BRR / "brr_data.csv"),
                *DESIGN,
                "--method",
                "brr",
                "--margins",
                x_margin,
                "--calibration",
                "linear",
                "--tol",
                "1e-13",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    R = pd.read_csv(BRR / "brr_calibrated_linear_repweights.csv")
    np.testing.assert_allclose(pd.read_csv(out)[REPS], R[REPS], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize(
    "variant, options",
    [
        ("successive_difference", ["--replicate-type", "successive-difference"]),
        ("ACS", ["--replicate-type", "acs"]),
        ("JKn_rscales_given", ["--replicate-type", "jkn", "--rscales", "0.5"]),
        ("JK1_scale_given", ["--replicate-type", "jk1", "--scale", "0.95"]),
        ("Fay", ["--replicate-type", "fay", "--fay-rho", "0.5"]),
        (
            "other",
            [
                "--replicate-type",
                "other",
                "--scale",
                "0.04",
                "--rscales",
                ",".join(str(0.5 + b / 100) for b in range(1, 51)),
            ],
        ),
    ],
)
@pytest.mark.parametrize("mse", [False, True])
def test_file_from_elsewhere_by_its_type(tmp_path, variant, options, mse):
    sets = {
        "successive_difference": "sdr",
        "ACS": "sdr",
        "JKn_rscales_given": "JKn",
        "JK1_scale_given": "JK1",
        "Fay": "Fay",
        "other": "bootstrap",
    }
    reps = tmp_path / "reps.csv"  # no sidecar
    pd.read_csv(BRR / f"svrep_{sets[variant]}_repweights.csv").to_csv(reps, index=False)
    est = estimate(
        tmp_path,
        BRR / "brr_data.csv",
        "--replicate-weights",
        str(reps),
        *options,
        "--mean",
        "y,z",
        *(["--mse"] if mse else []),
    )
    ref = BRR_REF["svrepdesign"][f"mse_{str(mse).upper()}"][variant]["svymean_y_z"]
    np.testing.assert_allclose(
        est.loc[["y", "z"], "estimate"], list(ref["coef"].values()), rtol=1e-10
    )
    np.testing.assert_allclose(est.loc[["y", "z"], "se"], list(ref["se"].values()), rtol=1e-8)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--replicate-type", "jkn"], "(give --rscales (one number, or one per replicate"),
        (
            ["--replicate-type", "jkn", "--rscales", "0.5,0.5"],
            "rscales has 2 values for 20 replicates",
        ),
        ([], "has no sidecar"),
        ([], "(for a file written elsewhere give --replicate-type TYPE"),
        (
            ["--replicate-type", "brr", "--scale", "0.5"],
            "replicate type 'brr' has scale 0.05 for 20 replicates; the scale given differs",
        ),
    ],
)
def test_bad_replicate_file_options_are_named(tmp_path, capsys, args, message):
    reps = tmp_path / "reps.csv"
    pd.read_csv(BRR / "svrep_JKn_repweights.csv").to_csv(reps, index=False)
    code = main(
        [
            "estimate",
            str(BRR / "brr_data.csv"),
            "--replicate-weights",
            str(reps),
            *args,
            "--mean",
            "y",
            "--out",
            str(tmp_path / "e.csv"),
        ]
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_replicate_file_options_need_a_file(tmp_path, capsys):
    assert (
        main(
            [
                "estimate",
                str(BRR / "brr_data.csv"),
                *DESIGN,
                "--replicate-type",
                "brr",
                "--mean",
                "y",
                "--out",
                str(tmp_path / "e.csv"),
            ]
        )
        == 2
    )
    assert "describe a --replicate-weights file without sidecar" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "brr", "--fay-rho", "0.3"], "--fay-rho is Fay's factor"),
        (["--method", "jkn", "--collapse-strata"], "--collapse-strata is for --method brr"),
        (["--method", "brr", "--scheduler", "threads"], "leave --scheduler out"),
    ],
)
def test_bad_balanced_options_are_named(tmp_path, capsys, args, message):
    code = main(
        ["replicate", str(BRR / "brr_data.csv"), *DESIGN, *args, "--out", str(tmp_path / "r.csv")]
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_fay_rho_of_1_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "replicate",
                str(BRR / "brr_data.csv"),
                *DESIGN,
                "--method",
                "fay",
                "--fay-rho",
                "1",
                "--out",
                str(tmp_path / "r.csv"),
            ]
        )
    assert exit_info.value.code == 2
    assert "Fay's rho must be in [0, 1) (got 1)" in capsys.readouterr().err


def test_strata_with_other_than_two_psus_are_named(tmp_path, capsys):
    data = pd.read_csv(BRR / "brr_data.csv")
    data.loc[data["psu"] == 1002, "psu"] = 1003
    data.loc[data.index[-1], "psu"] = 1004
    sample = tmp_path / "three.csv"
    data.to_csv(sample, index=False)
    assert (
        main(
            [
                "replicate",
                str(sample),
                *DESIGN,
                "--method",
                "brr",
                "--out",
                str(tmp_path / "r.csv"),
            ]
        )
        == 2
    )
    assert "stratum '10' has 3 PSUs" in capsys.readouterr().err
    single = data[data["psu"] != 1003].assign(
        psu=lambda f: f["psu"].where(~f["stratum"].isin([8, 9]), 100 * f["stratum"] + 1)
    )  # strata 8, 9: one PSU
    single.to_csv(sample, index=False)
    assert (
        main(
            [
                "replicate",
                str(sample),
                *DESIGN,
                "--lonely-psu",
                "certainty",
                "--method",
                "brr",
                "--out",
                str(tmp_path / "r.csv"),
            ]
        )
        == 2
    )
    assert "(use --collapse-strata to pair one-PSU strata" in capsys.readouterr().err
    assert (
        main(
            [
                "replicate",
                str(sample),
                *DESIGN,
                "--lonely-psu",
                "certainty",
                "--method",
                "brr",
                "--collapse-strata",
                "--quiet",
                "--out",
                str(tmp_path / "r.csv"),
            ]
        )
        == 0
    )
    meta = json.loads((tmp_path / "r.json").read_text())
    assert meta["collapse_strata"] is True and meta["degf"] == 9


# -- --calibration poststratify ---------------------------------------------------

CLUS = ["--weight", "pw", "--psu", "dnum", "--fpc", "fpc", "--id", "snum"]


def test_rake_poststratify_writes_rs_weights(tmp_path):
    out = tmp_path / "w.csv"
    assert (
        main(
            [
                "rake",
                str(PS / "apiclus1.csv"),
                "--weight",
                "pw",
                "--margins",
                poststrata(tmp_path, "pop_stype_schwide.csv"),
                "--calibration",
                "poststratify",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    R = pd.read_csv(PS / "dclus1_ps_stype_schwide_weights.csv")
    np.testing.assert_allclose(pd.read_csv(out)["weight"], R["weight"], rtol=1e-12)


@pytest.mark.parametrize(
    "key, table, extra",
    [
        ("dclus1_ps_stype_schwide", "pop_stype_schwide.csv", []),
        ("dclus1_ps_3way_partial_TRUE", "pop_stype_schwide_compimp.csv", ["--partial"]),
        ("rclus1_ps_stype_schwide", "pop_stype_schwide.csv", ["--variance", "jk1"]),
    ],
)
def test_estimate_poststratified_equals_rs(tmp_path, key, table, extra):
    est = estimate(
        tmp_path,
        PS / "apiclus1.csv",
        *CLUS,
        "--margins",
        poststrata(tmp_path, table),
        "--calibration",
        "poststratify",
        *extra,
        "--mean",
        "api00",
    )
    ref = PS_REF[key]["svymean_api00"]
    assert est.loc["api00", "estimate"] == pytest.approx(ref["coef"]["api00"], rel=1e-10)
    assert est.loc["api00", "se"] == pytest.approx(ref["se"]["api00"], rel=1e-8)


def test_a_replicate_file_is_poststratified_replicate_by_replicate(tmp_path):
    reps = tmp_path / "reps.csv"  # R's JK1 weights of apiclus1, no sidecar
    pd.read_csv(PS / "rclus1_repweights.csv").rename(columns={"snum": "id"}).to_csv(
        reps, index=False
    )
    info = PS_REF["rclus1"]["design"]
    est = estimate(
        tmp_path,
        PS / "apiclus1.csv",
        "--id",
        "snum",
        "--replicate-weights",
        str(reps),
        "--replicate-type",
        "jk1",
        "--scale",
        repr(info["scale"]),
        "--margins",
        poststrata(tmp_path, "pop_stype_schwide.csv"),
        "--calibration",
        "poststratify",
        "--mean",
        "api00",
    )
    ref = PS_REF["rclus1_ps_stype_schwide"]["svymean_api00"]
    assert est.loc["api00", "se"] == pytest.approx(ref["se"]["api00"], rel=1e-8)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--margins", "3way"], "no sample unit: stype*sch_wide*comp_imp=(E, No, Yes) (N = 50)"),
        (["--margins", "3way"], "(use --partial to drop them; the weights then sum to less"),
        (
            ["--margins", "stype", "--margins", "schwide"],
            "takes one (crossed) margin, got 2 --margins files",
        ),
        (["--margins", "stype", "--bounds", "0.5,2"], "takes no --bounds"),
    ],
)
def test_bad_poststratification_is_named(tmp_path, capsys, args, message):
    files = {
        "3way": "pop_stype_schwide_compimp.csv",
        "stype": "pop_stype.csv",
        "schwide": "pop_schwide.csv",
    }
    args = [poststrata(tmp_path, files[a]) if a in files else a for a in args]
    code = main(
        [
            "estimate",
            str(PS / "apiclus1.csv"),
            *CLUS,
            *args,
            "--calibration",
            "poststratify",
            "--mean",
            "api00",
            "--out",
            str(tmp_path / "e.csv"),
        ]
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_partial_without_poststratify_and_report_without_it(tmp_path, capsys):
    assert (
        main(
            [
                "estimate",
                str(PS / "apiclus1.csv"),
                *CLUS,
                "--partial",
                "--mean",
                "api00",
                "--out",
                str(tmp_path / "e.csv"),
            ]
        )
        == 2
    )
    assert "--partial belongs to --calibration poststratify" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--calibration", "poststratify", "--out", str(tmp_path / "r")])
    assert exit_info.value.code == 2
    assert "invalid choice: 'poststratify'" in capsys.readouterr().err
