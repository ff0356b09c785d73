"""Edge-case cross-check of kalib's public API against R survey 4.1.1.

The ``ce_*`` datasets (``tests/reference/crosscheck/make_datasets.py``,
seeded; R values from ``edge.R`` beside them) stress what the ``cc_*`` ones do
not: several single-PSU strata under each of R's ``survey.lonely.psu``
policies (and ``survey.adjust.domain.lonely``), PSUs of one row, fpc as counts
and as fractions, weights over three orders of magnitude, a domain with a
single respondent and one whose rows lie in one PSU of one stratum, a 0/1
outcome that is 0 or 1 throughout a domain, crossed factor domains, a
subpopulation, post-stratification, and replicate designs made by R (JK1,
JKn, BRR, Fay, bootstrap; ``mse`` both ways) read as given replicate weights
(and ``jkn_take_all.R``: JKn with a take-all stratum).
Also raking under each lonely-PSU policy, kalib's own JK1/JKn/BRR/Fay
replicates against R's, JKn of designs with lonely strata, post-stratified
replicate weights, and the same numbers through the ``kalib`` CLI (estimate,
crosstab, model, replicate files from elsewhere, ``--where``,
``--domain-lonely``, ``--nest``). Estimators: means, totals, ratios, domain
estimates, contrasts, every ``svyciprop`` method, every ``svyquantile``
interval and rule, design effects (both references), ``svyvar``,
``svyttest``, ``svychisq`` (also in a domain), ``svyglm`` (binomial,
poisson, gaussian with an interaction, on a subset) and ``svyolr``.
Agreement is 1e-8 relative (models 1e-7), with the exceptions named where
they are asserted.
"""

import json
from functools import cache

import numpy as np
import pandas as pd
import pytest
from reference.crosscheck.rvalues import RTOL, close, r_values
from repo_paths import REFERENCE
from scipy import special, stats

from estimators.cli import main
from estimators.inference.chisq import rao_scott
from estimators.inference.contrast import estimates, svycontrast
from estimators.inference.domains import parse_where
from estimators.inference.estimate import (
    estimate_items,
    mean_items,
    svymean,
    svyprop,
    svyquantile,
    svyratio,
    svytotal,
)
from estimators.inference.moments import svyvar
from estimators.inference.ttest import svyttest
from estimators.model import svyglm, svyolr
from weighting import Margin
from weighting.design import Design
from weighting.errors import DesignError

REF = REFERENCE / "crosscheck"
GLM_RTOL = 1e-7
DOMAINS = ["d1", "d2", "d3", "one_stratum", "solo"]
CIPROP = {
    "logit": "logit",
    "likelihood": "likelihood",
    "asin": "asin",
    "beta": "beta",
    "mean": "wald",
    "xlogit": "xlogit",
}
QTYPES = ["mean", "beta", "xlogit", "asin", "score"]


@cache
def load(name):
    data = pd.read_csv(REF / f"{name}.csv")
    return data, json.loads((REF / f"{name}_margins.json").read_text()), r_values(f"{name}_r")


# R case -> (dataset, lonely-PSU policy)
LINEARIZATION = {
    f"{name}/{policy}": (name, policy)
    for name in ("ce_a", "ce_c")
    for policy in ("adjust", "average", "remove", "certainty")
}
LINEARIZATION["ce_b/fail"] = ("ce_b", "error")
REPLICATE = {
    f"ce_b/{k}": k for k in ("jk1", "jkn", "brr", "fay", "bootstrap", "bootstrap_mse", "jkn_mse")
}


@cache
def design(case):
    if case in REPLICATE:
        data, _, ref = load("ce_b")
        k = REPLICATE[case]
        W = pd.read_csv(REF / f"ce_b_rep_{k}.csv").drop(columns="id").to_numpy()
        base = Design(data, weights="d", strata="stratum", psu="psu", fpc="fpc")
        return base.with_replicate_weights(
            W,
            scale=float(ref[f"rep_{k}/scale"][0]),
            rscales=ref[f"rep_{k}/rscales"],
            mse=k.endswith("_mse"),
            degf=int(ref[f"rep_{k}/degf"][0]),
        )
    name, policy = LINEARIZATION[case]
    data = load(name)[0]
    return Design(data, weights="d", strata="stratum", psu="psu", fpc="fpc", lonely_psu=policy)


