"""Jupyter views (``_repr_html_``) of kalib's results: the numbers a reader
needs, to the digits their standard error supports, with every label
escaped; ``summary()`` stays the plain-text view."""

from __future__ import annotations

import math
import re
from html import escape

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimators import load_cati, load_register_margins, rao_scott, svymean, svyprop
from estimators.inference import html as result_html
from estimators.inference.results import Results
from estimators.model import svyglm
from weighting import calibrate
from weighting._html import decimals, number, p_value, table
from weighting.design import Design


def cells(html: str) -> list[str]:
    """The text of every table cell (header and body), HTML entities kept."""
    return re.findall(r"<t[dh](?:\s[^>]*)?>(.*?)</t[dh]>", html)


@pytest.fixture(scope="module")
def data():
    return load_cati()


@pytest.fixture(scope="module")
def design(data):
    return (
        Design(data, weights="base_weight", strata="stratum")
        .calibrate(load_register_margins("central"))
        .with_replicates("bootstrap", replicates=60, seed=20170602)
    )


# -- digits ------------------------------------------------------------------------


@given(st.floats(min_value=1e-9, max_value=1e9, allow_nan=False))
def test_decimals_show_two_significant_digits_of_the_se(se):
    places = decimals(se)
    # se * 10**places has two digits before the point, unless places is
    # clipped at 0 (an SE of 100 or more is shown whole).
    scaled = se * 10.0**places
    if places > 0:
        assert 10 * (1 - 1e-12) <= scaled < 100 * (1 + 1e-12)
    else:
        assert se >= 10 * (1 - 1e-12)


@pytest.mark.parametrize(
    "se, places",
    [
        (0.0123, 3),
        (0.099, 3),
        (0.1, 2),
        (1.5, 1),
        (25.0, 0),
        (2500.0, 0),
        (0.0, 4),
        (float("nan"), 4),
        (float("inf"), 4),
    ],
)
def test_decimals_examples(se, places):
    assert decimals(se) == places


def test_number_and_p_value_formats():
    assert number(0.123456, 3) == "0.123"
    assert number(123456.7, 0) == "123,457"  # thousands separated from 1e4 on
    assert number(float("nan"), 2) == ""
    assert p_value(0.0004) == "<0.001" and p_value(0.0456) == "0.046"


def test_table_escapes_every_label_and_caption():
    html = table(
        ["<b>", "x"], [["a & b", "<script>alert(1)</script>"]], caption='"quoted" <caption>'
    )
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a &amp; b" in html and "&quot;quoted&quot; &lt;caption&gt;" in html


# -- Results -------------------------------------------------------------------------


def _results(rows: int = 2, label: str = "sector=<public & co>") -> Results:
    frame = pd.DataFrame(
        {
            "rate": [None] * rows,
            "variable": [label] * rows,
            "kind": "proportion",
            "domain_var": ["all"] + ["size_class"] * (rows - 1),
            "domain": ["all"] + [f"{i}-<{i}>" for i in range(rows - 1)],
            "n": [1000] + [10] * (rows - 1),
            "weighted_base": 2e5,
            "estimate": [0.123456] + [0.5] * (rows - 1),
            "se": [0.0123] + [0.2] * (rows - 1),
            "ci_low": [0.0987] + [0.1] * (rows - 1),
            "ci_high": [0.1478] + [0.9] * (rows - 1),
            "deff": 1.234,
            "deft": 1.1,
            "deff_kish": 1.5,
            "df": 49.0,
            "unweighted": 0.2,
            "published": np.nan,
            "flag": ["ok"] + ["suppress"] * (rows - 1),
        }
    )
    return Results(
        frame,
        {"variance": "bootstrap", "replicates": 60, "ci": "logit", "level": 0.95, "where": ""},
    )


def test_results_html_values_to_the_se_digits_and_labels_escaped():
    html = _results()._repr_html_()
    row = cells(html)[8:16]  # the first body row, after 8 headers
    assert row == [
        escape("sector=<public & co>"),
        "all",
        "1000",
        "0.123",
        "0.012",
        "0.099 to 0.148",
        "1.23",
        "ok",
    ]
    assert "size_class = 0-&lt;0&gt;" in html and "<public" not in html
    assert "95% CI" in html and "variance = bootstrap" in html
    # A suppressed estimate is greyed, not hidden.
    assert re.search(r'<tr style="color:#888888"><td>[^<]*</td><td>size_class', html)


