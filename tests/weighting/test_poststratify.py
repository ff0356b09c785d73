"""Design.poststratify against R survey 4.1.1's postStratify (tests/reference/
poststratify, poststratify.R): weights, linearization and replicate SEs,
per-replicate post-stratification, R's degf rule, partial tables, and errors."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.inference import estimate as E
from estimators.inference.contrast import estimates
from weighting import Margin
from weighting._backend import use_kernels
from weighting.design import Design
from weighting.errors import EmptyCellError, KalibError, MarginError, ReplicateError

REF_DIR = Path(__file__).parents[1] / "reference" / "poststratify"
REF = json.loads((REF_DIR / "poststratify_reference.json").read_text())
CLUS = pd.read_csv(REF_DIR / "apiclus1.csv")
STRAT = pd.read_csv(REF_DIR / "apistrat.csv")
RTOL = 1e-8
TABLES = {
    "stype": "pop_stype.csv",
    "stype_schwide": "pop_stype_schwide.csv",
    "3way": "pop_stype_schwide_compimp.csv",
    "schwide": "pop_schwide.csv",
}


def table(name) -> Margin:
    """A population table as R's data frame (variables, Freq) -> Margin."""
    frame = pd.read_csv(REF_DIR / TABLES[name])
    columns = [c for c in frame.columns if c != "Freq"]
    return Margin(
        tuple(c.replace(".", "_") for c in columns),
        {tuple(row[columns]): row["Freq"] for _, row in frame.iterrows()},
    )


def given_replicates(data, file, design_ref):
    """R's replicate design rebuilt from its analysis weights (README)."""
    reps = pd.read_csv(REF_DIR / file)
    info = design_ref["design"]
    return Design(data, weights=reps["weight"].to_numpy()).with_replicate_weights(
        reps.filter(like="rep_").to_numpy(),
        info["scale"],
        info["rscales"],
        info["mse"],
        method=info["type"].lower(),
    )


DESIGNS = {
    "dclus1": lambda: Design(CLUS, weights="pw", psu="dnum", fpc="fpc"),
    "dstrat": lambda: Design(STRAT, weights="pw", strata="stype", fpc="fpc"),
    "rclus1": lambda: given_replicates(CLUS, "rclus1_repweights.csv", REF["rclus1"]),
    "rstrat": lambda: given_replicates(STRAT, "rstrat_repweights.csv.gz", REF["rstrat"]),
    "kalib_rclus1": lambda: DESIGNS["dclus1"]().with_replicates("jk1"),
    "kalib_rstrat": lambda: DESIGNS["dstrat"]().with_replicates("jkn"),
}
CASES = [  # (reference block, design, table, partial)
    ("dclus1_ps_stype", "dclus1", "stype", False),
    ("dclus1_ps_stype_schwide", "dclus1", "stype_schwide", False),
    ("dclus1_ps_3way_partial_TRUE", "dclus1", "3way", True),
    ("dstrat_ps_schwide", "dstrat", "schwide", False),
    ("dstrat_ps_stype_schwide", "dstrat", "stype_schwide", False),
    ("rclus1_ps_stype", "rclus1", "stype", False),
    ("rclus1_ps_stype_schwide", "rclus1", "stype_schwide", False),
    ("rclus1_ps_3way_partial_TRUE", "rclus1", "3way", True),
    ("rstrat_ps_schwide", "rstrat", "schwide", False),
    ("rstrat_ps_stype_schwide", "rstrat", "stype_schwide", False),
    ("rclus1_ps_stype", "kalib_rclus1", "stype", False),
    ("rclus1_ps_stype_schwide", "kalib_rclus1", "stype_schwide", False),
    ("rclus1_ps_3way_partial_TRUE", "kalib_rclus1", "3way", True),
    ("rstrat_ps_schwide", "kalib_rstrat", "schwide", False),
    ("rstrat_ps_stype_schwide", "kalib_rstrat", "stype_schwide", False),
]


