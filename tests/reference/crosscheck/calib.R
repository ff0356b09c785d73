# R survey values for the calibration round of the cross-check (ce_d and ce_b).
# Run from anywhere: Rscript tests/reference/crosscheck/calib.R
# ce_d (make_datasets.py's CALIB): a stratified two-stage design with an fpc at
# both stages, uncalibrated and calibrated (raking, linear with variance =,
# aggregate.stage = 1, bounds.const = TRUE, logit with bounds, trimWeights);
# ce_b: R's replicate weights (edge.R's ce_b_rep_*.csv) re-calibrated by
# calibrate() replicate by replicate. Writes ce_d_r.json and ce_b_cal_r.json,
# and (ce_e, a stratified PPS sample: Brewer) ce_e_r.json, read by
# tests/estimators/inference/test_crosscheck_calib_r.py.
suppressMessages({library(survey); library(jsonlite)})
options(warn = 1)
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE),
                                                       value = TRUE))))
EPS <- 1e-12

# svyglm's SEs come from the working weights of the iteration before the
# last: refit from the converged coefficients (crosscheck.R's exact_glm)
exact_glm <- function(formula, design, family) {
  args <- list(formula, design, family = family,
               control = glm.control(epsilon = 1e-14, maxit = 100))
  f0 <- do.call(svyglm, args)
  do.call(svyglm, c(args, list(start = unname(coef(f0)))))
}

estimates <- function(d, put, models = TRUE) {
  m <- svymean(~y, d, na.rm = TRUE); put("mean_y", c(coef(m), SE(m)))
  t <- svytotal(~y, d, na.rm = TRUE); put("total_y", c(coef(t), SE(t)))
  t <- svytotal(~k, d); put("total_k", c(coef(t), SE(t)))
  r <- svyratio(~y, ~x, d, na.rm = TRUE); put("ratio_y_x", c(coef(r), SE(r)))
  b <- svyby(~y, ~dom, d, svymean, na.rm = TRUE); put("by_dom_mean_y", c(coef(b), SE(b)))
  b <- svyby(~k, ~dom, d, svytotal); put("by_dom_total_k", c(coef(b), SE(b)))
  m <- svymean(~z, subset(d, sex == "f")); put("where_mean_z", c(coef(m), SE(m)))
  if (models && all(weights(d) > 0)) {
    f <- exact_glm(k ~ x + a, d, quasipoisson())
    put("glm_poisson/coef", coef(f)); put("glm_poisson/se", SE(f))
    f <- exact_glm(z ~ x + b, d, quasibinomial())
    put("glm_binomial/coef", coef(f)); put("glm_binomial/se", SE(f))
  }
}

# -- ce_d: two stages, calibrated --------------------------------------------
df <- read.csv(file.path(here, "ce_d.csv"), stringsAsFactors = FALSE)
df$a <- factor(df$a); df$b <- factor(df$b); df$dom <- factor(df$dom)
mg <- fromJSON(file.path(here, "ce_d_margins.json"))
pop <- c(mg$N, mg$a$a2, mg$b$b2, mg$b$b3, mg$x_total)
out <- list()
store <- function(prefix) function(key, value)
  out[[paste0(prefix, "/", key)]] <<- unname(as.numeric(value))
d <- svydesign(ids = ~psu + ssu, strata = ~stratum, fpc = ~N1 + N2, weights = ~d, data = df)
cal <- list(
  none = d,
  raking = calibrate(d, ~a + b + x, pop, calfun = "raking", epsilon = EPS, maxit = 1000),
  linear_variance = calibrate(d, ~a + b + x, pop, calfun = "linear", variance = df$v,
                              epsilon = EPS),
  linear_stage1 = calibrate(d, ~a + b + x, pop, calfun = "linear", aggregate.stage = 1,
                            epsilon = EPS),
  bounds_const = calibrate(d, ~a + b + x, pop, calfun = "linear", bounds = mg$weight_bounds,
                           bounds.const = TRUE, epsilon = EPS, maxit = 1000),
  logit = calibrate(d, ~a + b + x, pop, calfun = "logit", bounds = mg$bounds,
                    epsilon = EPS, maxit = 1000)
)
cal$trimmed <- trimWeights(cal$raking, lower = mg$trim[1], upper = mg$trim[2])
cal$truncated <- calibrate(d, ~a + b + x, pop, calfun = "linear", bounds = mg$bounds,
                           epsilon = EPS, maxit = 1000)