def key(case):
    """The R output's prefix of a case."""
    name, tail = case.split("/")
    return name, (f"rep_{tail}" if case in REPLICATE else f"lin_{tail}")


def replicate_gap(case, rows):
    """Whether some replicate of ``case`` gives no weight to ``rows`` (a
    domain empty in that replicate)."""
    W = design(case).replicate_weights()
    return bool((W[rows].sum(axis=0) == 0).any())


def by_domain(case, frame, expected, what):
    """Domain estimates and SEs (``frame``: one item, R's domain order)
    against R's ``c(coef, SE)``, where R and kalib mean the same thing.

    Deliberate differences, asserted instead: a domain without rows (every y
    missing) is NaN and flagged ``empty`` (R's svyby gives 0 and SE 0, or
    NaN after post-stratification); a
    domain empty in some replicate has no replicate SE (NaN; R drops those
    replicates and uses the rest, ``estimators.inference.estimate``); the SE
    of a domain within one PSU is rounding noise on both sides.
    """
    G = len(frame)
    est, se = expected[:G], expected[G:]
    data = design(case).data
    domain_var = frame.domain_var.iloc[0]
    for g, row in enumerate(frame.itertuples()):
        label = f"{what} {row.domain}"
        if row.n == 0:
            assert np.isnan(row.estimate) and row.flag == "empty", label
            assert (est[g] == 0 and se[g] == 0) or np.isnan(est[g]), label
            continue
        close(row.estimate, est[g], label)
        if case in REPLICATE and np.isnan(row.se):
            values = data[domain_var.split("*")].astype(str).agg("*".join, axis=1)
            assert replicate_gap(case, (values == row.domain).to_numpy()), label
            continue
        close(row.se, se[g], label, atol=1e-12 * abs(est[g]))


CASES = [*LINEARIZATION, *REPLICATE]


@pytest.mark.parametrize("case", CASES)
def test_means_totals_domains_equal_r(case):
    name, k = key(case)
    ref = load(name)[2]
    d = design(case)
    m = svymean(d, "y").frame.loc[0]
    close([m.estimate, m.se, m.deff], ref[f"{k}/mean_y"], f"{case} mean")
    rep = estimate_items(d, mean_items(d, ["y"]), deff="replace").frame.loc[0]
    close(rep.deff, ref[f"{k}/mean_y_replace"], f"{case} deff replace")
    t = svytotal(d, ["y", "x"]).frame
    close([t.estimate[0], t.se[0], t.deff[0]], ref[f"{k}/total_y"], f"{case} total y")
    close([t.estimate[1], t.se[1]], ref[f"{k}/total_x"], f"{case} total x")
    r = svyratio(d, "y", "x").frame.loc[0]
    close([r.estimate, r.se], ref[f"{k}/ratio_y_x"], f"{case} ratio")
    f = svymean(d, "y", by=("dom",)).frame
    assert list(f.domain) == DOMAINS
    by_domain(case, f, ref[f"{k}/by_dom_mean_y"], f"{case} mean by dom")
    by_domain(case, svytotal(d, "x", by=("dom",)).frame, ref[f"{k}/by_dom_total_x"], case)
    f = svymean(d, "y", by=("a*b",)).frame
    # R's svyby(~a + b) varies a fastest
    order = [f"{a}*{b}" for b in ("b1", "b2", "b3") for a in ("a1", "a2")]
    f = f.set_index("domain", drop=False).loc[order]
    by_domain(case, f, ref[f"{k}/by_ab_mean_y"], f"{case} mean by a*b")
    c = svycontrast(estimates(d, "x", by="a"), [-1, 1]).frame().loc[0]
    close([c.estimate, c.se], ref[f"{k}/contrast_x_a2_a1"], f"{case} contrast")
    w = svymean(d, "y", where=parse_where("x > 20 and sex == f")).frame.loc[0]
    close([w.estimate, w.se], ref[f"{k}/where_mean_y"], f"{case} where")
    assert d.degf == ref[f"{k}/degf"][0]


