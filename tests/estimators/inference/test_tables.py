"""Weighted tables with SEs against R survey 4.1.1 (svytable; svytotal and
svymean of interaction(stype, sch.wide)); tests/reference/contrasts."""

import numpy as np
import pandas as pd
import pytest
from reference.contrasts.designs import DESIGNS, REF

from estimators.inference.contrast import svycontrast
from estimators.inference.domains import Equals
from estimators.inference.estimate import svyprop
from estimators.inference.tables import (
    CELL_COLUMNS,
    categories,
    cell_estimates,
    cell_table,
    svytable,
)
from weighting.design import Design
from weighting.errors import KalibError

RTOL = 1e-8
NAMES = list(DESIGNS)
CROSS = ["stype", "sch_wide"]


def r_cell(name):
    """``interaction(stype, sch.wide)E.No`` -> kalib's ``E*No``."""
    return name.split(")", 1)[1].replace(".", "*")


@pytest.mark.parametrize("design", NAMES)
def test_svytable_matches_r(design):
    R = REF[design]["svytable_stype_schwide"]
    table = svytable(DESIGNS[design], CROSS).unstack()
    assert list(table.index) == R["rows"] and list(table.columns) == R["cols"]
    np.testing.assert_allclose(table.to_numpy(), R["table"], rtol=RTOL)


@pytest.mark.parametrize("design", NAMES)
@pytest.mark.parametrize("statistic", ["total", "mean"])
def test_cell_estimates_match_r_interaction(design, statistic):
    R = REF[design][f"svy{statistic}_interaction"]
    est = cell_estimates(DESIGNS[design], CROSS, statistic)
    assert est.names == ("E*No", "E*Yes", "H*No", "H*Yes", "M*No", "M*Yes")
    order = [est.names.index(r_cell(n)) for n in R["coef"]]
    np.testing.assert_allclose(est.coef[order], list(R["coef"].values()), rtol=RTOL)
    np.testing.assert_allclose(est.se[order], list(R["se"].values()), rtol=RTOL)
    V = np.array(R["vcov"]["matrix"])
    np.testing.assert_allclose(
        est.vcov[np.ix_(order, order)], V, rtol=RTOL, atol=RTOL * np.abs(V).max()
    )


def test_cell_shares_sum_to_one_with_zero_variance():
    est = cell_estimates(DESIGNS["apiclus1_calibrated"], CROSS, "mean")
    total = svycontrast(est, np.ones(len(est)))
    np.testing.assert_allclose(total.coef, 1.0, rtol=1e-14)
    assert abs(total.vcov[0, 0]) < 1e-15


@pytest.mark.parametrize("design", NAMES)
def test_cell_table_is_the_tidy_table_with_ses(design):
    d = DESIGNS[design]
    table = cell_table(d, CROSS, by=["all", "comp_imp"])
    assert list(table.columns) == ["domain_var", "domain", *CROSS, *CELL_COLUMNS]
    whole = table[table["domain_var"] == "all"]
    totals = cell_estimates(d, CROSS, "total")
    np.testing.assert_allclose(whole["weighted_count"], totals.coef, rtol=1e-12)
    np.testing.assert_allclose(whole["weighted_count_se"], totals.se, rtol=1e-10)
    shares = cell_estimates(d, CROSS, "mean")
    np.testing.assert_allclose(whole["proportion"], shares.coef, rtol=1e-12)
    np.testing.assert_allclose(whole["proportion_se"], shares.se, rtol=1e-10)
    counts = d.data.groupby(CROSS).size()
    assert whole["n"].tolist() == counts.tolist()


def test_cell_share_in_a_domain_is_svyprop_of_the_cell():
    """Within a domain a cell's share is of the domain's table, with
    svyprop's logit interval."""
    table = cell_table(DESIGNS["apistrat"], CROSS, by=["comp_imp"])
    row = table[
        (table["domain"] == "Yes") & (table["stype"] == "H") & (table["sch_wide"] == "Yes")
    ].iloc[0]
    data = DESIGNS["apistrat"].data
    d = Design(
        data.assign(cell=data["stype"] + "*" + data["sch_wide"]),
        weights="pw",
        strata="stype",
        fpc="fpc",
    )
    p = svyprop(d, "cell", "H*Yes", where=Equals("comp_imp", "Yes")).frame.iloc[0]
    np.testing.assert_allclose(
        [row["proportion"], row["proportion_se"], row["ci_low"], row["ci_high"]],
        [p["estimate"], p["se"], p["ci_low"], p["ci_high"]],
        rtol=1e-12,
    )
    assert (
        row["n"]
        == (
            (data["comp_imp"] == "Yes") & (data["stype"] == "H") & (data["sch_wide"] == "Yes")
        ).sum()
    )


def test_empty_cells_are_kept_and_missing_answers_left_out():
    data = pd.DataFrame(
        {
            "a": ["x", "x", "y", None, "y"],
            "b": [1, 2, 1, 2, np.nan],
            "w": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    d = Design(data, weights="w")
    t = svytable(d, ["a", "b"])
    assert t.to_dict() == {("x", "1"): 1.0, ("x", "2"): 2.0, ("y", "1"): 3.0, ("y", "2"): 0.0}
    assert svytable(d, "a").to_dict() == {"x": 3.0, "y": 8.0}


def test_categories_in_domain_order():
    data = {"size": ["5-19", "50+", "1-4", "20-49", None]}
    assert categories(data, "size") == ["1-4", "5-19", "20-49", "50+"]


def test_table_errors_are_named():
    d = DESIGNS["apistrat"]
    with pytest.raises(KalibError, match="'nothing' is not in the data"):
        svytable(d, ["stype", "nothing"])
    with pytest.raises(KalibError, match="'stype' has no answers"):
        svytable(d, "stype", where=Equals("stype", "Q"))
    with pytest.raises(KalibError, match="'median'"):
        cell_estimates(d, CROSS, "median")
