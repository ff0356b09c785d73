"""Replicate generation and fused re-calibration: RNG contract, kernel = numpy,
thread-count independence, failure reporting, the fpc bootstrap."""

import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from repo_paths import REFERENCE

from estimators.inference.variance import linearization_covariance, replicate_covariance
from weighting import _backend
from weighting.design import Design
from weighting.errors import DesignError, ReplicateError
from weighting.margins import Margin
from weighting.replicates import (
    KeptDraws,
    PsuRows,
    _bincount_columns,
    _combinations,
    bootstrap_counts,
    child_seed_words,
)

REF = REFERENCE / "variance"
sys.path.insert(0, str(REF))
from samples import API_MARGINS, business_margins  # noqa: E402

needs_kernels = pytest.mark.skipif(_backend.KERNELS is None, reason=str(_backend.REASON))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**80), B=st.integers(1, 40))
def test_seed_words_equal_numpy_seedsequence(seed, B):
    expected = [c.generate_state(4, np.uint64) for c in np.random.SeedSequence(seed).spawn(B)]
    np.testing.assert_array_equal(child_seed_words(seed, B), np.array(expected))


def test_bootstrap_counts_follow_the_contract():
    counts = bootstrap_counts(7, 3, n_psu=[3, 5], n_draws=[2, 4])
    gen = np.random.Generator(np.random.PCG64(np.random.SeedSequence(7).spawn(3)[1]))
    u = gen.random(6)
    psu = np.r_[np.floor(u[:2] * 3), 3 + np.floor(u[2:] * 5)].astype(int)
    np.testing.assert_array_equal(counts[1], np.bincount(psu, minlength=8))
    assert counts[:, :3].sum(axis=1).tolist() == [2, 2, 2]


@needs_kernels
@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**64),
    B=st.integers(1, 20),
    strata=st.lists(st.tuples(st.integers(1, 9), st.integers(0, 11)), min_size=1, max_size=5),
)
def test_kernel_draws_equal_numpy_for_any_draw_count(seed, B, strata):
    """The kernel draws a stratum's uniforms in two interleaved lanes (the
    second from the state half the draws ahead): its counts are numpy's for
    any number of draws, odd, even, 0 or 1."""
    from weighting.replicates import BOOTSTRAP, Plan

    n_psu, n_draws = (np.array(column, np.int64) for column in zip(*strata, strict=True))
    P = int(n_psu.sum())
    plan = Plan(
        BOOTSTRAP,
        B,
        seed,
        child_seed_words(seed, B),
        n_psu,
        np.r_[0, np.cumsum(n_psu)[:-1]].astype(np.int64),
        n_draws,
        np.zeros(P),
        np.ones(P),
        np.zeros(0, np.int64),
        np.zeros(0),
        np.repeat(np.arange(len(n_psu)), n_psu).astype(np.int64),
    )
    kernels = _backend.KERNELS
    drawn = kernels.replicate.draw_multipliers(plan.for_kernels(kernels))
    np.testing.assert_array_equal(drawn, bootstrap_counts(seed, B, n_psu, n_draws))


@settings(max_examples=40, deadline=None)
@given(psu=st.lists(st.integers(0, 30), min_size=0, max_size=60), unique=st.booleans())
def test_psu_rows_are_the_stable_sort_by_psu(psu, unique):
    """Rows in PSU order, within a PSU in row order: a stable sort (with one
    row per PSU, the inverse permutation of the PSU codes)."""
    codes = np.unique(psu) if unique else np.asarray(psu, np.int64)
    if unique:
        codes = np.random.default_rng(len(psu)).permutation(codes.size)
    P = int(codes.max()) + 1 if codes.size else 0
    rows = PsuRows(codes, P)
    order = np.argsort(codes, kind="stable")
    np.testing.assert_array_equal(rows.sort(np.arange(codes.size)), order)
    np.testing.assert_array_equal(rows.psu, codes[order])


@pytest.fixture(scope="module")
def business():
    return pd.read_csv(REF / "business.csv")