def z_share(case, g):
    """The domain's share of z = 1 in every replicate."""
    d = design(case)
    rows = (d.data.dom == g).to_numpy()
    W = d.replicate_weights()[rows]
    with np.errstate(invalid="ignore"):
        return d.data.z.to_numpy()[rows] @ W / W.sum(axis=0)


@pytest.mark.parametrize("method", CIPROP)
@pytest.mark.parametrize("case", CASES)
def test_svyciprop_equals_r(case, method):
    """svyciprop(~I(z == 1), subset(design, dom == g), method, df).

    Deliberate differences (``estimators.inference.ci``), asserted instead:
    a proportion of 0 or 1 has the interval (p, p), Korn–Graubard there the
    actual n (R: NaN, an error for likelihood, or a glm's 1e-11 for logit); an ``asin`` end
    outside [0, 1] is cut (R folds it back); with replicates, the logit SE
    falls back to the delta method where a replicate proportion is 0 or 1
    (R's refits diverge) and Korn–Graubard takes the domain's n in t_{n-1}
    (R's replicate subset keeps every row: its value with the domain's n is
    ``ciprop_beta_documented``) and the likelihood interval is kalib's only
    (R's is NA); at df = 1 R's logit interval is (0, 1), from a t level
    converted to a normal one that rounds to 1. R's logit and likelihood
    intervals are compared as refitted to full convergence (``edge.R``).
    """
    name, k = key(case)
    ref = load(name)[2]
    d = design(case)
    f = svyprop(d, "z", 1, by=("all", "dom"), ci=CIPROP[method]).frame
    exact = method in ("logit", "likelihood")
    for g, row in zip(["all", *DOMAINS], f.itertuples()):
        suffix = "" if g == "all" else f"/{g}"
        r = ref[f"{k}/ciprop_{method}{suffix}"]
        what = f"{case} {method} dom={g}"
        if g != "all" and r.size > 1:  # R's likelihood fails where p is 0 or 1
            assert row.df == r[4], what
        if row.estimate in (0.0, 1.0) and method != "mean":  # p = 0 or 1 in the domain
            assert row.se == 0 or np.isnan(row.se), what  # NaN: every stratum lonely
            if r.size > 1:  # R's likelihood fails there
                close(row.estimate, r[0], what, rtol=0, atol=1e-9)
            if method == "beta":
                assert (row.ci_low, row.ci_high)[int(row.estimate)] == row.estimate, what
                assert row.ci_low < row.ci_high, what
            else:
                assert row.ci_low == row.ci_high == row.estimate, what
            continue
        if case in REPLICATE and np.isnan(row.se):
            assert replicate_gap(case, (d.data.dom == g).to_numpy()), what
            continue
        close([row.estimate, row.se], r[:2], what)
        interval = [row.ci_low, row.ci_high]
        expected = ref[f"{k}/ciprop_{method}_exact{suffix}"] if exact else r[2:4]
        if method == "likelihood" and case in REPLICATE:
            # R 4.1 has no profile of a replicate design's svyglm (NA)
            assert np.isnan(expected[0]) and row.ci_low < row.estimate < row.ci_high, what
            continue
        if method == "logit" and list(expected) == [0.0, 1.0]:
            # R turns the t level into a normal one, 1 - 2 pnorm(qt(a/2, df)),
            # which is 1 in doubles at df = 1: its interval is (0, 1)
            half = stats.t.ppf(0.975, row.df) * row.se / (row.estimate * (1 - row.estimate))
            expected = special.expit(special.logit(row.estimate) + np.array([-half, half]))
            assert row.df == 1 and 0 < expected[0] and expected[1] < 1, what
        if method == "asin" and not np.allclose(interval, expected, rtol=RTOL, atol=0):
            assert row.ci_low == 0 or row.ci_high == 1, what  # cut, where R folds
            continue
        if case in REPLICATE and g != "all":
            if method == "beta":
                expected = ref[f"{k}/ciprop_beta_documented/{g}"]
            p_b = z_share(case, g)
            if method == "logit" and ((p_b == 0) | (p_b == 1)).any():
                se_logit = row.se / (row.estimate * (1 - row.estimate))
                expected = ref[f"{k}/ciprop_xlogit/{g}"][2:4]  # the delta method
                assert se_logit > 0, what
        close(interval, expected, what)


