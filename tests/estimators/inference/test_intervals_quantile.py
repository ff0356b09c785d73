"""svyquantile's rules and intervals against R (survey 4.1.1).

Reference: ``tests/reference/tests_intervals`` — the quantiles 0.25, 0.5 and
0.75 of api00 under every rule and interval type on a stratified and a
one-stage cluster design, by domain, and on R's own JK1 and bootstrap
replicate weights of the cluster design. ``dclus2`` (two stages) waits for
multistage designs. R 4.1 has no ``Wald`` interval any more (its
``oldsvyquantile`` values are recorded but not a kalib method).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.tests_intervals.designs import DESIGNS, LINEARIZED, R

from estimators.inference import estimate as E
from estimators.inference.quantiles import (
    QRULES,
    QuantileError,
    sorted_quantile,
    weighted_quantile,
)

P = [0.25, 0.5, 0.75]
RTOL = 1e-10
COLUMNS = ["estimate", "ci_low", "ci_high", "se"]


def check(frame, ref):
    np.testing.assert_allclose(
        frame[COLUMNS].to_numpy(),
        np.array(ref["api00"]["values"], dtype=float),
        rtol=RTOL,
        equal_nan=True,
    )


@pytest.mark.parametrize("design", LINEARIZED + ("rclus1", "bclus1"))
def test_interval_types_equal_r(design):
    for interval, ref in R["svyquantile"][design]["interval_type"].items():
        if design in ("rclus1", "bclus1") and interval in ("beta", "xlogit", "asin"):
            # R's replicate method ignores these and gives the mean interval
            np.testing.assert_array_equal(
                ref["api00"]["values"],
                R["svyquantile"][design]["interval_type"]["mean"]["api00"]["values"],
            )
            continue
        check(E.svyquantile(DESIGNS[design], "api00", P, interval_type=interval), ref)


@pytest.mark.parametrize("design", LINEARIZED + ("rclus1", "bclus1"))
def test_every_rule_equals_r_with_mean_and_beta_intervals(design):
    for qrule, ref in R["svyquantile"][design]["qrule"].items():
        check(E.svyquantile(DESIGNS[design], "api00", P, qrule=qrule), ref)
    for qrule, ref in R["svyquantile"][design].get("qrule_beta", {}).items():
        check(E.svyquantile(DESIGNS[design], "api00", P, qrule=qrule, interval_type="beta"), ref)


@pytest.mark.parametrize("design", LINEARIZED)
def test_normal_quantiles_with_df_inf(design):
    check(E.svyquantile(DESIGNS[design], "api00", P, df=np.inf), R["svyquantile"][design]["dfInf"])


@pytest.mark.parametrize("design", LINEARIZED)
@pytest.mark.parametrize(
    "case,probs,qrule", [("by_stype", P, "math"), ("by_stype_hf7", [0.5], "hf7")]
)
def test_by_domain_equals_r_svyby(design, case, probs, qrule):
    """svyby's table, NaN where the Wald interval for the CDF leaves [0, 1]."""
    f = E.svyquantile(DESIGNS[design], "api00", probs, by=["stype"], qrule=qrule)
    f = f[f["domain_var"] == "stype"]
    table = R["svyquantile"][design][case]["table"]
    for p in probs:
        got = f[f["p"] == p]
        assert list(got["domain"]) == table["stype"]
        # R's column names: api00.0.25, se.api00.0.25, ci_l.api00.0.25 for several
        # quantiles; api00, se.api00, ci_l for one
        names = (
            [f"{pre}api00.{p}" for pre in ("", "se.", "ci_l.", "ci_u.")]
            if len(probs) > 1
            else ["api00", "se.api00", "ci_l", "ci_u"]
        )
        for column, name in zip(["estimate", "se", "ci_low", "ci_high"], names):
            np.testing.assert_allclose(
                got[column], table[name], rtol=RTOL, equal_nan=True, err_msg=f"{column} at p = {p}"
            )


@pytest.mark.parametrize("design", LINEARIZED)
def test_each_variable_of_r_s_two_variable_call(design):
    """``svyquantile(~api00 + enroll, na.rm = TRUE)``: no row lacks either."""
    ref = R["svyquantile"][design]["two_vars"]
    for variable in ("api00", "enroll"):
        f = E.svyquantile(DESIGNS[design], variable, P)
        np.testing.assert_allclose(
            f[COLUMNS].to_numpy(), np.array(ref[variable]["values"]), rtol=RTOL
        )