def indicator_totals(d, variable):
    values = d.data[variable].to_numpy()
    return [
        E.Item(f"{variable}{c}", (values == c).astype(float), None, np.ones(d.n, bool), "total")
        for c in sorted(set(values))
    ]


def blocks(d):
    """poststratify.R's estimates, as kalib Estimates, by R's block name."""
    return {
        "svymean_api00_enroll": estimates(d, ["api00", "enroll"]),
        "svytotal_api00_enroll": estimates(d, ["api00", "enroll"], statistic="total"),
        "svytotal_enroll": estimates(d, ["enroll"], statistic="total"),
        "svymean_api00": estimates(d, ["api00"]),
        "svytotal_stype": estimates(d, indicator_totals(d, "stype")),
        "svymean_sch.wide": estimates(d, E.distribution_items(d, "sch_wide")),
        "svytotal_sch.wide": estimates(d, indicator_totals(d, "sch_wide")),
        "svyratio_api00_api99": estimates(d, [E.ratio_item(d, "api00", "api99")]),
    }


def assert_block(est, ref):
    coef = np.array(list(ref["coef"].values()), dtype=float)
    np.testing.assert_allclose(est.coef, coef, rtol=RTOL)
    # SEs that are 0 in exact arithmetic (totals of the post-strata) are
    # rounding noise in both: compared at 1e-8 of the estimate
    noise = RTOL * np.abs(coef).max()
    np.testing.assert_allclose(est.se, list(ref["se"].values()), rtol=RTOL, atol=noise)
    V = np.atleast_2d(np.array(ref["vcov"]["matrix"], dtype=float))
    np.testing.assert_allclose(est.vcov, V, rtol=RTOL, atol=max(RTOL * np.abs(V).max(), noise**2))


@pytest.mark.parametrize("key, design, name, partial", CASES)
def test_poststratified_design_equals_rs(key, design, name, partial):
    ref = REF[key]
    d = DESIGNS[design]().poststratify(table(name), partial=partial)
    frame = pd.read_csv(REF_DIR / ref["weights_file"])
    if design.startswith("d"):
        np.testing.assert_allclose(d.weights, frame["weight"], rtol=1e-12)
    elif not design.startswith("kalib"):  # R's replicate columns, in R's order
        np.testing.assert_allclose(d.replicate_weights(), frame.filter(like="rep_"), rtol=1e-12)
    np.testing.assert_allclose(d.weights.sum(), ref["weight_summary"]["sum"], rtol=1e-12)
    if "design" in ref:
        info = ref["design"]
        assert (d.B, d.degf, d.mse) == (info["n_replicates"], info["degf"], info["mse"])
        np.testing.assert_allclose(d.scale, info["scale"], rtol=1e-14)
    for block, est in blocks(d).items():
        assert_block(est, ref[block])


@pytest.mark.parametrize("design", ["dclus1", "dstrat", "rclus1", "rstrat"])
def test_unadjusted_designs_equal_rs(design):
    for block, est in blocks(DESIGNS[design]()).items():
        assert_block(est, REF[design][block])


@pytest.mark.parametrize("distance", ["raking", "linear"])
def test_same_weights_and_ses_as_calibrating_to_the_crossed_margin(distance):
    d = DESIGNS["dclus1"]()
    ps = d.poststratify(table("stype_schwide"))
    cal = d.calibrate([table("stype_schwide")], distance=distance)
    np.testing.assert_allclose(ps.weights, cal.weights, rtol=1e-13)
    for a, b in zip(blocks(ps).values(), blocks(cal).values()):
        noise = (1e-10 * np.abs(b.coef).max()) ** 2  # variances that are 0 exactly
        np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-10, atol=noise)


def test_a_mapping_and_its_variables_are_a_table():
    m = table("stype_schwide")
    a = DESIGNS["dclus1"]().poststratify(m.table, variables=m.variables)
    np.testing.assert_array_equal(a.weights, DESIGNS["dclus1"]().poststratify(m).weights)
    with pytest.raises(KalibError, match="differ from the margin's"):
        DESIGNS["dclus1"]().poststratify(m, variables="stype")