# post-stratified to the a x b cells (their base-weight totals moved)
cells <- as.data.frame(svytable(~a + b, d))
cells$Freq <- round(cells$Freq * c(1.1, 0.9, 1.2, 0.85, 1.05, 0.95), 3)
out[["poststratified/cells"]] <- cells$Freq
cal$poststratified <- postStratify(d, ~a + b, cells)
# contrasts (domain means of several variables with their covariance, then
# non-linear contrasts of them), quantiles, proportions and the
# proportional-odds model on the calibrated designs. R 4.1.1's svyby(...,
# covmat = TRUE) fails on a calibrated design ("number of items to replace"):
# the domain means are the ratios of domain totals, their covariance the
# delta method's, which is svyby's linearization
with_domains <- function(d, vars, by) {
  for (l in levels(d$variables[[by]])) {
    inside <- as.numeric(d$variables[[by]] == l)
    d$variables[[paste0("n.", l)]] <- inside
    for (v in vars) d$variables[[paste0(v, ".", l)]] <- d$variables[[v]] * inside
  }
  d
}
# Francisco-Fuller's score interval of the median of y over the rows with
# y: R 4.1.1's svyquantile(na.rm = TRUE) on a design whose subset keeps
# every row (calibrated) sets the missing values to 0 and keeps them in its
# bracket and in its unweighted share; kalib's documented value
# (estimators/inference/quantiles.py) is ffullerCI on the rows with y
score_documented <- function(d, p, alpha = 0.05) {
  ok <- !is.na(d$variables$y); s <- d[ok, ]
  x <- ifelse(ok, d$variables$y, 0); xv <- x[ok]; df <- degf(s)
  if (length(s$prob) < length(ok)) x <- xv  # an uncalibrated subset drops the rows
  w <- weights(s)[if (length(x) == length(ok)) ok else TRUE]
  U <- function(theta) (x > theta) - (1 - p)
  scoretest <- function(theta, qlimit) {
    m <- svymean(U(theta), s); m / SE(m) - qlimit
  }
  iqr <- IQR(xv); tol <- 1 / (100 * sqrt(sum(ok)))
  bracket <- c(min(xv) + iqr / 100, max(xv) - iqr / 100)
  qlow <- uniroot(scoretest, bracket, qlimit = qt(alpha / 2, df, lower.tail = FALSE),
                  tol = tol)$root
  qup <- uniroot(scoretest, bracket, qlimit = qt(alpha / 2, df), tol = tol)$root
  c(survey:::qrule_math(xv, w, mean(xv <= qlow)), survey:::qrule_math(xv, w, mean(xv <= qup)))
}
more <- function(d, put) {
  q <- svyquantile(~y, d, 0.5, qrule = "math", ci = TRUE, na.rm = TRUE,
                   interval.type = "score")[[1]]
  put("median_score_r_4.1.1", q[2:3]); put("median_score", score_documented(d, 0.5))
  t <- svytotal(~k.a1 + k.a2 + x.a1 + x.a2 + z.a1 + z.a2 + n.a1 + n.a2,
                with_domains(d, c("k", "x", "z"), "a"))
  b <- svycontrast(t, list(`a1:k` = quote(k.a1 / n.a1), `a2:k` = quote(k.a2 / n.a2),
                           `a1:x` = quote(x.a1 / n.a1), `a2:x` = quote(x.a2 / n.a2),
                           `a1:z` = quote(z.a1 / n.a1), `a2:z` = quote(z.a2 / n.a2)))
  put("by_a_mean_kxz", coef(b)); put("by_a_mean_kxz/vcov", vcov(b))
  ct <- svycontrast(b, list(ratio = quote(`a2:k` / `a1:k`),
                            scaled = quote((`a2:k` - `a1:k`) / `a1:x`),
                            log_odds_ratio = quote(log(`a2:z` / (1 - `a2:z`)) -
                                                     log(`a1:z` / (1 - `a1:z`)))))
  put("contrasts", coef(ct)); put("contrasts/vcov", vcov(ct))
  t <- svytotal(~k.d1 + k.d2 + k.d3 + x.d1 + x.d2 + x.d3,
                with_domains(d, c("k", "x"), "dom"))
  put("by_dom_total_kx", coef(t)); put("by_dom_total_kx/vcov", vcov(t))
  q <- svyquantile(~y, d, c(0.25, 0.5), qrule = "math", ci = TRUE, na.rm = TRUE)[[1]]
  put("quantile_y", t(q))
  for (meth in c("beta", "mean", "xlogit", "asin")) {
    p <- svyciprop(~I(z == 1), d, method = meth)
    put(paste0("ciprop_", meth), c(coef(p), SE(p), confint(p)))
  }
  o <- svyolr(factor(ord) ~ x + a, d,
              control = list(reltol = 1e-15, maxit = 10000, ndeps = rep(1e-6, 5)))
  put("olr/coef", coef(o)); put("olr/se", SE(o))
}
# design effects, Rao-Scott tests of crossed factors, a t-test
tests <- function(d, put) {
  m <- svymean(~y, d, na.rm = TRUE, deff = TRUE); put("deff_mean_y", deff(m))
  m <- svymean(~y, d, na.rm = TRUE, deff = "replace"); put("deff_replace_mean_y", deff(m))
  t <- svytotal(~k, d, deff = TRUE); put("deff_total_k", deff(t))
  s <- svychisq(~a + dom, d, statistic = "F")
  put("chisq_F_a_dom", c(s$statistic, s$parameter, s$p.value))
  s <- svychisq(~b + dom, d, statistic = "Chisq")
  put("chisq_Chisq_b_dom", c(s$statistic, s$parameter, s$p.value))
  if (all(weights(d) > 0)) {  # a glm: R refuses negative weights
    tt <- svyttest(y ~ sex, d)
    put("ttest_y_sex", c(tt$estimate, tt$statistic, tt$parameter, tt$p.value, tt$conf.int))
  }
}
for (k in names(cal)) {
  put <- store(k)
  put("weights", weights(cal[[k]]))
  tests(cal[[k]], put)
  estimates(cal[[k]], put)
  if (all(weights(cal[[k]]) > 0)) more(cal[[k]], put)
}
pop_ab <- pop[1:4]
# aggregate.stage with each distance, at stage 1 (PSUs) and 2 (SSUs), to the
# a and b margins
agg <- list(
  ab_raking_stage1 = calibrate(d, ~a + b, pop_ab, calfun = "raking", aggregate.stage = 1,
                               epsilon = EPS, maxit = 1000),
  ab_logit_stage1 = calibrate(d, ~a + b, pop_ab, calfun = "logit", bounds = c(0.3, 3),
                              aggregate.stage = 1, epsilon = EPS, maxit = 1000),
  ab_linear_stage1 = calibrate(d, ~a + b, pop_ab, calfun = "linear", aggregate.stage = 1),
  ab_linear_stage2 = calibrate(d, ~a + b, pop_ab, calfun = "linear", aggregate.stage = 2),
  ab_raking_stage2 = calibrate(d, ~a + b, pop_ab, calfun = "raking", aggregate.stage = 2,
                               epsilon = EPS, maxit = 1000))
