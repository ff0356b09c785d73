"""Estimates and linearization SEs after the calibration variants of issue 19
equal R ``survey`` 4.1.1 (tests/reference/calibration_variants): totals,
means, category totals and shares, and domain estimates (``svyby``), on every
design of the reference. Includes R's SE projection after its Newton
iteration, which leaves ``variance`` out (``ratio_rake_v1``: the weights of
``ratio_v1``, another SE), and ``trimWeights``' calibration residuals.

Also: a replicate SE equals the one from the replicate weights calibrated by
hand (tests/weighting/test_calibration_variants.py checks the weights)."""

import numpy as np
import pytest
from variants_reference import CASES, DATA, JSON, TRIMS, by_hand, variant

from estimators import svymean, svytotal
from estimators.inference.variance import replicate_covariance

for _data in DATA.values():
    for _level in "EHM":
        _data[f"stype{_level}"] = (_data["stype"] == _level).astype(float)

DESIGNS = ["dstrat", "dclus1"] + sorted(CASES) + sorted(TRIMS)


def close(estimate, se, expected, scale):
    """Estimate to 1e-8 relative; the SE too, or at R's rounding noise when R's
    SE is (up to rounding) zero: a calibrated total has no variance."""
    estimate_r, se_r = expected
    assert estimate == pytest.approx(estimate_r, rel=1e-8, abs=0)
    if se_r < 1e-9 * scale:
        assert se < 1e-9 * scale
    else:
        assert se == pytest.approx(se_r, rel=1e-8, abs=0)


def reference(block, key):
    return block["estimate"][key], block["se"][key]


@pytest.mark.parametrize("name", DESIGNS)
def test_totals_and_means_equal_r(name):
    d, results = variant(name), JSON["results"][name]
    for variable, statistic in [
        ("api00", "total"),
        ("api00", "mean"),
        ("api_stu", "total"),
        ("enroll", "total"),
    ]:
        f = (svytotal if statistic == "total" else svymean)(d, variable).frame
        expected = reference(results[f"{statistic}_{variable}"], variable)
        close(f.estimate[0], f.se[0], expected, abs(expected[0]))
    totals = svytotal(d, ["stypeE", "stypeH", "stypeM"]).frame
    means = svymean(d, ["api99", "api00", "stypeE", "stypeH", "stypeM"]).frame
    for k, level in enumerate("EHM"):
        expected = reference(results["total_stype"], f"stype{level}")
        close(totals.estimate[k], totals.se[k], expected, expected[0])
    for k, key in enumerate(["api99", "api00", "stypeE", "stypeH", "stypeM"]):
        expected = reference(results["mean_api99_api00_stype"], key)
        close(means.estimate[k], means.se[k], expected, abs(expected[0]))


@pytest.mark.parametrize("name", DESIGNS)
def test_domain_estimates_equal_r(name):
    d, results = variant(name), JSON["results"][name]
    for statistic, variable, by, levels in [
        ("mean", "api00", "stype", ["E", "H", "M"]),
        ("mean", "api00", "sch_wide", ["No", "Yes"]),
        ("total", "enroll", "sch_wide", ["No", "Yes"]),
    ]:
        f = (svytotal if statistic == "total" else svymean)(d, variable, by=(by,)).frame
        assert list(f.domain) == levels
        block = results[f"by_{by}_{statistic}_{variable}"]
        for k, level in enumerate(levels):
            expected = reference(block, level)
            close(f.estimate[k], f.se[k], expected, abs(expected[0]))


def test_r_newton_projection_leaves_the_variance_out():
    # same weights, different SE in R; kalib follows
    for base in ("dstrat", "dclus1"):
        direct = JSON["results"][f"{base}_ratio_v1"]["total_api_stu"]["se"]["api_stu"]
        newton = JSON["results"][f"{base}_ratio_rake_v1"]["total_api_stu"]["se"]["api_stu"]
        assert abs(direct / newton - 1) > 1e-4
        check = JSON["ratio_estimator_check"][base]
        se = svytotal(variant(f"{base}_ratio_v1"), "api_stu").frame.se[0]
        assert se == pytest.approx(check["total_se"], rel=1e-8)  # the ratio estimator's


@pytest.mark.parametrize("method", ["jkn", "bootstrap"])
@pytest.mark.parametrize("name", ["dclus1_ratio_vvec", "dclus1_g3_agg_rake", "dclus1_g3_cb_list"])
def test_replicate_se_equals_the_replicates_calibrated_by_hand(name, method):
    margins, settings = CASES[name]
    d, expected = by_hand("dclus1", margins, settings, method)
    f = svytotal(d, "api00").frame
    y = DATA["dclus1"]["api00"]
    theta = expected.T @ y
    V = replicate_covariance(d.weights @ y, theta[:, None], d.scale, d.rscales, d.mse)
    assert f.se[0] == pytest.approx(np.sqrt(V[0, 0]), rel=1e-9)


def test_the_chunked_path_refuses_per_row_settings():
    # it re-calibrates replicates from cell totals alone, which per-row
    # variances and bounds are not
    from estimators.scale.cells import CellCalibration
    from weighting.errors import KalibError

    for name in ("dclus1_ratio_vvec", "dclus1_g3_cb_list"):
        with pytest.raises(KalibError, match="needs the in-memory design"):
            CellCalibration.from_result(variant(name).calibration)
