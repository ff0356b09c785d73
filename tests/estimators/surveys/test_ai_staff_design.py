"""The staff survey's design: role strata, fpc and response-homogeneity
weights against R ``survey`` (``tests/reference/ai_staff/ai_staff.R``, which
computes the sizes itself), the three response variants, and the clustering
sensitivity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.ai_staff.r_values import R_RATES, r_value

from estimators.inference.catalog import estimate_catalog
from estimators.inference.ci import t_quantile
from estimators.inference.estimate import svymean, svytotal
from estimators.surveys.ai_staff import (
    SURVEY,
    VARIANTS,
    cluster_take,
    clustering_inflation,
    design,
    load_ai_staff,
    role_sizes,
)
from estimators.surveys.ai_staff.design import NET_SENT, ROLES
from weighting.errors import KalibError


@pytest.fixture(scope="module")
def df():
    return load_ai_staff()


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request):
    return request.param


def test_weights_equal_r(df, variant):
    sizes = role_sizes(df["role"], variant).sort_index()  # R's order of the roles
    assert sizes["weight"].to_numpy() == pytest.approx(r_value(f"{variant}.weights"), rel=1e-12)


def test_key_rates_equal_r_linearization(variant):
    frame = estimate_catalog(
        design(variant), [SURVEY.get_rate(r) for r in R_RATES.values()], ("all", "role")
    ).frame
    for name, rid in R_RATES.items():
        rows = frame[frame["rate"].eq(rid)]
        total = rows[rows["domain_var"].eq("all")].iloc[0]
        key = f"{variant}.{name}"
        for column, r_name in (("estimate", "est"), ("se", "se"), ("deff", "deff"), ("df", "df")):
            assert total[column] == pytest.approx(r_value(f"{key}.{r_name}")[0], rel=1e-8), (
                rid,
                column,
            )
        assert [total["ci_low"], total["ci_high"]] == pytest.approx(
            r_value(f"{key}.ci_logit"), rel=1e-8
        )
        by_role = rows[rows["domain_var"].eq("role") & rows["n"].gt(0)]
        assert by_role["estimate"].to_numpy() == pytest.approx(r_value(f"{key}.by_role"), rel=1e-8)
        assert by_role["se"].to_numpy() == pytest.approx(r_value(f"{key}.by_role_se"), rel=1e-8)


def test_caseload_mean_equals_r(variant):
    row = estimate_catalog(design(variant), [SURVEY.get_rate("caseload_mean")]).frame.iloc[0]
    key = f"{variant}.caseload_mean"
    assert row["kind"] == "mean"
    assert [row["estimate"], row["se"], row["deff"]] == pytest.approx(
        [r_value(f"{key}.est")[0], r_value(f"{key}.se")[0], r_value(f"{key}.deff")[0]], rel=1e-8
    )
    assert [row["ci_low"], row["ci_high"]] == pytest.approx(r_value(f"{key}.ci"), rel=1e-8)
    half = t_quantile(0.95, row["df"]) * row["se"]
    assert row["ci_high"] - row["estimate"] == pytest.approx(half, rel=1e-12)


def test_weights_sum_to_the_role_sizes(df, variant):
    data = df.assign(jc=df["role"].eq("job_consultant").astype(float))
    total = svytotal(design(variant, data), "jc").frame.iloc[0]
    assert total["estimate"] == pytest.approx(
        r_value(f"{variant}.total_job_consultants")[0], rel=1e-12
    )
    assert total["se"] == pytest.approx(0, abs=1e-8)  # a stratum total is fixed
    sizes = role_sizes(df["role"], variant)
    assert total["estimate"] == pytest.approx(sizes.loc["job_consultant", "N"], rel=1e-12)


def test_central_sizes_use_the_net_number_sent(df):
    sizes = role_sizes(df["role"])
    assert sizes["N"].sum() == pytest.approx(NET_SENT, rel=1e-12)  # 2,017 + 95
    assert sizes.loc["general_manager", ["N", "basis"]].tolist() == [95.0, "census"]
    staff = sizes.drop("general_manager")
    assert staff["response"].to_numpy() == pytest.approx(694 / 2017, rel=1e-12)
    assert round(752 / NET_SENT * 100, 1) == 35.6  # the published rate
    for rate, variant in ((0.30, "low_response"), (0.45, "high_response")):
        assert role_sizes(df["role"], variant).drop("general_manager")[
            "response"
        ].to_numpy() == pytest.approx(rate, rel=1e-12)


def test_fpc_is_in_the_design():
    d = design()
    assert d.fpc is not None
    f = dict(zip(d.strata_labels, d.sampling_fraction))
    assert f["general_manager"] == pytest.approx(58 / 95, rel=1e-12)
    assert f["job_consultant"] == pytest.approx(694 / 2017, rel=1e-12)


def test_estimates_within_role_do_not_depend_on_the_variant(df):
    """Weights are constant within role: a role's estimate is its unweighted
    share whatever the variant; only the overall mix moves."""
    est = {
        v: svymean(design(v), "caseload", by=("role",)).frame.set_index("domain") for v in VARIANTS
    }
    assert est["low_response"].loc["job_consultant", "estimate"] == pytest.approx(
        est["high_response"].loc["job_consultant", "estimate"], rel=1e-12
    )
    rate = [SURVEY.get_rate("aft_offered")]
    overall = {v: estimate_catalog(design(v), rate).frame.iloc[0]["estimate"] for v in VARIANTS}
    assert len({round(x, 12) for x in overall.values()}) == 3


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 500), min_size=3, max_size=3),
    st.integers(1, 95),
    st.sampled_from(list(VARIANTS)),
)
def test_role_sizes_property(staff, managers, variant):
    roles = pd.Series(np.repeat(ROLES, staff + [managers]))
    sizes = role_sizes(roles, variant)
    staff_rows = sizes.drop("general_manager")
    assert staff_rows["weight"].nunique() == 1  # equal response propensity
    assert (sizes["N"] >= sizes["n"]).all()
    assert sizes.loc["general_manager", "N"] == 95
    assert (sizes["weight"] * sizes["n"]).to_numpy() == pytest.approx(sizes["N"].to_numpy())


def test_bad_input_is_named(df):
    with pytest.raises(KalibError, match="unknown design variant 'medium'"):
        role_sizes(df["role"], "medium")
    with pytest.raises(KalibError, match="'general_manager' has no respondents"):
        role_sizes(df["role"][df["role"].ne("general_manager")])
    with pytest.raises(KalibError, match="unknown role 'janitor'"):
        role_sizes(pd.concat([df["role"], pd.Series(["janitor"])]))
    with pytest.raises(KalibError, match="96 general managers"):
        role_sizes(pd.Series(np.repeat(ROLES, [10, 10, 10, 96])))
    with pytest.raises(KalibError, match="2018 staff respondents, more than the 2017"):
        role_sizes(pd.Series(np.repeat(ROLES, [2000, 9, 9, 10])))
    with pytest.raises(KalibError, match="outside"):
        clustering_inflation(10, rhos=(0.5, 1.5))


def test_clustering_inflation():
    m = cluster_take(694)
    assert m == pytest.approx(694 / 55)
    factor = clustering_inflation(m)
    assert factor.index.tolist() == [0.02, 0.05, 0.10]
    assert factor.to_numpy() == pytest.approx([1 + (m - 1) * r for r in (0.02, 0.05, 0.10)])
    assert factor.is_monotonic_increasing
    assert clustering_inflation(cluster_take(30)).eq(1.0).all()  # fewer than one per company
    assert clustering_inflation(m, rhos=(0.0,)).iloc[0] == 1.0