@pytest.fixture(scope="module")
def margins():
    return business_margins()


def _design(business, margins, which):
    fpc = np.where(business.stratum == "public:50+", 60, business.N_h)  # one take-all stratum
    design = Design(
        business, weights="w", strata="stratum", fpc=fpc if which.endswith("fpc") else None
    )
    spec = {
        "plain": None,
        "fpc": None,
        "raked_fpc": {},
        "logit": {"distance": "logit", "bounds": (0.2, 4.0)},
        "trimmed": {},
    }
    if spec[which] is None:
        return design
    if which == "trimmed":  # caps just inside the untrimmed g range, so that they bind
        g = design.calibrate(margins).calibration.g
        spec[which] = {"trim": (1.02 * g.min(), 0.98 * g.max())}
    return design.calibrate(margins, tol=1e-12, max_iter=60, **spec[which])


@pytest.mark.parametrize(
    "which, method",
    [
        ("plain", "bootstrap"),
        ("fpc", "jkn"),
        ("raked_fpc", "bootstrap"),
        ("raked_fpc", "jkn"),
        ("logit", "bootstrap"),
        ("trimmed", "jkn"),
    ],
)
def test_kernel_equals_numpy(business, margins, which, method):
    if method == "jkn":  # a smaller sample: one numpy solve per PSU
        business = business.groupby("stratum").head(25).reset_index(drop=True)
        business = business.assign(w=business.N_h / 25)
        margins = _sample_margins(business, margins)
    design = _design(business, margins, which)
    values = business[["y1", "y2", "x"]].to_numpy(float)
    groups = pd.factorize(business.size_class, sort=True)[0].astype(np.int64)
    fast = design.with_replicates(method, replicates=60, seed=11, accept_failures=True)
    with _backend.use_kernels(False):
        slow = design.with_replicates(method, replicates=60, seed=11, accept_failures=True)
        T_slow = slow.replicate_totals(values, groups, 4)
        W_slow = slow.replicate_weights()
    np.testing.assert_array_equal(fast.convergence.status, slow.convergence.status)
    ok = fast.convergence.converged
    assert ok.mean() > 0.95
    np.testing.assert_array_equal(fast.convergence.iterations[ok], slow.convergence.iterations[ok])
    T_fast = fast.replicate_totals(values, groups, 4)
    np.testing.assert_allclose(T_fast[ok], T_slow[ok], rtol=1e-12, atol=0)
    W = fast.replicate_weights()
    np.testing.assert_allclose(W[:, ok], W_slow[:, ok], rtol=1e-12, atol=1e-300)
    for g in range(4):  # the fused totals are the materialised weights' totals
        np.testing.assert_allclose(
            T_fast[:, g, :], W[groups == g].T @ values[groups == g], rtol=1e-11
        )


def _sample_margins(sample, margins):
    """The margins restricted to the categories present in ``sample``."""
    nace = margins[1].table
    present = {k: v for k, v in nace.items() if k[0] in set(sample.nace)}
    scale = sum(margins[0].table.values()) / sum(present.values())
    return [margins[0], Margin("nace", {k[0]: v * scale for k, v in present.items()})]


def test_replicates_respect_trimming_caps(business, margins):
    design = Design(business, weights="w", strata="stratum").calibrate(
        margins, trim=(0.57, 1.75), tol=1e-12
    )
    assert design.calibration.trimmed.any()
    jkn = design.with_replicates("jkn")
    assert jkn.replicates.g.min() >= 0.57 * (1 - 1e-12)
    assert jkn.replicates.g.max() <= 1.75 * (1 + 1e-12)
    assert (jkn.replicates.g >= 1.75 * (1 - 1e-9)).any()


