"""calibrate(): every bad input raises its exception naming the offender;
hypothesis properties; trimming; the vendored copy without cext or pandas."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from repo_paths import REPO

from estimators.diagnose import conflicting_constraints, explain_infeasible_bounds
from weighting import Margin, NumericTotal, _backend, calibrate
from weighting.errors import (
    CalibrationError,
    EmptyCellError,
    InfeasibleBoundsError,
    KalibError,
    MarginError,
    MissingValueError,
    WeightError,
)


def sample(n=400, seed=5):
    rng = np.random.default_rng(seed)
    data = {
        "sector": rng.choice(["private", "public"], n, p=[0.75, 0.25]),
        "size": rng.choice([1, 2, 3], n, p=[0.5, 0.3, 0.2]),
        "nace": rng.choice(list("ABCD"), n),
    }
    margins = [
        Margin(
            ("sector", "size"),
            {
                ("private", 1): 5000,
                ("private", 2): 2500,
                ("private", 3): 900,
                ("public", 1): 600,
                ("public", 2): 600,
                ("public", 3): 400,
            },
        ),
        Margin("nace", {"A": 3000, "B": 2500, "C": 2500, "D": 2000}),
    ]
    return data, margins


# --- bad input: type and the offender named ---------------------------------


def test_sample_category_without_margin():
    data, margins = sample()
    margins[1] = Margin("nace", {"A": 4000, "B": 3500, "C": 2500})
    with pytest.raises(MarginError, match=r"margin 'nace'.*nace=D \(\d+ respondents\)"):
        calibrate(data, margins)


def test_margin_category_without_respondents():
    data, margins = sample()
    margins[1] = Margin("nace", {"A": 3000, "B": 2500, "C": 2000, "D": 2000, "E": 500})
    with pytest.raises(EmptyCellError, match=r"nace=E \(total 500\)"):
        calibrate(data, margins)


def test_grand_totals_disagree_unless_normalized():
    data, margins = sample()
    margins[1] = margins[1].scaled(1.01)
    with pytest.raises(MarginError, match=r"'nace' sums to 10100.*'sector\*size' to 10000"):
        calibrate(data, margins)
    result = calibrate(data, margins, normalize_margins=True)
    assert result.weights.sum() == pytest.approx(10000, rel=1e-12)


def test_implied_totals_disagree():
    data, (cross, _) = sample()  # sector*size: size 2 is 2500 + 600
    sizes = Margin("size", {1: 5600, 2: 3000, 3: 1400})  # size 2 should be 3100
    with pytest.raises(
        MarginError,
        match=r"size=2 has total 3000 but the other margins "
        r"imply 3100",
    ):
        calibrate(data, [cross, sizes])


def test_missing_value_in_calibration_variable():
    data, margins = sample()
    data["nace"] = data["nace"].astype(object)
    data["nace"][[4, 10, 11]] = [None, np.nan, ""]
    with pytest.raises(MissingValueError, match=r"'nace' has 3 missing.*row 5\)"):
        calibrate(data, margins)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.inf, np.nan])
def test_non_positive_or_non_finite_base_weight(bad):
    data, margins = sample()
    d = np.full(400, 25.0)
    d[17] = bad
    with pytest.raises(WeightError, match=r"1 value.*row 18:"):
        calibrate(data, margins, base_weights=d)


def test_category_out_of_reach_within_bounds():
    data, margins = sample()
    with pytest.raises(
        InfeasibleBoundsError,
        match=r"sector\*size=\(private, 1\): target 5000.*"
        r"\d+ respondents.*bounds \[0.9, 1.1\]",
    ):
        calibrate(data, margins, distance="truncated", bounds=(0.9, 1.1))


def test_zero_target_with_respondents_is_out_of_reach_for_raking():
    data, margins = sample()
    margins[1] = Margin("nace", {"A": 5500, "B": 2500, "C": 2000, "D": 0})
    with pytest.raises(InfeasibleBoundsError, match=r"nace=D: target 0"):
        calibrate(data, margins)
    assert calibrate(data, margins, distance="linear").converged


def test_non_convergence_names_the_worst_category_or_is_flagged():
    data, margins = sample()
    with pytest.raises(CalibrationError, match=r"worst margin '[^']+', category \S+=") as exc:
        calibrate(data, margins, max_iter=1)
    assert not exc.value.result.converged
    result = calibrate(data, margins, max_iter=1, allow_unconverged=True)
    assert not result.converged and "NOT CONVERGED" in result.summary()


def test_bad_options():
    data, margins = sample()
    with pytest.raises(KalibError, match="unknown calibration distance 'ranking'"):
        calibrate(data, margins, distance="ranking")
    with pytest.raises(KalibError, match="logit distance needs bounds"):
        calibrate(data, margins, distance="logit")
    with pytest.raises(KalibError, match="numeric total variable 'nace' is not numeric"):
        calibrate(data, [margins[0], NumericTotal("nace", 100.0)])
    with pytest.raises(KalibError, match="column 'region' is not in the data"):
        calibrate(data, [Margin("region", {"x": 1.0})])


def test_jointly_infeasible_bounds_are_named_by_the_lp():
    # Four units (x,u) (x,v) (y,u) (y,v), d = 1, g in [0.5, 1.5]: every category
    # is within reach on its own, but b=u = 2.6 forces g(y,u) >= 1.1, so that
    # a=y = 1.4 leaves g(y,v) <= 0.3 < 0.5.
    data = {"a": np.array(["x", "x", "y", "y"]), "b": np.array(["u", "v", "u", "v"])}
    margins = [Margin("a", {"x": 2.6, "y": 1.4}), Margin("b", {"u": 2.6, "v": 1.4})]
    with pytest.raises(CalibrationError, match="may be jointly infeasible") as exc:
        calibrate(
            data,
            margins,
            base_weights=np.ones(4),
            distance="truncated",
            bounds=(0.5, 1.5),
            max_iter=50,
        )
    problem = exc.value.result.problem
    base = problem.Xfull.T @ problem.d
    assert np.all(0.5 * base <= problem.tfull) and np.all(problem.tfull <= 1.5 * base)
    conflict = [problem.labels[j][1] for j in conflicting_constraints(problem, (0.5, 1.5))]
    # Irreducible: dropping either of the two makes the bounds feasible.
    assert conflict == ["a=y", "b=u"]
    message = explain_infeasible_bounds(problem, (0.5, 1.5))
    assert "[0.5, 1.5]" in message and all(c in message for c in conflict)
    assert "a=x" not in message and "b=v" not in message
    assert conflicting_constraints(problem, (0.3, 1.7)) == []


# --- trimming ---------------------------------------------------------------


@pytest.mark.parametrize(
    "distance,bounds", [("raking", None), ("linear", None), ("logit", (0.2, 3.0))]
)
def test_trimming_meets_caps_and_margins(distance, bounds):
    data, margins = sample()
    plain = calibrate(data, margins, distance=distance, bounds=bounds)
    # Caps a tenth of the way in from the untrimmed extremes (feasible here).
    lo = plain.g.min() + 0.1 * (1 - plain.g.min())
    hi = plain.g.max() - 0.1 * (plain.g.max() - 1)
    result = calibrate(data, margins, distance=distance, bounds=bounds, trim=(lo, hi))
    assert result.g.min() >= lo * (1 - 1e-12) and result.g.max() <= hi * (1 + 1e-12)
    assert result.trimmed.any()
    p = result.problem
    achieved = p.Xfull.T @ p.collapse(result.weights)
    assert np.all(np.abs(achieved - p.tfull) / (1 + p.tfull) <= 1e-10)


@pytest.mark.parametrize("distance", ["raking", "linear"])
def test_an_upper_cap_alone_trims(distance):
    data, margins = sample()
    plain = calibrate(data, margins, distance=distance)
    hi = plain.g.max() - 0.1 * (plain.g.max() - 1)
    result = calibrate(data, margins, distance=distance, trim=(None, hi))
    assert result.g.max() <= hi * (1 + 1e-12) and result.trimmed.any()
    assert result.g.min() > 0
    p = result.problem
    achieved = p.Xfull.T @ p.collapse(result.weights)
    assert np.all(np.abs(achieved - p.tfull) / (1 + p.tfull) <= 1e-10)


def test_trimming_that_cannot_hold_is_reported():
    data, margins = sample()
    with pytest.raises(InfeasibleBoundsError, match=r"\[0.99, 1.01\]"):
        calibrate(data, margins, trim=(0.99, 1.01))


# --- properties -------------------------------------------------------------


@st.composite
def problems(draw):
    n = draw(st.integers(30, 200))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    ka, kb = draw(st.integers(2, 5)), draw(st.integers(2, 4))
    a = np.concatenate([np.arange(ka), rng.integers(0, ka, n - ka)])
    b = np.concatenate([np.arange(kb), rng.integers(0, kb, n - kb)])[rng.permutation(n)]
    d = rng.uniform(0.5, 3.0, n)
    total = d.sum() * rng.uniform(0.8, 1.25)
    # Targets near the base-weight distribution so that calibration exists.
    ta = np.bincount(a, d, ka) * rng.uniform(0.8, 1.25, ka)
    tb = np.bincount(b, d, kb) * rng.uniform(0.8, 1.25, kb)
    margins = [
        Margin("a", dict(enumerate(ta / ta.sum() * total))),
        Margin("b", dict(enumerate(tb / tb.sum() * total))),
    ]
    distance, bounds = draw(
        st.sampled_from(
            [
                ("raking", None),
                ("linear", None),
                ("logit", (0.05, 20.0)),
                ("truncated", (0.05, 20.0)),
                ("raking", (0.05, 20.0)),
            ]
        )
    )
    return {"a": a, "b": b}, margins, d, distance, bounds


@settings(max_examples=40, deadline=None)
@given(problems())
def test_margins_met_and_invariant_under_row_permutation(case):
    data, margins, d, distance, bounds = case
    result = calibrate(data, margins, base_weights=d, distance=distance, bounds=bounds)
    for m in margins:
        for (key,), target in m.table.items():
            achieved = result.weights[data[m.variables[0]] == int(key)].sum()
            assert abs(achieved - target) / (1 + target) <= 1e-10
    perm = np.random.default_rng(0).permutation(len(d))
    shuffled = calibrate(
        {k: v[perm] for k, v in data.items()},
        margins,
        base_weights=d[perm],
        distance=distance,
        bounds=bounds,
    )
    np.testing.assert_allclose(shuffled.weights, result.weights[perm], rtol=1e-10)


@pytest.mark.skipif(_backend.KERNELS is None, reason="cext not built")
@settings(max_examples=40, deadline=None)
@given(problems())
def test_cython_and_numpy_paths_agree(case):
    data, margins, d, distance, bounds = case
    compiled = calibrate(data, margins, base_weights=d, distance=distance, bounds=bounds)
    with _backend.use_kernels(False):
        numpy = calibrate(data, margins, base_weights=d, distance=distance, bounds=bounds)
    assert compiled.iterations == numpy.iterations
    np.testing.assert_allclose(compiled.weights, numpy.weights, rtol=1e-12, atol=0)


def test_categories_compare_as_canonical_text():
    data, margins = sample()
    as_float = dict(data, size=data["size"].astype(float))
    as_text = dict(data, size=data["size"].astype(str))
    w = calibrate(data, margins).weights
    np.testing.assert_array_equal(calibrate(as_float, margins).weights, w)
    np.testing.assert_allclose(calibrate(as_text, margins).weights, w, rtol=1e-14)


def test_default_base_weights_are_population_over_sample_size():
    data, margins = sample()
    result = calibrate(data, margins)
    np.testing.assert_array_equal(result.base_weights, np.full(400, 10000 / 400))
    diag = result.diagnostics()
    assert diag.deff == pytest.approx(1 + diag.cv**2, rel=1e-12)
    assert diag.n_eff == pytest.approx(400 / diag.deff, rel=1e-12)


def test_post_stratification_is_the_one_margin_case():
    data, margins = sample()
    result = calibrate(data, margins[:1], base_weights=np.linspace(1, 2, 400))
    cells = list(zip(data["sector"], data["size"]))
    for key, total in margins[0].table.items():
        rows = [i for i, c in enumerate(cells) if (c[0], str(c[1])) == key]
        g = result.g[rows]
        assert np.ptp(g) < 1e-12 and result.weights[rows].sum() == pytest.approx(total)


def test_numeric_total_with_linear_and_logit():
    data, margins = sample()
    data["employees"] = np.arange(400) % 23 + 1.0
    target = 1.05 * 25 * data["employees"].sum()
    for distance, bounds in [("linear", None), ("logit", (0.3, 3.0))]:
        result = calibrate(
            data, margins + [NumericTotal("employees", target)], distance=distance, bounds=bounds
        )
        assert result.weights @ data["employees"] == pytest.approx(target, rel=1e-10)


def test_pandas_dataframe_input():
    pd = pytest.importorskip("pandas")
    data, margins = sample()
    frame = pd.DataFrame(data)
    frame["nace"] = frame["nace"].astype("category")
    np.testing.assert_allclose(
        calibrate(frame, margins).weights, calibrate(data, margins).weights, rtol=1e-14
    )


def test_vendored_copy_without_cext_or_pandas(tmp_path):
    import shutil

    shutil.copytree(
        REPO / "weighting",
        tmp_path / "vendored" / "weighting",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    script = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("pandas", "cext", "scipy"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        import numpy as np
        import weighting
        from weighting import _backend, calibrate, Margin
        from weighting.design import Design
        assert _backend.KERNELS is None
        assert _backend.REASON.startswith("cext is not importable"), _backend.REASON
        assert weighting.__file__.startswith(sys.argv[1])
        data = {"a": np.array(["x", "x", "y", "z"]), "b": np.array([1, 2, 1, 2])}
        margins = [Margin("a", {"x": 5, "y": 3, "z": 2}), Margin("b", {1: 4, 2: 6})]
        r = calibrate(data, margins)
        assert r.converged and abs(r.weights.sum() - 10) < 1e-9
        rows = {"a": np.repeat(data["a"], 3), "b": np.repeat(data["b"], 3)}
        design = Design(rows).calibrate(margins).with_replicates("jk1")
        assert design.replicate_weights().shape == (12, 12)
        assert not any(m.split(".")[0] in ("pandas", "cext", "scipy") for m in sys.modules)
        print("ok", r.iterations)
    """)
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "vendored"))
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "vendored")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")


