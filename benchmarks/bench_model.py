"""Benchmark: design-based logistic regression with replicate variance.

The workload of ``benchmarks.workloads`` at n = 1000, the logistic model
``y1 ~ C(stratum) + y2 + y3 + y4 + y5`` (12 coefficients) and 1000 Rao–Wu–Yue
bootstrap replicates (m_h = n_h - 1, drawn here with a fixed seed so that the
timing does not depend on replicate generation). Target: the whole
``svyglm`` — full fit plus the re-fit of every replicate — in under 1 s.

``test_bench_refit_replicates_only`` times the replicate re-fit alone.
``test_bench_report_analysis`` times the report's regression section on the
bundled employer survey (issue 14: the ``analysis`` step of ``kalib
report``): three logistic models and a proportional-odds model, each with
1000 re-raked bootstrap replicates, predictive margins and Wald tests of
terms, on the design the report builds.
When ``Rscript`` is installed, R survey's ``svyglm`` on the same data and the
same replicate weights is timed in the same run (median of up to 3 runs,
``extra_info["r_seconds"]``), and its coefficients and standard errors are
checked against kalib's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap

import numpy as np
import pandas as pd
import pytest

from benchmarks.workloads import make_workload
from estimators._threads import thread_limits
from estimators.model import ReplicateWeights, svyglm
from estimators.model.families import get_family
from estimators.model.fitting import refit_replicates
from estimators.surveys import employers

N, B = 1000, 1000
FORMULA = "y1 ~ C(stratum) + y2 + y3 + y4 + y5"

R_SCRIPT = textwrap.dedent("""
    suppressPackageStartupMessages(library(survey))
    args <- commandArgs(trailingOnly = TRUE)
    d <- read.csv(file.path(args[1], "data.csv"))
    w <- as.matrix(read.csv(file.path(args[1], "repweights.csv")))
    B <- ncol(w)
    des <- svrepdesign(data = d, repweights = w, weights = ~weight, type = "bootstrap",
                       combined.weights = TRUE, scale = 1 / (B - 1), rscales = rep(1, B),
                       mse = FALSE)
    times <- c()
    while (length(times) < 3 && sum(times) < 20) {
      start <- proc.time()[["elapsed"]]
      fit <- svyglm(y1 ~ factor(stratum) + y2 + y3 + y4 + y5, des,
                    family = quasibinomial())
      times <- c(times, proc.time()[["elapsed"]] - start)
    }
    cat(sprintf('{"seconds": %.6f, "coef": [%s], "se": [%s]}\\n', median(times),
                paste(sprintf("%.17g", coef(fit)), collapse = ","),
                paste(sprintf("%.17g", SE(fit)), collapse = ",")))
""")


def bootstrap_weights(workload, replicates: int, seed: int = 20170602) -> np.ndarray:
    """Rao–Wu–Yue rescaled bootstrap weights (n, B), m_h = n_h - 1 per stratum."""
    rng = np.random.default_rng(seed)
    W = np.empty((workload.n, replicates))
    for h in np.unique(workload.stratum):
        rows = np.flatnonzero(workload.stratum == h)
        n_h = len(rows)
        counts = rng.multinomial(n_h - 1, np.full(n_h, 1.0 / n_h), size=replicates).T
        W[rows] = workload.base_weight[rows, None] * counts * n_h / (n_h - 1)
    return W


@pytest.fixture(scope="module")
def problem():
    workload = make_workload(N)
    data = pd.DataFrame(workload.columns())
    W = bootstrap_weights(workload, B)
    design = ReplicateWeights(
        data,
        workload.base_weight,
        W,
        scale=1.0 / (B - 1),
        rscales=np.ones(B),
        mse=False,
        degf=B - 1,
        method="bootstrap",
    )
    return data, W, design


def _r_svyglm(tmp_path, data, W):
    data.to_csv(tmp_path / "data.csv", index=False)
    pd.DataFrame(W, columns=[f"rep_{b + 1}" for b in range(W.shape[1])]).to_csv(
        tmp_path / "repweights.csv", index=False, float_format="%.17g"
    )
    script = tmp_path / "svyglm.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(
        ["Rscript", str(script), str(tmp_path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_bench_svyglm_logistic_1000_replicates(benchmark, problem, tmp_path):
    data, W, design = problem
    fit = benchmark(svyglm, FORMULA, design, "binomial")
    assert fit.params.shape == (12,) and fit.replicate_params.shape == (B, 12)
    benchmark.extra_info.update(n=N, replicates=B, coefficients=12, target_seconds=1.0)
    if shutil.which("Rscript") is None:
        benchmark.extra_info["r_seconds"] = None
        return
    r = _r_svyglm(tmp_path, data, W)
    benchmark.extra_info["r_seconds"] = r["seconds"]
    # Both orderings put the intercept first and the stratum dummies next.
    np.testing.assert_allclose(fit.params, r["coef"], rtol=1e-6)
    np.testing.assert_allclose(fit.bse, r["se"], rtol=1e-5)


def test_bench_refit_replicates_only(benchmark, problem):
    """The batched Newton re-fit of the 1000 replicates alone (no formula,
    no full-sample fit, no covariance)."""
    _, W, design = problem
    fit = svyglm(FORMULA, design, "binomial")

    def refit():
        with thread_limits(blas=1):
            return refit_replicates(
                fit.frame.X, fit.frame.y, W, get_family("binomial"), fit.params, fit.terms
            )

    reps = benchmark(refit)
    np.testing.assert_array_equal(reps, fit.replicate_params)


def test_bench_report_analysis(benchmark):
    data = employers.load_cati()
    design = (
        employers.base_design(data)
        .calibrate(employers.load_register_margins("central"), tol=1e-10, max_iter=1000)
        .with_replicates("bootstrap", replicates=1000, seed=20170602)
    )
    analysis = benchmark(employers.regression_analysis, design)
    assert all(model.fit is not None for model in analysis.models)
    assert analysis.rating is not None and analysis.rating.fit is not None
    benchmark.extra_info.update(n=len(data), replicates=1000, models=4)