@pytest.mark.parametrize("case", CASES)
def test_svyquantile_intervals_equal_r(case):
    """Every Woodruff interval, and Francisco–Fuller's score interval, of the
    median. On a replicate design R 4.1 gives the ``mean`` interval whatever
    the type asked (kalib gives the type asked; estimators.inference.quantiles):
    that R's values are the same is asserted, and the replicate variance of
    the quantile (``quantile``) compared."""
    name, k = key(case)
    ref = load(name)[2]
    d = design(case)
    for interval in QTYPES:
        r = ref[f"{k}/median_y/{interval}"]
        if case in REPLICATE:
            if interval != "score":  # R has no score interval for replicates
                close(r, ref[f"{k}/median_y/mean"], f"R ignores {interval}")
            continue
        q = svyquantile(d, "y", [0.5], interval_type=interval)
        close(q.loc[0, ["estimate", "ci_low", "ci_high", "se"]], r, f"{case} median {interval}")
    if case in REPLICATE:
        q = svyquantile(d, "y", [0.5])
        close(
            q.loc[0, ["estimate", "ci_low", "ci_high", "se"]],
            ref[f"{k}/median_y/mean"],
            f"{case} median",
        )
        q = svyquantile(d, "y", [0.25, 0.5], interval_type="quantile")
        close(
            q[["estimate", "ci_low", "ci_high", "se"]].to_numpy(),
            np.reshape(ref[f"{k}/quantile_y/quantile"], (2, 4)),
            f"{case} quantiles, replicate interval",
        )


@pytest.mark.parametrize("case", CASES)
def test_svyttest_and_svychisq_equal_r(case):
    name, k = key(case)
    ref = load(name)[2]
    d = design(case)
    t = svyttest(d, "y ~ sex")
    close(
        [t.estimate, t.statistic, t.df, t.p_value, *t.conf_int],
        ref[f"{k}/ttest_y_sex"],
        f"{case} t-test",
    )
    test = rao_scott(d, "a", "b")
    close([test.f, test.f_ndf, test.f_ddf, test.f_p], ref[f"{k}/chisq_F"], f"{case} chisq F")
    close([test.chisq_df, test.chisq_p], ref[f"{k}/chisq_Chisq"][1:], f"{case} chisq Chisq")
    data = d.data
    for key_, rows, cols, domain in (
        ("sex_m", "a", "b", data.sex == "m"),
        ("a_sex_with_y", "a", "sex", data.y.notna()),
    ):
        r = ref[f"{k}/chisq_F/{key_}"]
        test = rao_scott(d, rows, cols, domain=domain.to_numpy())
        if np.isnan(r[0]):  # R keeps a level absent from the domain: NaN
            assert len(test.cols) < data[cols].nunique(), f"{case} chisq {key_}"
            continue
        close([test.f, test.f_ndf, test.f_ddf, test.f_p], r, f"{case} chisq {key_}")


@pytest.mark.parametrize("case", CASES)
def test_svyvar_equals_r(case):
    """R's linearized svyvar(na.rm = TRUE) keeps the n of the whole design
    in its n/(n - 1) (its replicate version the rows kept); kalib counts the
    rows kept in both (documented in estimators.inference.moments)."""
    name, k = key(case)
    ref = load(name)[2]
    d = design(case)
    v = svyvar(d, "y")
    expected = ref[f"{k}/svyvar_y"]
    if case not in REPLICATE:
        kept, n = int(d.data.y.notna().sum()), d.n
        expected = expected * (kept / (kept - 1)) / (n / (n - 1))
    close([v.estimates.coef[0], v.estimates.se[0]], expected, f"{case} svyvar")


def r_term(term):
    """patsy's ``a[T.a2]:b[T.b2]`` is R's ``aa2:bb2``."""
    return term.replace("[T.", "").replace("]", "").replace("Intercept", "(Intercept)")