def test_logit_trimming_is_redone_in_every_replicate():
    api = pd.read_csv(REF / "apiclus1.csv")
    design = Design(api, weights="pw", psu="dnum", fpc="fpc").calibrate(
        API_MARGINS, distance="logit", bounds=(0.3, 4.0), trim=(0.5, 1.9), tol=1e-12
    )
    assert design.calibration.trimmed.any()
    with pytest.raises(ReplicateError, match=r"replicate 11 \(index 10\): the trimming caps"):
        design.with_replicates("jk1")
    jk1 = design.with_replicates("jk1", accept_failures=True)
    ok = jk1.convergence.converged
    assert jk1.B == 15 and jk1.convergence.failed.tolist() == [10]
    assert jk1.convergence.status[10] == 4
    g = jk1.replicates.g[ok]
    assert g.min() >= 0.5 - 1e-12 and g.max() <= 1.9 + 1e-12
    assert np.isclose(g, 1.9).any()
    W = jk1.replicate_weights()[:, ok]  # every kept replicate still meets the margins
    np.testing.assert_allclose((api.stype == "E").to_numpy(float) @ W, 4421, rtol=1e-9)


def test_infeasible_replicate_names_the_category(business, margins):
    design = Design(business, weights="w", strata="stratum").calibrate(
        margins, trim=(0.57, 1.75), tol=1e-12
    )
    with pytest.raises(
        ReplicateError,
        match=r"replicate \d+ \(index \d+\): not converged.*"
        r"category .* needs g = .* outside the bounds "
        r"\[0.57, 1.75\]|may be jointly infeasible",
    ):
        design.with_replicates("bootstrap", replicates=5, seed=11)


@needs_kernels
def test_draws_do_not_depend_on_thread_count(business):
    design = Design(business, weights="w", strata="stratum")
    plan = design.with_replicates("bootstrap", replicates=64, seed=3).replicates.plan
    kernels = _backend.KERNELS
    one = kernels.replicate.draw_multipliers(plan.for_kernels(kernels))
    rows = PsuRows(design.psu, len(plan.psu_stratum))
    groups = (business["stratum"].str.startswith("public")).to_numpy(np.int64)
    combo, combo_cell, combo_group = _combinations(np.zeros(design.n, np.int64), 1, groups, 2)
    dv = rows.sort(business[["y1"]].to_numpy(float))
    T1, T2 = (
        kernels.replicate.replicate_totals(
            plan.for_kernels(kernels, rows),
            rows.sort(combo),
            combo_cell,
            combo_group,
            np.ones((64, 1)),
            dv,
            2,
            threads,
        )
        for threads in (1, 2)
    )
    np.testing.assert_array_equal(T1, T2)
    np.testing.assert_array_equal(one, [plan.multipliers(b) for b in range(64)])
    # and the kernel's sums are numpy's reference sums bit for bit
    reference = [
        _bincount_columns(combo_group, plan.sums(b, rows, rows.sort(combo), dv, 2), 2)
        for b in range(64)
    ]
    np.testing.assert_array_equal(T1, reference)


def test_multipliers_structure(business):
    fpc = np.where(business.stratum == "public:50+", 60, business.N_h)
    design = Design(business, weights="w", strata="stratum", fpc=fpc)
    take_all = design.strata_labels.index("public:50+")
    boot = design.with_replicates("bootstrap", replicates=30)
    W = boot.replicate_weights() / design.base_weights[:, None]
    rows = design.strata == take_all
    np.testing.assert_array_equal(W[rows], 1.0)  # take-all: multiplier 1 always
    # per stratum the multipliers sum to n_h (m_h = n_h - 1 draws of n_h/(n_h-1))
    for h in range(design.n_strata):
        np.testing.assert_allclose(W[design.strata == h].sum(axis=0), design.n_psu[h], rtol=1e-12)
    assert boot.scale == pytest.approx(1 / 29) and boot.degf == 29
    jkn = design.with_replicates("jkn")
    assert jkn.B == design.n - 60  # the take-all stratum has no replicates (as R)
    assert jkn.degf == jkn.B - 7
    f = design.sampling_fraction[design.psu_stratum[jkn.replicates.plan.jk_psu]]
    n_h = design.n_psu[design.psu_stratum[jkn.replicates.plan.jk_psu]]
    np.testing.assert_allclose(jkn.rscales, (1 - f) * (n_h - 1) / n_h, rtol=1e-15)
    with pytest.raises(DesignError, match="JK1 is for unstratified designs"):
        design.with_replicates("jk1")


