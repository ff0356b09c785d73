"""Point estimates, SEs, deff and domain estimates against R survey (apistrat)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.estimators.apistrat_designs import DATA, DESIGNS, LIN, R, RepDesign

from estimators.inference import estimate as E
from estimators.inference.domains import Equals
from weighting.design import Design
from weighting.errors import KalibError

RTOL = 1e-8


@pytest.fixture(params=["lin", "jkn"])
def kind(request):
    return request.param


def close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual, float), expected, rtol=RTOL)


def test_svymean_api00(kind):
    f = E.svymean(DESIGNS[kind], "api00").frame
    close(f["estimate"], R[f"{kind}.mean_api00"])
    close(f["se"], R[f"{kind}.mean_api00_se"])
    close(f["deff"], R[f"{kind}.mean_api00_deff"])
    if kind == "lin":  # the anchor values
        assert f["estimate"][0] == pytest.approx(662.287363159321, rel=1e-12)
        assert f["se"][0] == pytest.approx(9.408940802785, rel=1e-11)


def test_svytotal_enroll(kind):
    f = E.svytotal(DESIGNS[kind], "enroll").frame
    close(f["estimate"], R[f"{kind}.total_enroll"])
    close(f["se"], R[f"{kind}.total_enroll_se"])
    close(f["deff"], R[f"{kind}.total_enroll_deff"])


def test_svyratio(kind):
    f = E.svyratio(DESIGNS[kind], "api00", "api99").frame
    close(f["estimate"], R[f"{kind}.ratio"])
    close(f["se"], R[f"{kind}.ratio_se"])


def test_svyby_means_and_totals_on_full_design(kind):
    f = E.svymean(DESIGNS[kind], "api00", by=["awards"]).frame
    close(f["estimate"], R[f"{kind}.by_awards_mean"])
    close(f["se"], R[f"{kind}.by_awards_se"])
    close(f["deff"], R[f"{kind}.by_awards_deff"])
    t = E.svytotal(DESIGNS[kind], "enroll", by=["comp_imp"]).frame
    close(t["estimate"], R[f"{kind}.by_comp_imp_total"])
    close(t["se"], R[f"{kind}.by_comp_imp_total_se"])


def test_distribution_of_single_choice(kind):
    items = E.distribution_items(DESIGNS[kind], "sch_wide")
    f = E.estimate_items(DESIGNS[kind], items).frame
    assert list(f["variable"]) == ["sch_wide=No", "sch_wide=Yes"]
    close(f["estimate"], R[f"{kind}.dist_sch_wide"])
    close(f["se"], R[f"{kind}.dist_sch_wide_se"])


@pytest.mark.parametrize("method", ["beta", "mean", "xlogit", "logit"])
def test_proportion_ci_whole_sample(kind, method):
    f = E.svyprop(DESIGNS[kind], "high", 1, ci=method).frame
    ref = R[f"{kind}.ciprop_high_{method}"]
    close(f["estimate"], ref[0:1] if method != "logit" else R[f"{kind}.mean_high"])
    close(f[["ci_low", "ci_high"]].to_numpy()[0], ref[1:])


@pytest.mark.parametrize("method", ["logit", "beta", "mean", "xlogit"])
def test_domain_proportions_match_svyby_svyciprop(method):
    f = E.svyprop(LIN, "sch_wide", "Yes", by=["comp_imp"], ci=method).frame
    ref = R[f"lin.by_comp_imp_ciprop_{method}"]
    close(f["se"], ref[2:4])
    close(f["ci_low"], ref[4:6])
    close(f["ci_high"], ref[6:8])
    close(f["n"], ref[8:10])
    close(f["df"], R["lin.by_comp_imp_degf"])


def test_where_is_a_domain_not_a_subset():
    # --where comp_imp == Yes gives the same numbers as the comp_imp domain
    by = E.svymean(LIN, "api00", by=["comp_imp"]).frame.iloc[1]
    where = E.svymean(LIN, "api00", where=Equals("comp_imp", "Yes")).frame.iloc[0]
    for col in ("estimate", "se", "deff", "n"):
        assert where[col] == pytest.approx(by[col], rel=1e-12)
    # subsetting rows (the error the issue warns about) gives a different SE
    sub = Design(
        DATA[DATA.comp_imp == "Yes"].reset_index(drop=True),
        weights="pw",
        strata="stype",
        fpc="fpc",
    )
    assert E.svymean(sub, "api00").frame["se"][0] != pytest.approx(by["se"], rel=1e-3)


def test_multi_response_shares():
    d = pd.DataFrame(
        {
            "q.a": ["yes", "no", "yes", None],
            "q.b": ["no", "no", "yes", None],
            "w": [1.0, 2.0, 3.0, 4.0],
        }
    )
    des = Design(d, weights="w")
    f = E.estimate_items(des, E.multi_response_items(des, "q")).frame
    assert list(f["n"]) == [3, 3]
    np.testing.assert_allclose(f["estimate"], [4 / 6, 3 / 6])


def test_cross_domains_and_labels():
    f = E.svymean(LIN, "api00", by=["stype*awards"]).frame
    assert f["domain"].tolist() == ["E*No", "E*Yes", "H*No", "H*Yes", "M*No", "M*Yes"]
    assert f["n"].sum() == 200
    assert (f["domain_var"] == "stype*awards").all()


def test_bad_input_errors():
    with pytest.raises(KalibError, match="'nope' is not in the data"):
        E.svymean(LIN, "nope")
    with pytest.raises(KalibError, match="'sch_wide' is not numeric"):
        E.svymean(LIN, "sch_wide")
    with pytest.raises(KalibError, match="percentile needs bootstrap"):
        E.svyprop(LIN, "high", 1, ci="percentile")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.5, 20), min_size=12, max_size=40), st.integers(0, 2**31 - 1))
def test_domain_totals_add_up_and_ratio_is_mean(weights, seed):
    rng = np.random.default_rng(seed)
    n = len(weights)
    d = pd.DataFrame(
        {
            "w": weights,
            "g": rng.integers(0, 3, n).astype(str),
            "y": rng.normal(size=n),
            "one": np.ones(n),
        }
    )
    des = Design(d, weights="w")
    by = E.svytotal(des, "y", by=["g"]).frame
    whole = E.svytotal(des, "y").frame
    assert by["estimate"].sum() == pytest.approx(whole["estimate"][0], abs=1e-9)
    m = E.svymean(des, "y").frame
    r = E.svyratio(des, "y", "one").frame
    assert r["estimate"][0] == pytest.approx(m["estimate"][0], rel=1e-12)
    assert r["se"][0] == pytest.approx(m["se"][0], rel=1e-9)


def test_svyquantile_math_rule_with_woodruff_interval(kind):
    q = E.svyquantile(DESIGNS[kind], "api00", [0.25, 0.5, 0.9])
    close(q["estimate"], R[f"{kind}.quantile_api00"])
    close(q["ci_low"], R[f"{kind}.quantile_api00_low"])
    close(q["ci_high"], R[f"{kind}.quantile_api00_high"])
    close(q["se"], R[f"{kind}.quantile_api00_se"])


def test_weighted_quantile_exact_cdf_hit_takes_lower_value():
    x = np.array([3.0, 1.0, 2.0, 4.0])
    w = np.ones(4)
    assert E.weighted_quantile(x, w, 0.5) == 2.0  # CDF(2) = 0.5 exactly
    assert E.weighted_quantile(x, w, 0.51) == 3.0
    assert E.weighted_quantile(x, np.array([0, 1, 1, 1.0]), 0.5) == 2.0  # 3 dropped


def test_where_expressions():
    from estimators.inference.domains import parse_where

    cond = parse_where("stype == E and awards == 'Yes' or stype != H")
    mask = cond.mask(DATA)
    expected = ((DATA.stype == "E") & (DATA.awards == "Yes")) | (DATA.stype != "H")
    np.testing.assert_array_equal(mask, expected.to_numpy())
    with pytest.raises(KalibError, match="cannot parse 'stype'"):
        parse_where("stype")


def test_flags_follow_the_nchs_rule():
    import pandas as pd

    from estimators.inference.results import reliability_flags

    frame = pd.DataFrame(
        {
            "kind": ["proportion"] * 5 + ["mean", "mean"],
            "n": [0, 20, 400, 400, 400, 400, 400],
            "estimate": [np.nan, 0.5, 0.5, 0.02, 0.0, 10.0, 10.0],
            "se": [np.nan, 0.1, 0.025, 0.012, 0.0, 1.0, 4.0],
            "df": [np.nan, 19, 390, 390, 390, 390, 390],
        }
    )
    assert list(reliability_flags(frame)) == [
        "empty",  # no unit
        "suppress",  # n < 30
        "ok",
        "suppress",  # KG width between 5 and 30 points, > 130% of p
        "review",  # p = 0: degenerate intervals
        "ok",  # RSE 10%
        "suppress",
    ]  # RSE 40%


def test_bootstrap_percentile_and_replicate_se_from_replicate_weights():
    from estimators.inference.variance import replicate_covariance

    design = LIN.with_replicates("bootstrap", replicates=200, seed=7)
    f = E.svyprop(design, "sch_wide", "Yes", by=["comp_imp"], ci="percentile").frame
    W = design.replicate_weights()
    y = (DATA["sch_wide"] == "Yes").to_numpy(float)
    for label in ["No", "Yes"]:
        d = (DATA["comp_imp"] == label).to_numpy(float)
        reps = (W * (y * d)[:, None]).sum(0) / (W * d[:, None]).sum(0)
        row = f[f["domain"] == label].iloc[0]
        assert row["ci_low"] == pytest.approx(np.quantile(reps, 0.025), rel=1e-10)
        assert row["ci_high"] == pytest.approx(np.quantile(reps, 0.975), rel=1e-10)
        var = replicate_covariance(
            [row["estimate"]], reps[:, None], design.scale, design.rscales, design.mse
        )[0, 0]
        assert row["se"] == pytest.approx(np.sqrt(var), rel=1e-10)


def test_kish_weighting_effect_and_deft():
    f = E.svymean(LIN, "api00", by=["awards"]).frame
    for _, row in f.iterrows():
        w = DATA.loc[DATA["awards"] == row["domain"], "pw"].to_numpy()
        assert row["deff_kish"] == pytest.approx(len(w) * (w**2).sum() / w.sum() ** 2, rel=1e-12)
        assert row["deft"] == pytest.approx(np.sqrt(row["deff"]), rel=1e-12)


def test_a_mapping_of_columns_works_like_a_frame():
    # len() of a dict counts its columns: rows must come from the columns
    frame = pd.DataFrame(
        {"y": [1.0, 2.0, 4.0, 8.0], "g": ["a", "a", "b", "b"], "w": [1.0, 2.0, 1.0, 3.0]}
    )
    columns = {name: frame[name].to_numpy() for name in frame}
    from_frame = E.svymean(Design(frame, weights="w"), "y", by=("all", "g")).frame
    from_dict = E.svymean(Design(columns, weights="w"), "y", by=("all", "g")).frame
    pd.testing.assert_frame_equal(from_dict, from_frame)
    assert from_dict["estimate"].iloc[0] == pytest.approx((1 + 4 + 4 + 24) / 7)


# -- several domain specifications in one call -------------------------------------


def _with_gaps(data):
    """apistrat plus an outcome missing in every high school (so the H domains
    are empty for it) and one missing at random."""
    rng = np.random.default_rng(11)
    out = data.copy()
    out["y_noH"] = np.where(out["stype"] == "H", np.nan, out["api99"])
    out["y_gap"] = np.where(rng.random(len(out)) < 0.2, np.nan, out["api00"])
    return out


GAPS = Design(_with_gaps(DATA), weights="pw", strata="stype", fpc="fpc")
SPECS = ("all", "awards", "stype*awards", "comp_imp", "stype")


class CountingDesign:
    """A design that counts its replicate passes."""

    def __init__(self, base):
        self._base, self.passes = base, []

    def __getattr__(self, name):
        return getattr(self._base, name)

    def replicate_totals(self, values, groups=None, n_groups=None):
        self.passes.append((np.shape(values), n_groups))
        return self._base.replicate_totals(values, groups, n_groups)


def _assert_same_frames(together, alone):
    assert list(together.columns) == list(alone.columns)
    for column in together.columns:
        a, b = together[column].to_numpy(), alone[column].to_numpy()
        if a.dtype.kind in "fi":
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, equal_nan=True, err_msg=column)
        else:
            assert list(a) == list(b), column


@pytest.mark.parametrize("variance", ["lin", "bootstrap", "jkn_r"])
def test_specs_together_equal_each_spec_alone(variance):
    design = {
        "lin": GAPS,
        "bootstrap": GAPS.with_replicates("bootstrap", replicates=40, seed=2),
        "jkn_r": RepDesign(GAPS),
    }[variance]
    where = Equals("comp_imp", "Yes")  # the comp_imp == No domain is empty
    items = (
        E.mean_items(design, ["api00", "y_noH", "y_gap"])
        + E.total_items(design, ["enroll"])
        + [E.ratio_item(design, "api00", "api99"), E.proportion_item(design, "sch_wide", "Yes")]
    )
    together = E.estimate_items(design, items, SPECS, where).frame
    alone = pd.concat(
        [E.estimate_items(design, items, (spec,), where).frame for spec in SPECS],
        ignore_index=True,
    )
    _assert_same_frames(together, alone)
    empty = together["variable"].eq("y_noH") & together["domain"].str.startswith("H")
    assert empty.any() and (together.loc[empty, "n"] == 0).all()
    assert together.loc[empty, "estimate"].isna().all()
    assert (
        together.loc[together["domain"].eq("No") & together["domain_var"].eq("comp_imp"), "n"] == 0
    ).all()
    assert together.loc[~empty & (together["n"] > 1), "se"].notna().all()


def test_one_replicate_pass_over_distinct_columns(monkeypatch):
    design = CountingDesign(GAPS.with_replicates("bootstrap", replicates=30, seed=4))
    items = E.mean_items(design, ["api00", "api99", "y_gap"])
    joint = E.estimate_items(design, items, SPECS).frame
    # the three means share the denominator of their common base (api00, api99:
    # every row), so 3 numerators + 2 distinct denominators
    present = len(DATA.groupby(["stype", "awards", "comp_imp"]))  # the joint groups
    assert present < 3 * 2 * 2
    assert design.passes == [((len(DATA), 5), present)]
    design.passes.clear()
    monkeypatch.setattr(E, "JOINT_TOTALS_LIMIT", 0)  # past the bound: one pass per spec
    per_spec = E.estimate_items(design, items, SPECS).frame
    assert [groups for _, groups in design.passes] == [1, 2, 6, 2, 3]
    _assert_same_frames(joint, per_spec)


def test_domain_covariance_matches_estimates_and_replicates():
    design = GAPS.with_replicates("jkn")
    items = E.mean_items(design, ["api00", "y_gap"])
    theta, cov, labels, reps = E.domain_covariance(design, items, "stype")
    f = E.estimate_items(design, items, ("stype",)).frame
    np.testing.assert_allclose(theta.ravel(), f["estimate"], rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), f["se"], rtol=1e-12)
    W = design.replicate_weights()
    data = _with_gaps(DATA)
    for g, label in enumerate(labels):
        for j, name in enumerate(["api00", "y_gap"]):
            keep = (data["stype"] == label).to_numpy() & data[name].notna().to_numpy()
            y = data[name].fillna(0).to_numpy()
            expected = (W * (y * keep)[:, None]).sum(0) / (W * keep[:, None]).sum(0)
            np.testing.assert_allclose(reps[:, g, j], expected, rtol=1e-12)


def test_items_with_nearly_equal_columns_are_not_merged():
    # y2 is y with two rows swapped, x2 is x moved between two rows (same sums):
    # a wrong deduplication of the summed columns would merge them
    d = pd.DataFrame(
        {
            "w": [1.0, 2.0, 3.0, 4.0, 5.0],
            "g": list("aabbb"),
            "y": [1.0, 2.0, 3.0, 4.0, 5.0],
            "y2": [1.0, 2.0, 3.0, 5.0, 4.0],
            "x": [1.0, 1.0, 1.0, 1.0, 1.0],
            "x2": [1.0, 1.0, 1.0, 0.5, 1.5],
        }
    )
    des = Design(d, weights="w")
    items = [
        E.ratio_item(des, "y", "x"),
        E.ratio_item(des, "y2", "x"),
        E.ratio_item(des, "y", "x2"),
        E.ratio_item(des, "y2", "x2"),
    ]
    f = E.estimate_items(des, items, ("g",)).frame
    b = f[f["domain"] == "b"]["estimate"].to_numpy()
    w, y, y2, x2 = d["w"][2:], d["y"][2:], d["y2"][2:], d["x2"][2:]
    np.testing.assert_allclose(
        b,
        [
            (w * y).sum() / w.sum(),
            (w * y2).sum() / w.sum(),
            (w * y).sum() / (w * x2).sum(),
            (w * y2).sum() / (w * x2).sum(),
        ],
        rtol=1e-14,
    )


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(-5, 5), st.integers(-5, 5)), max_size=15))
def test_numeric_columns_read_alike_from_numbers_and_from_text(values):
    floats = np.array([np.nan if v is None else float(v) for v in values])
    text = pd.Series(["" if v is None else repr(v) for v in values], dtype=object)
    y_f, present_f = E._numeric(FakeDesign(floats), "v")
    y_t, present_t = E._numeric(FakeDesign(text), "v")
    np.testing.assert_array_equal(present_f, [v is not None for v in values])
    np.testing.assert_array_equal(present_t, present_f)
    np.testing.assert_array_equal(y_f, np.where(present_f, floats, 0.0))
    np.testing.assert_array_equal(y_t, y_f)
    y_i, present_i = E._numeric(FakeDesign(np.arange(len(values))), "v")
    assert y_i.dtype == np.float64 and present_i.all()
    np.testing.assert_array_equal(y_i, np.arange(len(values)))


class FakeDesign:
    """Just the data of a design (``_numeric`` reads nothing else)."""

    def __init__(self, column):
        self.data = pd.DataFrame({"v": column})


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 6)), min_size=1, max_size=40),
    st.sampled_from([1, 10**6]),
)
def test_distinct_values_per_domain(rows, spread):
    # spread 10**6 makes the value range too wide to count: the sorting path
    codes = np.array([g for g, _ in rows])
    values = np.array([v for _, v in rows]) * spread
    expected = [len({v for g, v in zip(codes, values) if g == domain}) for domain in range(4)]
    assert list(E._distinct_per_domain(codes, values, 4)) == expected


def test_replicate_estimates_do_not_depend_on_the_blas_threads():
    # 8 domains x 5 means, as the analyst path: two BLAS threads split the
    # sums of the replicate variances' product (40 x 500 x 40) differently
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(5)
    n = 1000
    data = {f"y{j}": rng.random(n) for j in range(5)}
    data.update(stratum=rng.integers(0, 4, n), group=rng.integers(0, 8, n), w=rng.random(n) + 1)
    design = Design(data, weights="w", strata="stratum").with_replicates(
        "bootstrap", replicates=500, seed=3
    )
    frames = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            frames.append(E.svymean(design, list(data)[:5], by=["all", "group"]).frame)
    assert len(frames[0]) == 45
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