MODEL_CASES = [
    "ce_a/adjust",
    "ce_a/average",
    "ce_c/adjust",
    "ce_c/average",
    "ce_b/fail",
    "ce_b/fay",
    "ce_b/jkn",
]
GLMS = {
    "binomial": ("z ~ x + a", "binomial"),
    "subset": ("y ~ x + a", "gaussian"),  # on the rows with sex == "f"
    "poisson": ("k ~ x + sex", "poisson"),
    "gaussian": ("y ~ x + a * b", "gaussian"),
}


@pytest.mark.parametrize("family", GLMS)
@pytest.mark.parametrize("case", MODEL_CASES)
def test_svyglm_equals_r(case, family):
    name, k = key(case)
    ref = load(name)[2]
    formula, fam = GLMS[family]
    d = design(case)
    subset = (d.data.sex == "f").to_numpy() if family == "subset" else None
    table = svyglm(formula, d, fam, subset=subset).tidy()
    table = table.set_index(table.term.map(r_term)).loc[ref[f"glm/{family}/terms"]]
    close(table.estimate, ref[f"{k}/glm/{family}/coef"], f"{case} {family} coef", GLM_RTOL)
    close(table.se, ref[f"{k}/glm/{family}/se"], f"{case} {family} se", GLM_RTOL)


@pytest.mark.parametrize("case", [c for c in MODEL_CASES if c not in REPLICATE])
def test_svyolr_equals_r(case):
    """R's BFGS stops about 1e-7 from the root at best, and its SEs take a
    finite-difference Hessian (here of step 1e-6): both documented in
    ``estimators.model.ordinal``, hence the tolerances. (On a replicate
    design R's replicate fits stop at optim's default tolerance, 0.1-1 %
    off: not compared.)"""
    name, k = key(case)
    ref = load(name)[2]
    table = svyolr("ord ~ x + a", design(case)).tidy()
    table = table.set_index(table.term.map(r_term)).loc[ref["olr/terms"]]
    close(table.estimate, ref[f"{k}/olr/coef"], f"{case} olr coef", 1e-6)
    close(table.se, ref[f"{k}/olr/se"], f"{case} olr se", 1e-5)


POLICIES = {f"{n}/{p}": (n, p) for n in ("ce_a", "ce_c") for p in ("adjust", "average")}


def lonely_design(data, policy, domain_lonely):
    return Design(
        data,
        weights="d",
        strata="stratum",
        psu="psu",
        fpc="fpc",
        lonely_psu=policy,
        domain_lonely=domain_lonely,
    )


@pytest.mark.parametrize("case", POLICIES)
def test_domain_lonely_equals_r(case):
    """R's ``survey.adjust.domain.lonely = TRUE`` (``Design(domain_lonely=True)``)."""
    name, policy = POLICIES[case]
    data, _, ref = load(name)
    d = lonely_design(data, policy, domain_lonely=True)
    f = svymean(d, "y", by=("dom",)).frame
    by_domain(case, f, ref[f"lin_{policy}_domain_lonely/by_dom_mean_y"], f"{case} domain lonely")


@pytest.mark.parametrize("case", LINEARIZATION)
def test_poststratified_equals_r(case):
    name, k = key(case)
    _, spec, ref = load(name)
    cells = {tuple(c.split("|")): v for c, v in spec["ab"].items()}
    d = design(case).poststratify(cells, ("a", "b"))
    k = k.replace("lin_", "ps_")
    m = svymean(d, "y").frame.loc[0]
    close([m.estimate, m.se], ref[f"{k}/mean_y"], f"{case} post-stratified mean")
    t = svytotal(d, "x").frame.loc[0]
    close(t.estimate, ref[f"{k}/total_x"][0], f"{case} post-stratified total")
    f = svymean(d, "y", by=("dom",)).frame
    by_domain(case, f, ref[f"{k}/by_dom_mean_y"], f"{case} post-stratified by dom")


def ab_margins(spec):
    """The a and b margins of the post-stratification cells."""
    cells = {tuple(c.split("|")): v for c, v in spec["ab"].items()}
    return [
        Margin(v, {c: sum(N for key, N in cells.items() if key[i] == c) for c in cats})
        for i, (v, cats) in enumerate((("a", ("a1", "a2")), ("b", ("b1", "b2", "b3"))))
    ]


