"""Rao-Scott tests against R svychisq; Pearson on counts."""

import numpy as np
import pytest
from reference.estimators.apistrat_designs import DESIGNS, R
from scipy.stats import chi2_contingency

from estimators.inference.chisq import pearson, rao_scott
from weighting.errors import KalibError

RTOL = 1e-8


@pytest.mark.parametrize("kind", ["lin", "jkn"])
@pytest.mark.parametrize(
    "table,rows,cols", [("chisq", "sch_wide", "comp_imp"), ("chisq3", "awards", "stype")]
)
def test_svychisq_F_and_Chisq(kind, table, rows, cols):
    res = rao_scott(DESIGNS[kind], rows, cols)
    f_ref, c_ref = R[f"{kind}.{table}_F"], R[f"{kind}.{table}_Chisq"]
    np.testing.assert_allclose([res.f, res.f_ndf, res.f_ddf, res.f_p], f_ref, rtol=RTOL)
    np.testing.assert_allclose([res.pearson, res.chisq_df, res.chisq_p], c_ref, rtol=RTOL)


def test_svychisq_within_a_domain():
    design = DESIGNS["lin"]
    domain = (design.data["comp_imp"] == "Yes").to_numpy()
    res = rao_scott(design, "awards", "stype", domain=domain)
    np.testing.assert_allclose(
        [res.f, res.f_ndf, res.f_ddf, res.f_p], R["lin.chisq_comp_imp_yes_F"], rtol=RTOL
    )
    np.testing.assert_allclose(
        [res.pearson, res.chisq_df, res.chisq_p], R["lin.chisq_comp_imp_yes_Chisq"], rtol=RTOL
    )
    assert res.counts.sum() == domain.sum()


def test_pearson_is_scipy_without_correction():
    table = np.array([[165, 391], [33, 402]])  # Tabell 5.12 (accommodation x sector)
    x2, df, p = pearson(table)
    ref = chi2_contingency(table, correction=False)
    assert x2 == pytest.approx(ref[0], rel=1e-12) and df == 1
    assert round(x2, 4) == 74.4891


def test_one_category_is_an_error():
    design = DESIGNS["lin"]
    domain = (design.data["sch_wide"] == "No").to_numpy()
    with pytest.raises(KalibError, match="need at least two categories"):
        rao_scott(design, "awards", "sch_wide", domain=domain)
