"""weighting.pps: the quadratic forms of PPS designs without replacement against
R survey 4.1.1 (tests/reference/pps, pps.R: data(election), Brewer, Overton,
Hartley–Rao, ppsmat with HT and YG), against the textbook double sums, and
the errors on bad input."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weighting.errors import DesignError
from weighting.pps import HR, JointInclusion, pps_design

REF_DIR = Path(__file__).parents[1] / "reference" / "pps"
REF = json.loads((REF_DIR / "pps.json").read_text())
DATA = np.genfromtxt(REF_DIR / "election_pps.csv", delimiter=",", names=True, dtype=None)
JOINT = np.loadtxt(REF_DIR / "election_jointprob.csv", delimiter=",", skiprows=1)
JOINT_HR = np.loadtxt(REF_DIR / "election_jointHR.csv", delimiter=",", skiprows=1)
N = len(DATA)
P = DATA["p"].astype(float)
RTOL = 1e-8

#: pps.json's designs as (pps=, variance=) (dppswr is not PPS without replacement)
DESIGNS = {
    "dpps_br": ("brewer", "HT"),
    "dpps_ov": ("overton", "HT"),
    "dpps_hr": (HR(REF["psum"]), "HT"),
    "dpps_hr1": (HR(), "HT"),
    "dpps_ht": (JointInclusion(JOINT), "HT"),
    "dpps_yg": (JointInclusion(JOINT), "YG"),
    "dpps_hryg": (HR(REF["psum"]), "YG"),
    "dpps_htHR": (JointInclusion(JOINT_HR), "HT"),
    "dpps_ygHR": (JointInclusion(JOINT_HR), "YG"),
    "dpps_ht0": (JointInclusion(JOINT, tolerance=0.0), "HT"),
}


def unstratified(pps, variance="HT", fpc=P, weights=None, psu=None):
    psu = np.arange(N) if psu is None else psu
    P_ = int(psu.max()) + 1
    return pps_design(pps, variance, {}, fpc, weights, psu, np.zeros(P_, np.int64), ["1"])


def test_r_designs_are_all_covered():
    assert set(DESIGNS) == set(REF["designs"]) - {"dppswr"}


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_totals_covariance_matches_r(name):
    pps, variance = DESIGNS[name]
    design, base = unstratified(pps, variance)
    np.testing.assert_array_equal(base, 1 / P)  # R: probs from fpc
    Y = np.column_stack([DATA[k].astype(float) for k in ("Bush", "Kerry", "Nader")])
    u = base[:, None] * Y
    ref = REF["results"][name]["total_bush_kerry_nader"]
    np.testing.assert_allclose(
        design.covariance(u, np.arange(N)), ref["vcov"]["values"], rtol=RTOL
    )
    np.testing.assert_allclose(
        np.sqrt(design.variances(u, np.arange(N))), list(ref["se"].values()), rtol=RTOL
    )
    se = REF["results"][name]["total_precincts"]["se"]["TotPrecincts"]
    tot = design.variances(base * DATA["TotPrecincts"], np.arange(N))
    np.testing.assert_allclose(np.sqrt(tot), [se], rtol=RTOL)


def test_brewer_with_yates_grundy_is_an_error_as_in_r():
    assert "Only variance='HT'" in REF["brewer_with_YG"]["error"]
    with pytest.raises(DesignError, match="Yates-Grundy"):
        unstratified("brewer", "YG")


def _valid_joint(n, seed):
    """Joint probabilities of n units drawn by a fixed-size design: Poisson-like
    pairs shrunk towards independence (positive, symmetric, below min(pi))."""
    rng = np.random.default_rng(seed)
    pi = rng.uniform(0.05, 0.95, n)
    M = np.outer(pi, pi) * rng.uniform(0.5, 1.0, (n, n))
    M = np.minimum((M + M.T) / 2, np.minimum.outer(pi, pi))
    np.fill_diagonal(M, pi)
    return pi, M


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 12), seed=st.integers(0, 2**32 - 1), variance=st.sampled_from(["HT", "YG"])
)
def test_quadratic_forms_are_the_textbook_double_sums(n, seed, variance):
    """HT: sum_ij (pi_ij - pi_i pi_j)/pi_ij y_i/pi_i y_j/pi_j; YG: -1/2 sum_{i != j}
    (pi_ij - pi_i pi_j)/pi_ij (y_i/pi_i - y_j/pi_j)^2 (Sen 1953, Yates & Grundy 1953)."""
    pi, M = _valid_joint(n, seed)
    y = np.random.default_rng(seed + 1).normal(size=n)
    design, _ = pps_design(
        JointInclusion(M, tolerance=0.0),
        variance,
        {},
        pi,
        None,
        np.arange(n),
        np.zeros(n, np.int64),
        ["1"],
    )
    yc = y / pi
    if variance == "HT":
        expected = sum(
            (M[i, j] - pi[i] * pi[j]) / M[i, j] * yc[i] * yc[j] for i in range(n) for j in range(n)
        )
    else:
        expected = -0.5 * sum(
            (M[i, j] - pi[i] * pi[j]) / M[i, j] * (yc[i] - yc[j]) ** 2
            for i in range(n)
            for j in range(n)
            if i != j
        )
    got = design.variances(yc, np.arange(n))[0]
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-12 * np.abs(yc).max() ** 2)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), method=st.sampled_from(["overton", "hr", "joint"]))
def test_order_of_rows_and_clusters_does_not_matter(seed, method):
    """A joint matrix is read in the order of the PSUs' first rows: shuffling
    the rows (with the matrix) or splitting PSUs into several rows keeps the
    variance; Yates–Grundy of y proportional to pi is zero."""
    rng = np.random.default_rng(seed)
    n = 8
    pi, M = _valid_joint(n, seed)
    spec = {"overton": "overton", "hr": HR(0.3), "joint": JointInclusion(M, 0.0)}[method]
    y = rng.normal(size=n)
    base, _ = pps_design(spec, "YG", {}, pi, None, np.arange(n), np.zeros(n, np.int64), ["1"])
    expected = base.variances(y / pi, np.arange(n))
    # every PSU in two rows, rows shuffled; PSU codes sorted by label, the
    # matrix in order of first appearance
    rows = rng.permutation(np.repeat(np.arange(n), 2))
    labels = rng.permutation(n)  # PSU code of unit k
    appearance = list(dict.fromkeys(rows.tolist()))
    spec2 = spec
    if method == "joint":
        spec2 = JointInclusion(M[np.ix_(appearance, appearance)], 0.0)
    design, _ = pps_design(
        spec2, "YG", {}, pi[rows], None, labels[rows], np.zeros(n, np.int64), ["1"]
    )
    got = design.variances(y[rows] / pi[rows] / 2, labels[rows])
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    zero = design.variances(np.full(2 * n, 0.5), labels[rows])
    assert abs(zero[0]) < 1e-12


def test_strata_are_independent_in_the_approximations():
    """Overton / HR / Brewer on two strata: the sum of each stratum alone."""
    stratum = np.repeat([0, 1], N // 2)
    u = DATA["Bush"] / P
    for spec in ("brewer", "overton", HR()):
        both, _ = pps_design(spec, "HT", {}, P, None, np.arange(N), stratum, ["a", "b"])
        parts = 0.0
        for h in (0, 1):
            rows = stratum == h
            alone, _ = pps_design(
                spec, "HT", {}, P[rows], None, np.arange(N // 2), np.zeros(N // 2, np.int64), ["1"]
            )
            parts += alone.variances(u[rows], np.arange(N // 2))[0]
        assert both.variances(u, np.arange(N))[0] == pytest.approx(parts, rel=1e-12)


def test_hr_psum_per_stratum_mapping():
    stratum = np.repeat([0, 1], N // 2)
    one, _ = pps_design(HR(0.2), "HT", {}, P, None, np.arange(N), stratum, ["a", "b"])
    mapped, _ = pps_design(
        HR({"a": 0.2, "b": 0.2}), "HT", {}, P, None, np.arange(N), stratum, ["a", "b"]
    )
    u = DATA["Kerry"] / P
    assert one.variances(u, np.arange(N)) == pytest.approx(mapped.variances(u, np.arange(N)))
    for psum in (float("nan"), 0.0, 1.5):
        with pytest.raises(DesignError, match=r"HR psum of stratum 'a' is .*lies in \(0, 1\]"):
            pps_design(HR(psum), "HT", {}, P, None, np.arange(N), stratum, ["a", "b"])
    with pytest.raises(DesignError, match=r"no value for stratum/strata b$"):
        pps_design(HR({"a": 0.2}), "HT", {}, P, None, np.arange(N), stratum, ["a", "b"])


def test_weights_give_the_probabilities_and_no_base_weights():
    design, base = unstratified("overton", fpc=None, weights=1 / P)
    assert base is None
    np.testing.assert_allclose(design.prob, P, rtol=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(fpc=np.where(np.arange(N) == 3, 1.5, P)), r"fpc: 1 inclusion .* row 4: fpc = 1.5"),
        (dict(fpc=np.where(np.arange(N) == 5, 0.0, P)), r"outside \(0, 1\] \(first at row 6"),
        (dict(fpc=np.where(np.arange(N) == 5, np.nan, P)), r"first at row 6"),
        (dict(fpc=None, weights=np.where(np.arange(N) == 2, 0.5, 1 / P)), r"weights.*row 3"),
        (dict(fpc=None), "needs the inclusion probabilities"),
        (dict(pps="poisson"), "pps must be one of"),
        (dict(variance="SYG"), "variance must be 'HT' or 'YG'"),
    ],
)
def test_bad_probabilities_and_options(kwargs, match):
    args = dict(pps="overton", variance="HT", fpc=P, weights=None)
    args.update(kwargs)
    with pytest.raises(DesignError, match=match):
        unstratified(args["pps"], args["variance"], args["fpc"], args["weights"])


def test_one_fpc_per_stage_is_refused():
    with pytest.raises(DesignError, match="takes one fpc.* not 2 .*later stages"):
        pps_design(
            "brewer",
            "HT",
            {"a": P, "b": P},
            ["a", "b"],
            None,
            np.arange(N),
            np.zeros(N, np.int64),
            ["1"],
        )
    design, _ = unstratified("brewer", fpc=list(P))  # a list of numbers is one column
    np.testing.assert_array_equal(design.prob, P)


def test_probability_varying_within_a_psu():
    psu = np.repeat(np.arange(N // 2), 2)
    with pytest.raises(DesignError, match="varies within a PSU"):
        unstratified("brewer", psu=psu)


def test_yg_without_pps_is_an_error():
    with pytest.raises(DesignError, match="needs a PPS design"):
        pps_design(None, "YG", {}, None, None, np.arange(3), np.zeros(3, np.int64), ["1"])
    assert pps_design(None, "HT", {}, None, None, np.arange(3), np.zeros(3, np.int64), ["1"]) == (
        None,
        None,
    )


def _bad(M):
    return lambda: unstratified(JointInclusion(M))


def test_bad_joint_matrices():
    with pytest.raises(DesignError, match=r"is \(39, 39\), the design has 40 PSUs"):
        _bad(JOINT[:39, :39])()
    asym = JOINT.copy()
    asym[2, 7] *= 1.01
    with pytest.raises(DesignError, match=r"not symmetric: .* at row 3, column 8|row 8, column 3"):
        _bad(asym)()
    over = JOINT.copy()
    over[1, 4] = over[4, 1] = min(P[1], P[4]) * 1.001
    with pytest.raises(
        DesignError, match=r"pi_ij = .* at row 2, column 5, above min\(pi_i, pi_j\)"
    ):
        _bad(over)()
    zero = JOINT.copy()
    zero[0, 9] = zero[9, 0] = 0.0
    with pytest.raises(
        DesignError, match=r"has 0.0 at row 1, column 10: probabilities must lie in \(0, 1\]"
    ):
        _bad(zero)()
    big = JOINT.copy()
    big[6, 6] = 1.2
    with pytest.raises(DesignError, match=r"has 1.2 at row 7, column 7"):
        _bad(big)()
    nan = JOINT.copy()
    nan[3, 3] = np.nan
    with pytest.raises(DesignError, match=r"not finite at row 4, column 4"):
        _bad(nan)()