@pytest.mark.parametrize("case", LINEARIZATION)
def test_raked_with_lonely_psus_equals_r(case):
    """Raking (the lonely-PSU policy then acts on calibration residuals).
    R's svyby fails on a calibrated design with a domain whose rows all
    miss y (ce_a's ``solo``): kalib's is empty there."""
    name, k = key(case)
    _, spec, ref = load(name)
    d = design(case).calibrate(ab_margins(spec), distance="raking", tol=1e-12)
    k = k.replace("lin_", "rk_")
    m = svymean(d, "y").frame.loc[0]
    close([m.estimate, m.se], ref[f"{k}/mean_y"], f"{case} raked mean")
    f = svymean(d, "y", by=("dom",)).frame
    expected = ref[f"{k}/by_dom_mean_y"]
    if np.isnan(expected).all():
        assert (f.flag == "empty").any(), case
        return
    by_domain(case, f, expected, f"{case} raked by dom")


def test_poststratified_replicates_equal_r():
    """R's JKn replicate weights post-stratified column by column (R's
    ``postStratify`` of a replicate design; degf by the rank rule)."""
    _, spec, ref = load("ce_b")
    cells = {tuple(c.split("|")): v for c, v in spec["ab"].items()}
    d = design("ce_b/jkn").poststratify(cells, ("a", "b"))
    m = svymean(d, "y").frame.loc[0]
    close([m.estimate, m.se], ref["ps_rep_jkn/mean_y"], "post-stratified JKn mean")
    by_domain(
        "ce_b/jkn",
        svymean(d, "y", by=("dom",)).frame,
        ref["ps_rep_jkn/by_dom_mean_y"],
        "post-stratified JKn by dom",
    )
    assert d.degf == ref["ps_rep_jkn/degf"][0]


@pytest.mark.parametrize("case", [c for c in LINEARIZATION if c != "ce_b/fail"])
def test_jkn_with_lonely_psus_equals_r(case):
    """kalib's JKn of a design with lonely strata: none of their own under
    certainty and remove, R's scale P/B under average; adjust is refused (R's
    replicate for a lonely PSU rescales every other PSU of the sample)."""
    name, policy = LINEARIZATION[case]
    if policy == "adjust":
        with pytest.raises(DesignError, match="adjust"):
            design(case).with_replicates("jkn")
        return
    d = design(case).with_replicates("jkn")
    m = svymean(d, "y").frame.loc[0]
    close([m.estimate, m.se], load(name)[2][f"jkn_{policy}/mean_y"], f"{case} JKn")


QRULES = ["school", "shahvaish", *(f"hf{i}" for i in range(1, 10))]


@pytest.mark.parametrize("case", ["ce_a/adjust", "ce_c/adjust", "ce_b/fail"])
def test_svyquantile_rules_equal_r(case):
    name, k = key(case)
    ref = load(name)[2]
    for qrule in QRULES:
        q = svyquantile(design(case), "y", [0.1, 0.5, 0.73], qrule=qrule)
        close(
            q[["estimate", "ci_low", "ci_high", "se"]].to_numpy(),
            np.reshape(ref[f"{k}/quantile_y/{qrule}"], (3, 4)),
            f"{case} {qrule}",
        )


@pytest.mark.parametrize("method", ["jk1", "jkn", "brr", "fay"])
def test_replicate_weights_made_by_kalib_equal_r(method):
    """kalib's own JK1, JKn, BRR and Fay (rho 0.3) replicates are R's
    ``as.svrepdesign``'s (BRR and Fay without the fpc, which R drops)."""
    data, _, ref = load("ce_b")
    spec = {"jk1": {}, "jkn": dict(strata="stratum", fpc="fpc")}.get(
        method, dict(strata="stratum")
    )
    d = Design(data, weights="d", psu="psu", **spec).with_replicates(
        method, fay_rho=0.3 if method == "fay" else None
    )
    W = pd.read_csv(REF / f"ce_b_rep_{method}.csv").drop(columns="id").to_numpy()
    close(d.replicate_weights(), W, f"{method} replicate weights")
    close(d.scale, ref[f"rep_{method}/scale"][0], f"{method} scale")
    close(d.rscales, ref[f"rep_{method}/rscales"], f"{method} rscales")


# -- the same through the kalib CLI -----------------------------------------------


