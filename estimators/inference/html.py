"""HTML views of results for Jupyter (``_repr_html_``).

Estimates, standard errors and interval limits are printed to two
significant digits of their standard error (``weighting._html.decimals``),
so a notebook shows what the data support and no more; ``summary()`` stays
the plain-text view and ``tidy()`` the unrounded numbers. Rows flagged
``suppress`` or ``empty`` by the reliability rule are greyed. Every label is
escaped. The table builder is ``weighting._html`` (shared with
``CalibrationResult``), so every kalib table looks alike.
"""

from __future__ import annotations

import math

from weighting._html import MUTED, decimals, number, p_value, significant, table

#: Rows shown before a result is cut (``tidy()`` has them all).
MAX_ROWS = 60
_SETTINGS = ("variance", "replicates", "ci", "level", "mse", "calibrated", "where")


def _interval(low, high, places: int) -> str:
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (low, high)):
        return ""
    return f"{number(low, places)} to {number(high, places)}"


def _cut(n: int) -> tuple[list, str]:
    """Row positions shown (head and tail) and a note on the rows left out."""
    if n <= MAX_ROWS:
        return list(range(n)), ""
    head = MAX_ROWS - 10
    return (
        list(range(head)) + list(range(n - 10, n)),
        f"{n - MAX_ROWS} of {n} rows not shown; .tidy() has them all",
    )


def results_html(results) -> str:
    """The ``_repr_html_`` of :class:`estimators.inference.results.Results`."""
    f = results.frame
    label = "rate" if f["rate"].notna().any() else "variable"
    level = results.attrs.get("level", 0.95)
    header = [label, "domain", "n", "estimate", "SE", f"{100 * level:g}% CI", "deff", "flag"]
    shown, note = _cut(len(f))
    rows, styles = [], []
    for i in shown:
        r = f.iloc[i]
        places = decimals(float(r["se"]))
        domain = "all" if r["domain_var"] == "all" else f"{r['domain_var']} = {r['domain']}"
        rows.append(
            [
                r[label] if isinstance(r[label], str) else r["variable"],
                domain,
                f"{int(r['n'])}",
                number(r["estimate"], places),
                number(r["se"], places),
                _interval(r["ci_low"], r["ci_high"], places),
                number(r["deff"], 2),
                r["flag"],
            ]
        )
        styles.append(MUTED if r["flag"] in ("suppress", "empty") else None)
    if note:
        rows.insert(MAX_ROWS - 10, ["…", "", "", "", "", "", "", ""])
        styles.insert(MAX_ROWS - 10, None)
    settings = ", ".join(
        f"{k} = {results.attrs[k]}" for k in _SETTINGS if results.attrs.get(k) not in (None, "")
    )
    html = table(header, rows, numeric=(2, 3, 4, 5, 6), caption=settings, row_styles=styles)
    return html + (f"<p>{note}</p>" if note else "")


def glm_html(fit) -> str:
    """The ``_repr_html_`` of :class:`estimators.model.results.SvyGLMResults`:
    the head of ``summary()``, the coefficients (with odds ratios for a
    logistic model) and a Wald test of every term."""
    tidy = fit.tidy()
    odds = "odds_ratio" in tidy
    level = f"{100 * fit.level:g}% CI"
    header = ["term", "estimate", "SE", "t", "p", level] + (
        ["odds ratio", f"OR {level}"] if odds else []
    )
    rows = []
    for r in tidy.itertuples(index=False):
        places = decimals(float(r.se))
        row = [
            r.term,
            number(r.estimate, places),
            number(r.se, places),
            number(r.t, 2),
            p_value(r.p),
            _interval(r.ci_low, r.ci_high, places),
        ]
        if odds:
            # Delta method: SE(exp b) ~= exp(b) SE(b), for the digits only.
            or_places = decimals(float(r.odds_ratio * r.se))
            row += [
                number(r.odds_ratio, or_places),
                _interval(r.or_ci_low, r.or_ci_high, or_places),
            ]
        rows.append(row)
    variance = fit.variance + (
        f", B = {fit.replicate_params.shape[0]}" if fit.replicate_params is not None else ""
    )
    caption = (
        f"{fit.formula}  ({fit.family.name}, {fit.family.link} link; {variance}; "
        f"{fit.n_used} rows used, {fit.n_missing} missing; residual design df {fit.df})"
    )
    html = table(header, rows, numeric=range(1, len(header)), caption=caption)
    tests = fit.term_tests()
    if len(tests):
        html += table(
            ["term", "F", "df", "ddf", "p"],
            [
                [t.term, significant(t.F), f"{t.df}", f"{t.ddf}", p_value(t.p)]
                for t in tests.itertuples(index=False)
            ],
            numeric=(1, 2, 3, 4),
            caption="Wald tests of terms",
        )
    return html


def term_test_html(test) -> str:
    """The ``_repr_html_`` of :class:`estimators.model.results.TermTest`."""
    return table(
        ["terms", "F", "df", "ddf", "p"],
        [
            [
                " + ".join(test.terms),
                significant(test.F),
                f"{test.df}",
                f"{test.ddf}",
                p_value(test.p),
            ]
        ],
        numeric=(1, 2, 3, 4),
        caption="Design-based Wald test",
    )


def chisq_html(result) -> str:
    """The ``_repr_html_`` of :class:`estimators.inference.chisq.ChisqResult`:
    the weighted table and the three tests ``kalib crosstab`` prints."""
    counts = [
        [str(row)] + [significant(v, 6) for v in result.table[i]]
        for i, row in enumerate(result.rows)
    ]
    weighted = table(
        [""] + [str(c) for c in result.cols],
        counts,
        numeric=range(1, len(result.cols) + 1),
        caption=f"Weighted counts (n = {result.n})",
    )
    tests = table(
        ["test", "statistic", "df", "p"],
        [
            [
                'Rao–Scott "F" (second order)',
                f"F = {result.f:.4f}",
                f"{result.f_ndf:.3f}, {result.f_ddf:.3f}",
                p_value(result.f_p),
            ],
            [
                'Rao–Scott "Chisq" (first order)',
                f"X² = {result.pearson:.4f}",
                f"{result.chisq_df}",
                p_value(result.chisq_p),
            ],
            [
                "Pearson, unweighted",
                f"X² = {result.unweighted:.4f}",
                f"{result.unweighted_df}",
                p_value(result.unweighted_p),
            ],
        ],
        numeric=(1, 2, 3),
        caption="Tests of independence",
        row_styles=[None, None, MUTED],
    )
    return weighted + tests