@settings(max_examples=40, deadline=None)
@given(
    problems(),
    st.floats(0.5, 0.95),
    st.floats(1.05, 2.0),
    st.sampled_from(["raking", "truncated", "logit"]),
)
def test_binding_bounds_hold_or_are_reported_alike_on_both_paths(case, low, high, distance):
    data, margins, d, _, _ = case
    outcomes = []
    for enabled in (True, False):
        with _backend.use_kernels(enabled):
            try:
                result = calibrate(
                    data,
                    margins,
                    base_weights=d,
                    distance=distance,
                    bounds=(low, high),
                    max_iter=200,
                )
            except (InfeasibleBoundsError, CalibrationError) as exc:
                outcomes.append(type(exc))
                continue
        assert low * (1 - 1e-12) <= result.g.min() and result.g.max() <= high * (1 + 1e-12)
        p = result.problem
        achieved = p.Xfull.T @ p.collapse(result.weights)
        assert np.all(np.abs(achieved - p.tfull) / (1 + np.abs(p.tfull)) <= 1e-10)
        outcomes.append(result.weights)
    if isinstance(outcomes[0], np.ndarray) and isinstance(outcomes[1], np.ndarray):
        np.testing.assert_allclose(outcomes[0], outcomes[1], rtol=1e-12, atol=0)
    else:
        assert outcomes[0] == outcomes[1]


def test_calibrate_explained_turns_a_failure_into_the_named_conflict():
    from estimators.diagnose import calibrate_explained

    data = {"a": np.array(["x", "x", "y", "y"]), "b": np.array(["u", "v", "u", "v"])}
    margins = [Margin("a", {"x": 2.6, "y": 1.4}), Margin("b", {"u": 2.6, "v": 1.4})]
    options = dict(base_weights=np.ones(4), distance="truncated", max_iter=50)
    with pytest.raises(InfeasibleBoundsError, match=r"a=y .*; b=u "):
        calibrate_explained(data, margins, bounds=(0.5, 1.5), **options)
    assert calibrate_explained(data, margins, bounds=(0.3, 1.7), **options).converged