def test_replicate_intervals_of_other_types_are_the_ones_asked_for():
    """Unlike R (mean interval whatever is asked), beta, xlogit and asin use
    their own interval for the CDF: they differ from mean and from each other."""
    frames = {
        t: E.svyquantile(DESIGNS["rclus1"], "api00", [0.5], interval_type=t)
        for t in ("mean", "beta", "xlogit", "asin")
    }
    lows = {t: f["ci_low"][0] for t, f in frames.items()}
    assert len(set(lows.values())) >= 3
    for f in frames.values():
        assert f["ci_low"][0] <= f["estimate"][0] <= f["ci_high"][0]


def test_bad_rule_and_interval_are_named():
    design = DESIGNS["dclus1"]
    with pytest.raises(QuantileError, match="unknown quantile rule 'hf10'"):
        E.svyquantile(design, "api00", [0.5], qrule="hf10")
    with pytest.raises(QuantileError, match="unknown quantile interval 'Wald'"):
        E.svyquantile(design, "api00", [0.5], interval_type="Wald")
    with pytest.raises(QuantileError, match="needs a design with replicate weights"):
        E.svyquantile(design, "api00", [0.5], interval_type="quantile")
    with pytest.raises(QuantileError, match="unknown quantile rule"):
        weighted_quantile([1.0, 2.0], [1.0, 1.0], 0.5, "type7")


NUMPY = {
    "hf1": "inverted_cdf",
    "hf2": "averaged_inverted_cdf",
    "hf4": "interpolated_inverted_cdf",
    "hf5": "hazen",
    "hf6": "weibull",
    "hf7": "linear",
    "hf8": "median_unbiased",
    "hf9": "normal_unbiased",
}


@settings(max_examples=150, deadline=None)
@given(
    x=st.lists(st.integers(0, 9), min_size=1, max_size=16).filter(
        lambda v: len(v) in (1, 2, 4, 8, 16)
    ),
    k=st.integers(0, 16),
    u=st.floats(0, 1),
    exact=st.booleans(),
)
def test_equal_weights_give_hyndman_fan_definitions(x, k, u, exact):
    """With equal weights R's hf1, hf2, hf4-hf9 are Hyndman & Fan's
    definitions (numpy's methods) for p >= 1/n (below, R's discrete rules take
    the second smallest value); sizes are powers of two so that an exact hit
    of the CDF (p = k/n) is exact in floating point too."""
    x = np.array(x, dtype=float)
    p = max(min(k / x.size, 1.0) if exact else u, 1 / x.size)
    for rule, method in NUMPY.items():
        assert weighted_quantile(x, np.full(x.size, 3.0), p, rule) == pytest.approx(
            np.quantile(x, p, method=method), rel=1e-12, abs=1e-12
        ), rule


@settings(max_examples=100, deadline=None)
@given(
    data=st.lists(st.tuples(st.floats(-50, 50), st.floats(0.1, 20)), min_size=1, max_size=30),
    ps=st.lists(st.floats(0, 1), min_size=2, max_size=6),
)
def test_rules_are_monotone_in_p_and_within_the_data(data, ps):
    """Every rule but shahvaish (whose R positions need not increase with
    unequal weights) is non-decreasing in p; all stay within [min, max] but
    hf4 below the first unit's share of the weight (R extrapolates there).
    The discrete rules (math, school, hf1, hf2) are monotone from that share
    on: below it R takes the second unit (x = 0, 1 with equal weights: 1 at
    p = 0, 0 at p = 0.5 in survey 4.1.1's qrule_math), and so does kalib."""
    x = np.array([d[0] for d in data])
    w = np.array([d[1] for d in data])
    ps = sorted(ps)
    order = np.argsort(x, kind="stable")
    first_share = w[order][0] / w.sum()
    for rule in QRULES:
        q = [sorted_quantile(x[order], w[order], p, rule) for p in ps]
        eps = 1e-12 * (1 + np.abs(x).max())  # interpolation's rounding
        if rule != "hf4" or ps[0] >= first_share:
            assert x.min() - eps <= min(q) and max(q) <= x.max() + eps, rule
        if rule in ("math", "school", "hf1", "hf2"):
            q = [v for v, p in zip(q, ps) if p >= first_share]
        if rule != "shahvaish":
            assert np.all(np.diff(q) >= -eps), rule


@settings(max_examples=30, deadline=None)
@given(
    p=st.floats(0.05, 0.95),
    rule=st.sampled_from(["math", "hf7", "hf4"]),
    interval=st.sampled_from(["mean", "beta", "xlogit", "asin", "score"]),
)
def test_interval_contains_the_estimate(p, rule, interval):
    f = E.svyquantile(DESIGNS["dstrat"], "api00", [p], qrule=rule, interval_type=interval)
    low, q, high = f["ci_low"][0], f["estimate"][0], f["ci_high"][0]
    assert np.isnan(low) or low <= q
    assert np.isnan(high) or q <= high