for (k in names(agg)) {
  store(k)("weights", weights(agg[[k]]))
  estimates(agg[[k]], store(k), models = FALSE)
}
# the kalib CLI's cases (categorical margins only): raking, and linear with
# variance = and aggregate.stage = 1 together
cli <- list(cli_raking = calibrate(d, ~a + b, pop_ab, calfun = "raking", epsilon = EPS,
                                   maxit = 1000),
            cli_linear_variance_stage1 = calibrate(d, ~a + b, pop_ab, calfun = "linear",
                                                   variance = df$v, aggregate.stage = 1))
for (k in names(cli)) estimates(cli[[k]], store(k), models = FALSE)
# JKn of the two-stage design (stage-1 PSUs, R drops the stage-2 fpc), each
# replicate re-calibrated: calibrate() of the replicate design. (R's
# as.svrepdesign of a calibrated design would not re-calibrate them: its
# replicates carry the calibrated weights, as if fixed.)
options(survey.drop.replicates = FALSE)
r <- suppressWarnings(as.svrepdesign(d, type = "JKn"))
jkn <- list(jkn_raking = calibrate(r, ~a + b + x, pop, calfun = "raking", epsilon = EPS,
                                   maxit = 1000),
            jkn_linear_variance = calibrate(r, ~a + b + x, pop, calfun = "linear",
                                            variance = df$v, compress = FALSE))