def cli_estimate(tmp_path, sample, *args):
    out = tmp_path / "out.csv"
    assert main(["estimate", str(sample), *args, "--out", str(out), "--force", "--quiet"]) == 0
    return pd.read_csv(out)


DESIGN_OPTIONS = ["--weight", "d", "--strata", "stratum", "--psu", "psu", "--fpc", "fpc"]


@pytest.mark.parametrize("policy", ["adjust", "certainty"])
def test_cli_estimate_with_lonely_psus_equals_r(tmp_path, policy):
    ref = load("ce_c")[2]
    f = cli_estimate(
        tmp_path,
        REF / "ce_c.csv",
        *DESIGN_OPTIONS,
        "--lonely-psu",
        policy,
        "--mean",
        "y",
        "--by",
        "all",
        "--by",
        "dom",
    )
    case = f"ce_c/{policy}"
    close(f.loc[0, ["estimate", "se", "deff"]], ref[f"lin_{policy}/mean_y"], f"{case} CLI mean")
    by_domain(case, f.iloc[1:], ref[f"lin_{policy}/by_dom_mean_y"], f"{case} CLI by dom")


def test_cli_where_and_domain_lonely_under_average_equal_r(tmp_path):
    """--where drops the other rows' strata from the average, as R's subset;
    --domain-lonely is R's survey.adjust.domain.lonely."""
    options = [*DESIGN_OPTIONS, "--lonely-psu", "average", "--mean", "y"]
    for name in ("ce_a", "ce_c"):
        ref = load(name)[2]
        f = cli_estimate(tmp_path, REF / f"{name}.csv", *options, "--where", "x > 20 and sex == f")
        close(f.loc[0, ["estimate", "se"]], ref["lin_average/where_mean_y"], f"{name} CLI where")
        f = cli_estimate(tmp_path, REF / f"{name}.csv", *options, "--by", "dom", "--domain-lonely")
        f = f[f.domain_var == "dom"]
        expected = ref["lin_average_domain_lonely/by_dom_mean_y"]
        by_domain(f"{name}/average", f, expected, f"{name} CLI domain lonely")


def test_cli_crosstab_in_a_domain_under_average_equals_r(tmp_path, capsys):
    """The printed Rao-Scott F of a x b among sex == m (4 decimals, the
    contract), R's svychisq on subset(design, sex == "m")."""
    ref = load("ce_c")[2]
    argv = ["crosstab", str(REF / "ce_c.csv"), *DESIGN_OPTIONS, "--lonely-psu", "average"]
    argv += ["--rows", "a", "--cols", "b", "--where", "sex == m"]
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "tab.csv")]) == 0
    f, ndf, ddf, _ = ref["lin_average/chisq_F/sex_m"]
    assert f"F = {f:.4f}, ndf = {ndf:.4f}, ddf = {ddf:.4f}" in capsys.readouterr().out


def test_cli_nest_equals_r(tmp_path):
    """PSU codes reused across strata with --nest (R's nest = TRUE)."""
    data, _, ref = load("ce_b")
    sample = tmp_path / "local_psu.csv"
    data.assign(psu=data.psu.str[-3:]).to_csv(sample, index=False)
    f = cli_estimate(tmp_path, sample, *DESIGN_OPTIONS, "--nest", "--mean", "y")
    close(f.loc[0, ["estimate", "se", "deff"]], ref["lin_fail/mean_y"], "CLI --nest")


def test_cli_proportion_korn_graubard_equals_r(tmp_path):
    ref = load("ce_b")[2]
    f = cli_estimate(
        tmp_path, REF / "ce_b.csv", *DESIGN_OPTIONS, "--proportion", "z=1", "--ci", "beta"
    )
    close(f.loc[0, ["estimate", "se", "ci_low", "ci_high"]], ref["lin_fail/ciprop_beta"], "KG")