@pytest.mark.parametrize("method", ["bootstrap", "jkn"])
def test_certainty_stratum_keeps_its_weights(method):
    strata = np.array(["a", "a", "a", "b", "c", "c"])
    design = Design(weights=np.arange(1.0, 7.0), strata=strata, lonely_psu="certainty")
    W = design.with_replicates(method, replicates=50).replicate_weights()
    np.testing.assert_array_equal(W[3], 4.0)
    assert W.shape[1] == (50 if method == "bootstrap" else 5)


def test_take_all_stratum_contributes_zero_variance(business):
    fpc = np.where(business.stratum == "public:50+", 60, business.N_h)
    design = Design(business, weights="w", strata="stratum", fpc=fpc)
    boot = design.with_replicates("bootstrap", replicates=200, seed=5)
    y = business.x.to_numpy(float)
    noisy = y + np.where(business.stratum == "public:50+", 1e3 * business.y1, 0.0)
    v = [
        replicate_covariance(
            design.weights @ z, boot.replicate_totals(z)[:, 0, :], boot.scale, boot.rscales
        )[0, 0]
        for z in (y, noisy)
    ]
    assert v[1] == pytest.approx(v[0], rel=1e-9)
    assert v[0] > 0


def test_fpc_bootstrap_approaches_analytic_variance():
    rng = np.random.default_rng(2)
    n_h, N_h = np.array([6, 10, 4]), np.array([10, 20, 4])
    strata = np.repeat([0, 1, 2], n_h)
    y = rng.gamma(2.0, 3.0, size=strata.size) + 5 * strata
    design = Design(strata=strata, fpc=N_h[strata])
    analytic = linearization_covariance(design, y / design.weights.sum())[0, 0]
    boot = design.with_replicates("bootstrap", replicates=40000, seed=1)
    R = boot.replicate_totals(np.column_stack([y, np.ones_like(y)]))[:, 0, :]
    means = R[:, 0] / R[:, 1]
    full = design.weights @ y / design.weights.sum()
    v = replicate_covariance(full, means, boot.scale, boot.rscales)[0, 0]
    assert v == pytest.approx(analytic, rel=0.03)
    # without the correction the same draws overstate it by the fpc factor
    nofpc = Design(strata=strata, weights=design.weights).with_replicates(
        "bootstrap", replicates=40000, seed=1
    )
    R0 = nofpc.replicate_totals(np.column_stack([y, np.ones_like(y)]))[:, 0, :]
    v0 = replicate_covariance(full, R0[:, 0] / R0[:, 1], 1 / 39999, 1.0)[0, 0]
    assert v0 > 1.5 * v


def _fragile():
    """A raked design whose NACE category 'Z' lives in one unit of a 2-unit stratum."""
    data = {
        "s": np.array(["a"] * 6 + ["b"] * 2),
        "nace": np.array(list("XYXYXY") + ["Z", "X"]),
        "w": np.full(8, 10.0),
    }
    margin = Margin("nace", {"X": 40, "Y": 30, "Z": 10})
    return Design(data, weights="w", strata="s").calibrate([margin])


def test_failed_replicate_raises_with_index_and_cause():
    design = _fragile()
    with pytest.raises(
        ReplicateError,
        match=r"replicate \d+ \(index \d+\): margin 'nace' "
        r"category .*Z.* has no sample weight",
    ):
        design.with_replicates("bootstrap", replicates=20, seed=1)
    with pytest.raises(ReplicateError, match=r"replicate 7 \(index 6\)"):
        design.with_replicates("jkn")  # deleting unit 7 (the only Z) empties Z