for (k in names(jkn)) estimates(jkn[[k]], store(k), models = FALSE)
# and aggregated (R's aggregate.index for a replicate design; it warns that
# the weights vary within the PSUs, as they do)
jkn <- suppressWarnings(list(jkn_ab_raking_stage1 = calibrate(r, ~a + b, pop_ab, calfun = "raking",
                                             aggregate.index = ~psu, epsilon = EPS,
                                             maxit = 1000),
            jkn_ab_linear_stage1 = calibrate(r, ~a + b, pop_ab, calfun = "linear",
                                             aggregate.index = ~psu, compress = FALSE)))
for (k in names(jkn)) estimates(jkn[[k]], store(k), models = FALSE)
# lonely SSUs: two PSUs keep one SSU each (stage 2 has single-unit
# "strata"), under each survey.lonely.psu policy, uncalibrated and raked
one_ssu <- df$psu %in% c("s3p1", "s4p2") & !grepl("u1$", df$ssu)
for (policy in c("adjust", "average", "certainty", "remove")) {
  options(survey.lonely.psu = policy)
  d <- svydesign(ids = ~psu + ssu, strata = ~stratum, fpc = ~N1 + N2, weights = ~d,
                 data = df[!one_ssu, ])
  estimates(d, store(paste0("lonely_ssu_", policy)), models = FALSE)
  rk <- calibrate(d, ~a + b + x, pop, calfun = "raking", epsilon = EPS, maxit = 1000)
  estimates(rk, store(paste0("lonely_ssu_", policy, "_raking")), models = FALSE)
}
options(survey.lonely.psu = "fail")
writeLines(toJSON(out, digits = NA, auto_unbox = FALSE),
           file.path(here, "ce_d_r.json"))