@pytest.mark.parametrize("k", ["jkn", "fay", "bootstrap_mse"])
def test_cli_estimate_from_r_replicate_weights_equals_r(tmp_path, k):
    """R's replicate weights as a replicate file from elsewhere (no sidecar:
    ``--replicate-type other`` with R's scale and rscales)."""
    data, _, ref = load("ce_b")
    reps = tmp_path / "reps.csv"
    W = pd.read_csv(REF / f"ce_b_rep_{k}.csv")
    W.insert(1, "weight", data.d)
    W.to_csv(reps, index=False)
    rscales = ",".join(map(repr, ref[f"rep_{k}/rscales"].tolist()))
    f = cli_estimate(
        tmp_path,
        REF / "ce_b.csv",
        "--replicate-weights",
        str(reps),
        "--replicate-type",
        "other",
        "--scale",
        repr(float(ref[f"rep_{k}/scale"][0])),
        "--rscales",
        rscales,
        *(["--mse"] if k.endswith("_mse") else []),
        "--mean",
        "y",
    )
    close(f.loc[0, ["estimate", "se", "deff"]], ref[f"rep_{k}/mean_y"], f"{k} CLI mean")


def test_cli_model_equals_r(tmp_path):
    ref = load("ce_b")[2]
    out = tmp_path / "coef.csv"
    argv = ["model", str(REF / "ce_b.csv"), *DESIGN_OPTIONS, "--formula", "k ~ x + sex"]
    assert main([*argv, "--family", "poisson", "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out)
    table = table.set_index(table.term.map(r_term)).loc[ref["glm/poisson/terms"]]
    close(table.estimate, ref["lin_fail/glm/poisson/coef"], "CLI poisson coef", GLM_RTOL)
    close(table.se, ref["lin_fail/glm/poisson/se"], "CLI poisson se", GLM_RTOL)


@pytest.mark.parametrize("domain_lonely", [False, True])
@pytest.mark.parametrize("name", ["ce_a", "ce_c"])
def test_model_margins_count_the_strata_of_the_fit(name, domain_lonely):
    """Predictive margins and average marginal effects of a fit on a subset
    take their linearization over the fitted rows, as the coefficients do
    (R's svyglm and svyolr, checked above): under "average" a stratum without
    a fitted row would otherwise enter the count of strata. On a model with
    one factor the reference level's margin is a function of one parameter,
    so its SE is that parameter's times the derivative; a linear model's
    average marginal effect is its coefficient."""
    data = load(name)[0].assign(high=lambda df: (df.ord > 1) + 1)
    d = lonely_design(data, "average", domain_lonely)
    glm = svyglm("y ~ sex", d, subset=(data.dom == "d2").to_numpy())
    coef = glm.tidy().set_index("term")
    margin = glm.predicted_margins("sex").set_index("level")
    close(margin.loc["f", "se"], coef.loc["Intercept", "se"], f"{name} margin of f")
    ame = glm.average_marginal_effects().set_index("contrast")
    close(ame.loc["m - f", "se"], coef.loc["sex[T.m]", "se"], f"{name} effect of m")
    olr = svyolr("high ~ sex", d, subset=data.dom.isin(["d1", "d3"]).to_numpy())
    zeta = olr.tidy().set_index("term").loc["1|2"]
    # P(high = 1 | f) = F(zeta): its SE is the density at zeta times zeta's
    density = stats.logistic.pdf(zeta.estimate)
    margin = olr.predicted_margins("sex")
    close(margin.se.iloc[0], density * zeta.se, f"{name} ordinal margin of f")


@pytest.mark.parametrize("policy", ["average", "certainty"])
def test_jkn_with_a_take_all_stratum_equals_r(policy):
    """A take-all stratum, no lonely one (``jkn_take_all.R``): under
    "average" R's jknweights scales by PSUs over replicates as soon as a PSU
    has no replicate, take-all ones included."""
    data = pd.read_csv(REF / "jkn_take_all.csv")
    ref = {
        k: np.array(v, float)
        for k, v in json.loads((REF / "jkn_take_all_r.json").read_text()).items()
    }
    d = Design(
        data, weights="d", strata="stratum", psu="psu", fpc="fpc", lonely_psu=policy
    ).with_replicates("jkn")
    close(d.scale, ref[f"{policy}/scale"][0], f"{policy} JKn scale")
    close(d.rscales, ref[f"{policy}/rscales"], f"{policy} JKn rscales")
    m = svymean(d, "y").frame.loc[0]
    close([m.estimate, m.se], ref[f"{policy}/mean_y"], f"{policy} JKn mean")