def test_failed_replicates_kept_only_when_accepted():
    design = _fragile()
    kept = design.with_replicates("bootstrap", replicates=20, seed=1, accept_failures=True)
    conv = kept.convergence
    assert 0 < conv.failed.size < 20
    assert not conv.converged[conv.failed].any() and np.isinf(conv.error[conv.failed]).all()
    assert all(row["converged"] == (b not in conv.failed) for b, row in enumerate(conv.rows()))
    with _backend.use_kernels(False):
        again = design.with_replicates("bootstrap", replicates=20, seed=1, accept_failures=True)
    np.testing.assert_array_equal(again.convergence.status, conv.status)


def test_steps_return_new_designs(business, margins):
    design = Design(business, weights="w", strata="stratum")
    boot = design.with_replicates("bootstrap", replicates=10)
    assert design.replicates is None and boot.replicates is not None
    raked = boot.calibrate(margins)  # calibrating a replicated design re-calibrates replicates
    assert boot.calibration is None and raked.replicates.g is not None
    direct = design.calibrate(margins).with_replicates("bootstrap", replicates=10)
    np.testing.assert_array_equal(raked.replicate_weights(), direct.replicate_weights())


@needs_kernels
def test_counts_past_255_are_redone_wider():
    """A PSU drawn more than 255 times (forced here by 600 draws among 2 PSUs)
    wraps the kernels' one-byte counts: the block is redone in two bytes and
    the totals still equal numpy's."""
    from weighting.replicates import BOOTSTRAP, Plan

    B, n_psu, n_draws = 9, np.array([2, 3]), np.array([600, 2])
    stratum = np.array([0, 0, 1, 1, 1])
    plan = Plan(
        BOOTSTRAP,
        B,
        4,
        child_seed_words(4, B),
        n_psu,
        np.array([0, 2]),
        n_draws,
        np.full(5, 0.5),
        np.full(5, 0.25),
        np.zeros(0, np.int64),
        np.zeros(0),
        stratum,
    )
    rows = PsuRows(np.arange(5), 5)
    values = np.arange(1.0, 11.0).reshape(5, 2)
    combo, cells, groups = _combinations(np.zeros(5, np.int64), 1, stratum, 2)
    kernels = _backend.KERNELS
    T = kernels.replicate.replicate_totals(
        plan.for_kernels(kernels, rows), combo, cells, groups, np.ones((B, 1)), values, 2, 2
    )
    reference = [
        _bincount_columns(groups, plan.sums(b, rows, combo, values, 2), 2) for b in range(B)
    ]
    assert bootstrap_counts(4, B, n_psu, n_draws)[:, :2].max() > 255
    np.testing.assert_array_equal(T, reference)
    # kept counts: the wrapped blocks are marked and drawn wider at every pass
    kept = KeptDraws.for_plan(plan)
    for _ in range(2):
        T_kept = kernels.replicate.replicate_totals(
            plan.for_kernels(kernels, rows),
            combo,
            cells,
            groups,
            np.ones((B, 1)),
            values,
            2,
            2,
            kept.counts,
            kept.drawn,
        )
        np.testing.assert_array_equal(T_kept, reference)
    wrapped = bootstrap_counts(4, B, n_psu, n_draws)[:, :2].max(axis=1) > 255
    blocks = np.arange(B) // 8  # a replicate is wrapped with its block of 8
    assert np.all((kept.drawn == 2) == np.isin(blocks, blocks[wrapped]))