def test_population_cells_without_sample_units_need_partial():
    assert REF["dclus1_ps_3way_partial_FALSE"]["error"].startswith("Some strata absent")
    with pytest.raises(
        EmptyCellError,
        match=r"3 population cell\(s\) .* no sample unit: "
        r"stype\*sch_wide\*comp_imp=\(E, No, Yes\) \(N = 50\)",
    ) as info:
        DESIGNS["dclus1"]().poststratify(table("3way"))
    assert info.value.option == "partial"
    d = DESIGNS["dclus1"]().poststratify(table("3way"), partial=True)
    assert d.weights.sum() == pytest.approx(6194 - 77, rel=1e-12)  # N less the dropped cells


@pytest.mark.parametrize("partial", [False, True])
def test_a_sample_cell_missing_from_the_table_is_named(partial):
    assert "Strata in sample absent" in REF["dclus1_ps_table_missing_sample_cell"]["error"]
    m = table("stype_schwide")
    lacking = Margin(m.variables, {k: v for k, v in m.table.items() if k != ("H", "No")})
    with pytest.raises(MarginError, match=r"stype\*sch_wide=\(H, No\) \(\d+ respondents\)"):
        DESIGNS["rclus1"]().poststratify(lacking, partial=partial)


def test_a_calibrated_design_is_not_poststratified_again():
    d = DESIGNS["dclus1"]().poststratify(table("stype"))
    with pytest.raises(KalibError, match="already calibrated"):
        d.poststratify(table("schwide"))


def test_a_replicate_without_weight_in_a_cell_is_named():
    d = DESIGNS["rclus1"]()
    W = d.replicate_weights().copy()
    W[(CLUS["stype"] == "H").to_numpy(), 4] = 0.0
    d = Design(CLUS, weights=d.weights).with_replicate_weights(W, d.scale, d.rscales)
    with pytest.raises(ReplicateError, match="replicate 5 has no weight in post-stratum stype=H"):
        d.poststratify(table("stype"))


def test_kernel_and_numpy_paths_agree():
    out = []
    for kernels in (True, False):
        with use_kernels(kernels):
            out.append(
                DESIGNS["kalib_rstrat"]().poststratify(table("stype_schwide")).replicate_weights()
            )
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(2, 5), st.integers(1, 3))
def test_every_cell_and_replicate_reaches_its_count(seed, psus, levels):
    """w_i / d_i is constant in a cell, the cells sum to N_c in the full
    sample and in every replicate, whatever the design."""
    rng = np.random.default_rng(seed)
    n = 60
    data = {
        "s": rng.integers(0, 2, n),
        "p": rng.integers(0, psus, n),
        "a": rng.integers(0, levels, n),
        "b": rng.integers(0, 2, n),
        "w": rng.uniform(1, 10, n),
    }
    data["p"] = data["p"] + 10 * data["s"]
    cells = sorted({(int(x), int(y)) for x, y in zip(data["a"], data["b"])})
    N = {c: float(rng.integers(50, 500)) for c in cells}
    try:
        d = Design(data, weights="w", strata="s", psu="p").with_replicates("jkn")
    except KalibError:  # a stratum with one PSU: nothing to check
        return
    ps = d.poststratify(Margin(("a", "b"), N))
    cell = np.array([cells.index((int(x), int(y))) for x, y in zip(data["a"], data["b"])])
    g = ps.weights / data["w"]
    for c in range(len(cells)):
        assert np.ptp(g[cell == c]) <= 1e-12 * g[cell == c].max()
    W = np.column_stack([ps.weights, ps.replicate_weights()])
    sums = np.stack([np.bincount(cell, W[:, b], minlength=len(cells)) for b in range(W.shape[1])])
    np.testing.assert_allclose(
        sums, np.broadcast_to([N[c] for c in cells], sums.shape), rtol=1e-10
    )