# -- ce_b: R's replicate weights, re-calibrated ------------------------------
df <- read.csv(file.path(here, "ce_b.csv"), stringsAsFactors = FALSE)
df$a <- factor(df$a); df$b <- factor(df$b); df$dom <- factor(df$dom)
df$ord <- NULL; df$v <- 1 + df$x / 10
ref <- fromJSON(file.path(here, "ce_b_r.json"))
mg <- fromJSON(file.path(here, "ce_b_margins.json"))$ab
N <- unlist(mg)
x_total <- round(sum(df$d * df$x) * sum(N) / sum(df$d) * 1.04, 3)
pop <- c(sum(N), sum(N[4:6]), sum(N[c(2, 5)]), sum(N[c(3, 6)]))
out <- list(x_total = x_total)
for (k in c("brr", "fay", "jkn", "bootstrap", "bootstrap_mse")) {
  W <- as.matrix(read.csv(file.path(here, paste0("ce_b_rep_", k, ".csv")))[, -1])
  r <- svrepdesign(data = df, repweights = W, weights = ~d, type = "other",
                   combined.weights = TRUE, scale = ref[[paste0("rep_", k, "/scale")]],
                   rscales = ref[[paste0("rep_", k, "/rscales")]], mse = grepl("mse", k))
  cal <- list(
    raking = calibrate(r, ~a + b, pop, calfun = "raking", epsilon = EPS, maxit = 1000,
                     compress = FALSE),
    linear = calibrate(r, ~a + b + x, c(pop, x_total), calfun = "linear", compress = FALSE),
    linear_variance = calibrate(r, ~a + b + x, c(pop, x_total), calfun = "linear",
                                variance = df$v, compress = FALSE)
  )
  for (c in names(cal)) {
    put <- store(paste0(k, "/", c))
    put("repweights", weights(cal[[c]], "analysis"))
    estimates(cal[[c]], put, models = FALSE)
  }
  # on the raked replicates: domain means of two variables with their
  # covariance and non-linear contrasts of them in every replicate. survey
  # 4.1.1 names svyby's replicate columns in coefficient order though they
  # are group-major (a1:k, a1:x, a2:k, a2:x): put back in order first, as
  # kalib documents (estimators/inference/contrast.py), R's own kept too
  put <- store(paste0(k, "/raking"))
  b <- svyby(~k + x, ~a, cal$raking, svymean, covmat = TRUE, return.replicates = TRUE)
  put("by_a_mean_kx", coef(b)); put("by_a_mean_kx/vcov", vcov(b))
  contrasts <- list(ratio = quote(`a2:k` / `a1:k`), log_ratio = quote(log(`a2:x`) - log(`a1:x`)))
  ct <- svycontrast(b, contrasts); put("contrasts_r_4.1.1", c(coef(ct), SE(ct)))
  R0 <- attr(b, "replicates"); R1 <- R0[, c(1, 3, 2, 4)]
  for (a in c("scale", "rscales", "mse")) attr(R1, a) <- attr(R0, a)
  attr(b, "replicates") <- R1
  ct <- svycontrast(b, contrasts); put("contrasts", c(coef(ct), vcov(ct)))
  f <- svyglm(k ~ x + a, cal$raking, family = quasipoisson(),
              control = glm.control(epsilon = 1e-14, maxit = 100))
  put("glm_poisson/coef", coef(f)); put("glm_poisson/se", SE(f))
}
writeLines(toJSON(out, digits = NA, auto_unbox = FALSE),
           file.path(here, "ce_b_cal_r.json"))

# -- ce_e: stratified PPS without replacement --------------------------------
df <- read.csv(file.path(here, "ce_e.csv"), stringsAsFactors = FALSE)
df$a <- factor(df$a); df$dom <- factor(df$dom); df$z <- as.numeric(df$k > 2)
df$sex <- ifelse(df$id %% 2 == 0, "f", "m")
mg <- fromJSON(file.path(here, "ce_e_margins.json"))
out <- list()
# (R 4.1.1 fails on a stratified Overton design: "n - fbar: non-numeric")
for (pps in "brewer") {
  d <- svydesign(ids = ~psu, strata = ~stratum, fpc = ~pi, weights = ~d, pps = pps, data = df)
  cal <- list(none = d, raking = calibrate(d, ~a, c(mg$N, mg$a$a2), calfun = "raking",
                                           epsilon = EPS, maxit = 1000))
  for (k in names(cal)) {
    put <- store(paste0(pps, "/", k))
    estimates(cal[[k]], put, models = FALSE)
    f <- exact_glm(k ~ x + a, cal[[k]], quasipoisson())
    put("glm_poisson/coef", coef(f)); put("glm_poisson/se", SE(f))
  }
}
# one stratum (s2) on the rows with y: Brewer, Hartley-Rao and Overton, HT
# and Yates-Grundy (R 4.1.1 fails on HR() with strata, "non-numeric
# argument", and on HR and Overton with na.rm = TRUE, "logical subscript too
# long"; Brewer has no YG form)
s2 <- df[df$stratum == "s2" & !is.na(df$y), ]
for (v in c("HT", "YG")) for (p in c("brewer", "HR", "overton")) {
  if (p == "brewer" && v == "YG") next
  d <- svydesign(ids = ~psu, fpc = ~pi, weights = ~d, variance = v, data = s2,
                 pps = if (p == "HR") HR() else p)
  put <- store(paste0("s2/", p, "_", v))
  m <- svymean(~y, d); put("mean_y", c(coef(m), SE(m)))
  t <- svytotal(~k, d); put("total_k", c(coef(t), SE(t)))
  r <- svyratio(~y, ~x, d); put("ratio_y_x", c(coef(r), SE(r)))
}
writeLines(toJSON(out, digits = NA, auto_unbox = FALSE), file.path(here, "ce_e_r.json"))