@needs_kernels
def test_kept_counts_of_the_wrong_shape_or_plan_are_refused(business):
    """The kernels check the kept counts' shape, and that the plan draws."""
    design = Design(business, weights="w", strata="stratum")
    kernels = _backend.KERNELS
    rows = PsuRows(design.psu, design.n)
    combo, cells, groups = _combinations(
        np.zeros(design.n, np.int64), 1, np.zeros(design.n, np.int64), 1
    )
    dv = np.ones((design.n, 1))
    boot = design.with_replicates("bootstrap", replicates=10, seed=1).replicates.plan
    jack = design.with_replicates("jkn").replicates.plan
    P = len(boot.psu_stratum)
    for plan, kept, drawn in (
        (boot, np.zeros((10, P - 1), np.uint8), np.zeros(10, np.uint8)),
        (boot, np.zeros((10, P), np.uint8), np.zeros(9, np.uint8)),
        (boot, np.zeros((10, P), np.uint8), None),
        (jack, np.zeros((jack.B, P), np.uint8), np.zeros(jack.B, np.uint8)),
    ):
        with pytest.raises(ValueError, match="kept counts are"):
            kernels.replicate.replicate_totals(
                plan.for_kernels(kernels, rows),
                combo,
                cells,
                groups,
                np.ones((plan.B, 1)),
                dv,
                1,
                1,
                kept,
                drawn,
            )


@needs_kernels
def test_kept_counts_are_filled_once_by_concurrent_threads_and_not_pickled(business):
    """Threads asking for the totals of one design at once, before its counts
    are drawn, get the totals of a design that draws its own (the first call
    fills the kept counts, the others wait); a pickled copy draws its own
    counts instead of carrying them."""
    import pickle
    import threading

    design = Design(business, weights="w", strata="stratum")
    values = business[["y1", "y2", "x"]].to_numpy(float)
    groups = pd.factorize(business.size_class, sort=True)[0].astype(np.int64)
    expected = design.with_replicates("bootstrap", replicates=200, seed=8).replicate_totals(
        values, groups, 4
    )
    for _ in range(20):  # a race shows in some rounds only
        shared = design.with_replicates("bootstrap", replicates=200, seed=8)
        start = threading.Barrier(4)
        results = [None] * 4

        def totals(i, shared=shared, start=start, results=results):
            start.wait()
            results[i] = shared.replicate_totals(values, groups, 4)

        threads = [threading.Thread(target=totals, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for result in results:
            np.testing.assert_array_equal(result, expected)
    copy = pickle.loads(pickle.dumps(shared))
    assert shared.replicates._kept.drawn.all() and not copy.replicates._kept.drawn.any()
    np.testing.assert_array_equal(copy.replicate_totals(values, groups, 4), expected)


@needs_kernels
def test_kept_counts_are_the_draws_and_serve_every_pass(business, margins):
    """The re-calibration keeps its bootstrap counts (numpy's draws) and the
    totals read them: the same totals as a kernel pass drawing them again and
    as numpy, bit for bit; an uncalibrated design's first totals pass keeps
    them; over KEEP_DRAWS_BYTES nothing is kept."""
    from weighting import replicates as reps

    values = business[["y1", "y2", "x"]].to_numpy(float)
    groups = pd.factorize(business.size_class, sort=True)[0].astype(np.int64)
    for design, fills in (
        (_design(business, margins, "raked_fpc"), "re-calibration"),
        (_design(business, margins, "plain"), "totals"),
    ):
        replicated = design.with_replicates("bootstrap", replicates=20, seed=5)
        structure = replicated.replicates
        kept = structure._kept
        assert kept.drawn.tolist() == [fills == "re-calibration"] * 20
        T = replicated.replicate_totals(values, groups, 4)
        assert kept.drawn.tolist() == [1] * 20
        plan = structure.plan
        counts = bootstrap_counts(5, 20, plan.n_psu, plan.n_draws)
        np.testing.assert_array_equal(kept.counts, counts)
        structure._kept = None  # the kernels draw the counts again
        np.testing.assert_array_equal(replicated.replicate_totals(values, groups, 4), T)
        with _backend.use_kernels(False):
            np.testing.assert_allclose(
                replicated.replicate_totals(values, groups, 4), T, rtol=1e-12, atol=0
            )
    P = len(plan.psu_stratum)
    assert reps.KeptDraws.for_plan(plan) is not None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reps, "KEEP_DRAWS_BYTES", 20 * P - 1)
        assert reps.KeptDraws.for_plan(plan) is None
