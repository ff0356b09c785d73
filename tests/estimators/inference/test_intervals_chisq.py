"""svychisq's statistics (F, Chisq, Wald, adjWald, saddlepoint) against R.

Reference: ``tests/reference/tests_intervals`` (survey 4.1.1),
``svychisq(~sch_wide + stype, d, statistic = ...)``. R's ``lincom`` fell back
to the saddlepoint there (CompQuadForm is not installed): same p-value, and
kalib does not offer it. ``dclus2`` waits for multistage designs.
"""

import numpy as np
import pytest
from reference.tests_intervals.designs import DESIGNS, LINEARIZED, R

from estimators.inference.chisq import STATISTICS, ChisqTest, rao_scott, svychisq
from weighting.errors import KalibError

RTOL = 1e-10


@pytest.mark.parametrize("design", LINEARIZED)
@pytest.mark.parametrize("statistic", STATISTICS)
def test_statistic_equals_r(design, statistic):
    ref = R["svychisq"][design][statistic]
    t = svychisq(DESIGNS[design], "sch_wide", "stype", statistic)
    ((name, value),) = ref["statistic"].items()
    assert t.name == name
    np.testing.assert_allclose([t.value, t.p], [value, ref["p_value"]], rtol=RTOL)
    parameter = list((ref["parameter"] or {}).values())
    np.testing.assert_allclose([v for v in (t.ndf, t.ddf) if v is not None], parameter, rtol=RTOL)


@pytest.mark.parametrize("design", LINEARIZED)
def test_r_s_lincom_without_compquadform_is_the_saddlepoint(design):
    ref = R["svychisq"][design]
    assert ref["lincom"]["p_value"] == ref["saddlepoint"]["p_value"]


@pytest.mark.parametrize("design", LINEARIZED)
def test_weighted_table_is_r_s_svytable(design):
    res = rao_scott(DESIGNS[design], "sch_wide", "stype")
    ref = R["svychisq"][design]["table"]["values"]
    assert res.rows == ref["rownames"] and res.cols == ref["colnames"]
    np.testing.assert_allclose(res.table, ref["values"], rtol=1e-12)


@pytest.mark.parametrize("design", ["rclus1", "bclus1"])
def test_wald_statistics_on_replicates_use_the_design_df(design):
    """On a replicate design nu is the design's df: the adjusted Wald F is the
    Wald F times (nu - k + 1) / nu on nu - k + 1 df."""
    wald = svychisq(DESIGNS[design], "sch_wide", "stype", "Wald")
    adj = svychisq(DESIGNS[design], "sch_wide", "stype", "adjWald")
    nu = DESIGNS[design].degf
    assert (wald.ndf, wald.ddf, adj.ddf) == (2, nu, nu - 1)
    assert adj.value == pytest.approx(wald.value * (nu - 1) / nu, rel=1e-12)
    assert 0 < wald.p < adj.p < 1


def test_within_a_domain_the_wald_test_uses_the_domain():
    design = DESIGNS["dstrat"]
    domain = (design.data["comp_imp"] == "Yes").to_numpy()
    whole = svychisq(design, "sch_wide", "stype", "Wald")
    part = svychisq(design, "sch_wide", "stype", "Wald", domain=domain)
    assert part.value != pytest.approx(whole.value)
    assert (
        isinstance(part, ChisqTest)
        and part.ddf == rao_scott(design, "sch_wide", "stype", domain=domain).nu
    )


def test_unknown_statistic_is_named():
    with pytest.raises(KalibError, match="unknown svychisq statistic 'lincom'"):
        svychisq(DESIGNS["dstrat"], "sch_wide", "stype", "lincom")


def test_line_names_the_statistic():
    line = svychisq(DESIGNS["dstrat"], "sch_wide", "stype", "adjWald").line()
    assert line.startswith('Design-based Wald "adjWald": F = 16.0501, ndf = 2, ddf = 196')


def test_crosstab_cli_prints_the_statistics_asked_for(tmp_path, capsys):
    from reference.tests_intervals.designs import HERE

    from estimators.cli import main

    out = tmp_path / "tab.csv"
    code = main(
        [
            "crosstab",
            str(HERE / "apistrat.csv"),
            "--weight",
            "pw",
            "--strata",
            "stype",
            "--fpc",
            "fpc",
            "--rows",
            "sch_wide",
            "--cols",
            "stype",
            "--statistic",
            "adjWald",
            "--statistic",
            "saddlepoint",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out.splitlines()
    assert code == 0 and out.exists()
    assert (
        '  Design-based Wald "adjWald": F = 16.0501, ndf = 2, ddf = 196, p = 3.506e-07' in printed
    )
    assert '  Rao-Scott "saddlepoint": X-squared = 26.7535, p = 7.473e-07' in printed
    assert '  Rao-Scott "F": F = 17.2474, ndf = 1.8287, ddf = 360.2483, p = 2.035e-07' in printed
