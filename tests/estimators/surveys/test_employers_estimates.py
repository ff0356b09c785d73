"""Estimators on the bundled CATI data with a raked design, against R."""

import numpy as np
import pytest
from reference.estimators import cati_fixture
from reference.estimators.refvalues import load

from estimators.inference import estimate as E
from estimators.inference.chisq import rao_scott
from estimators.inference.domains import Equals, NotMissing

R = load("cati")
RTOL = 1e-8
DESIGNS = {"lin": cati_fixture.design(), "jkn": cati_fixture.design("jkn")}
R_SIZE_ORDER = [0, 2, 1, 3]  # R sorts 1-4, 20-49, 5-19, 50+ as text


@pytest.fixture(params=["lin", "jkn"])
def kind(request):
    return request.param


def close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual, float), expected, rtol=RTOL)


def test_weights_are_rs_raking():
    w = DESIGNS["lin"].weights
    close(w[:5], R["weights_head"])
    close([w.sum()], R["weights_sum"])


def test_rate_with_deff_and_every_ci(kind):
    design = DESIGNS[kind]
    f = E.svyprop(design, "trainee_ever", "yes").frame
    close(f["estimate"], R[f"{kind}.ever"][1:])
    close(f["se"], R[f"{kind}.ever_se"][1:])
    close(f["deff"], R[f"{kind}.ever_deff"][1:])
    assert f["df"][0] == R[f"{kind}.degf"][0]
    for method in ("logit", "beta", "mean", "xlogit"):
        g = E.svyprop(design, "trainee_ever", "yes", ci=method).frame
        close(g[["ci_low", "ci_high"]].to_numpy()[0], R[f"{kind}.ever_ci_{method}"])


@pytest.mark.parametrize("by,order", [("sector", [0, 1]), ("size_class", R_SIZE_ORDER)])
def test_domains_on_the_full_calibrated_design(kind, by, order):
    f = E.svyprop(DESIGNS[kind], "trainee_ever", "yes", by=[by]).frame
    k = len(order)
    close(f["estimate"], R[f"{kind}.ever_by_{by}"][k:][order])
    close(f["se"], R[f"{kind}.ever_by_{by}_se"][k:][order])
    close(f["deff"], R[f"{kind}.ever_by_{by}_deff"][k:][order])


def test_conditional_bases_are_domains(kind):
    design = DESIGNS[kind]
    now = E.svyprop(design, "trainee_now", "yes").frame
    close(now["estimate"], R[f"{kind}.now"][1:])
    close(now["se"], R[f"{kind}.now_se"][1:])
    base = Equals("trainee_before", "yes") & NotMissing("hired_after_trainee")
    hired = E.svyprop(design, "hired_after_trainee", "yes", by=["sector"], where=base).frame
    close(hired["estimate"], R[f"{kind}.hired_by_sector"][2:])
    close(hired["se"], R[f"{kind}.hired_by_sector_se"][2:])
    total = E.svytotal(design, "trainee_count").frame
    close(total["estimate"], R[f"{kind}.count_total"])
    close(total["se"], R[f"{kind}.count_total_se"])


def test_ci_in_a_domain_with_missing_answers():
    for method in ("logit", "mean", "xlogit"):
        f = E.svyprop(DESIGNS["lin"], "trainee_now", "yes", ci=method).frame
        close(f[["ci_low", "ci_high"]].to_numpy()[0], R[f"lin.now_ci_{method}"])


@pytest.mark.parametrize(
    "rows,name", [("accommodation_experience", "acc"), ("competence_need", "comp")]
)
def test_svychisq_on_cati(kind, rows, name):
    res = rao_scott(DESIGNS[kind], rows, "sector")
    close([res.f, res.f_ndf, res.f_ddf, res.f_p], R[f"{kind}.chisq_{name}_sector_F"])
    close([res.pearson, res.chisq_df, res.chisq_p], R[f"{kind}.chisq_{name}_sector_Chisq"])


def test_report_pearson_statistics_from_the_bundled_counts():
    design = cati_fixture.design(frozen=False)  # the bundled data as it is now
    sector = design.data["sector"].to_numpy()
    printed = {"public": 6.1, "private": 56.8}  # Tabell 5.5, within each sector
    for s, value in printed.items():
        res = rao_scott(design, "trainee_ever", "size_class", domain=sector == s)
        assert round(res.unweighted, 1) == value
    assert round(rao_scott(design, "competence_need", "sector").unweighted, 3) == 108.092
    assert round(rao_scott(design, "accommodation_experience", "sector").unweighted, 4) == 74.4891