def test_results_html_cuts_long_results_and_says_so():
    html = _results(rows=150)._repr_html_()
    body = re.findall(r"<tr[^>]*><td>", html)
    assert len(body) == result_html.MAX_ROWS + 1  # + the "…" row
    assert f"{150 - result_html.MAX_ROWS} of 150 rows not shown" in html


def test_results_html_of_a_real_estimate_matches_its_frame(design):
    res = svyprop(design, "sector", "public", by=("all", "size_class"))
    html = res._repr_html_()
    assert res.summary().splitlines()[0].startswith("variance=bootstrap")  # text view kept
    for r in res.frame.itertuples(index=False):
        places = decimals(r.se)
        assert number(r.estimate, places) in cells(html)
        assert f"{number(r.ci_low, places)} to {number(r.ci_high, places)}" in html
    mean = svymean(design, "trainee_count")._repr_html_()
    r = svymean(design, "trainee_count").frame.iloc[0]
    assert number(r.estimate, decimals(r.se)) in cells(mean)


# -- CalibrationResult -----------------------------------------------------------------


def test_calibration_html_reports_fit_and_weights(data):
    result = calibrate(
        data, load_register_margins("central"), base_weights=data["base_weight"], bounds=(0.3, 3)
    )
    html = result._repr_html_()
    diag = result.diagnostics()
    text = dict(zip(cells(html)[0::2], cells(html)[1::2]))
    assert text["distance"] == "raking"
    assert text["converged"] == f"yes, in {result.iterations} iterations"
    assert text["Kish effective n"] == f"{diag.n_eff:.1f}"
    assert text["bounds on g"] == "[0.3, 3]"
    assert text["rows"] == f"{result.problem.n} in {result.problem.n_cells} cells"
    assert "WARN" not in html and "#b00020" not in html


def test_calibration_html_marks_an_unconverged_result(data):
    result = calibrate(
        data,
        load_register_margins("central"),
        base_weights=data["base_weight"],
        max_iter=1,
        allow_unconverged=True,
    )
    html = result._repr_html_()
    assert '<tr style="color:#b00020"><td>converged</td><td>NO, stopped after 1 iterations' in html


# -- models and tests --------------------------------------------------------------------


@pytest.fixture(scope="module")
def fit(design):
    return svyglm("I(trainee_now == 'yes') ~ sector + size_class", design, family="binomial")


def test_glm_html_has_coefficients_odds_ratios_and_term_tests(fit):
    html = fit._repr_html_()
    tidy = fit.tidy()
    # The formula's quotes and the terms' brackets are escaped.
    assert escape(fit.formula) in html and "I(trainee_now == 'yes')" not in html
    for r in tidy.itertuples(index=False):
        places = decimals(r.se)
        assert escape(r.term) in cells(html)
        assert f"{number(r.ci_low, places)} to {number(r.ci_high, places)}" in html
        assert number(r.odds_ratio, decimals(r.odds_ratio * r.se)) in cells(html)
    tests = fit.term_tests()
    assert "Wald tests of terms" in html
    for t in tests.itertuples(index=False):
        assert f"{t.F:.4g}" in cells(html)
    assert "<SvyGLMResults" in repr(fit)  # the text views are unchanged


def test_term_test_html(fit):
    test = fit.wald_test("size_class")
    assert cells(test._repr_html_())[5:] == [
        "size_class",
        f"{test.F:.4g}",
        f"{test.df}",
        f"{test.ddf}",
        escape(p_value(test.p)),
    ]


def test_chisq_html_has_the_weighted_table_and_three_tests(design):
    result = rao_scott(design, "sector", "size_class")
    html = result._repr_html_()
    for label in list(result.rows) + list(result.cols):
        assert escape(str(label)) in cells(html)
    assert f"F = {result.f:.4f}" in html and f"X² = {result.pearson:.4f}" in html
    assert escape(p_value(result.f_p)) in cells(html)
    assert f"{result.table[0, 0]:.6g}" in cells(html)
    assert not math.isnan(result.f)
