# R survey values for the edge-case datasets (ce_*) written by make_datasets.py.
# Run from anywhere: Rscript tests/reference/crosscheck/edge.R
# Writes <name>_r.json beside each ce_<name>.csv, and for ce_b the replicate
# weights R made (ce_b_rep_<type>.csv; bootstrap is random in R), all read by
# tests/estimators/inference/test_crosscheck_edge_r.py.
suppressMessages({library(survey); library(jsonlite)})
options(warn = 1)
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE),
                                                       value = TRUE))))
CIPROP <- c("logit", "likelihood", "asin", "beta", "mean", "xlogit")
QTYPES <- c("mean", "beta", "xlogit", "asin", "score")

# every value, or NA where R fails (the test then expects kalib to fail or give NaN)
try_num <- function(expr) tryCatch(as.numeric(expr), error = function(e) NA_real_)

read <- function(name) {
  df <- read.csv(file.path(here, paste0(name, ".csv")), stringsAsFactors = FALSE)
  df$dom <- factor(df$dom); df$a <- factor(df$a); df$b <- factor(df$b)
  df$sex <- factor(df$sex); df$ordf <- factor(df$ord, ordered = TRUE)
  df
}

# svyciprop's logit and likelihood intervals come from svyglm(y ~ 1) at
# glm's default tolerance (about 1e-8 off): the same intervals from the
# refit to full convergence (crosscheck.R's exact_glm)
exact_ciprop <- function(d, meth, df) {
  args <- list(I(z == 1) ~ 1, d, family = quasibinomial(),
               control = glm.control(epsilon = 1e-14, maxit = 100))
  f0 <- do.call(svyglm, args)
  m <- do.call(svyglm, c(args, list(start = unname(coef(f0)))))
  how <- if (meth == "logit") "Wald" else "likelihood"
  plogis(as.vector(confint(m, 1, level = 0.95, method = how, ddf = df)))
}

estimates <- function(d, put, replicate = FALSE) {
  m <- svymean(~y, d, na.rm = TRUE, deff = TRUE)
  put("mean_y", c(coef(m), SE(m), deff(m)))
  m <- svymean(~y, d, na.rm = TRUE, deff = "replace"); put("mean_y_replace", deff(m))
  t <- svytotal(~y, d, na.rm = TRUE, deff = TRUE); put("total_y", c(coef(t), SE(t), deff(t)))
  t <- svytotal(~x, d); put("total_x", c(coef(t), SE(t)))
  r <- svyratio(~y, ~x, d, na.rm = TRUE); put("ratio_y_x", c(coef(r), SE(r)))
  b <- svyby(~y, ~dom, d, svymean, na.rm = TRUE)
  put("by_dom_mean_y", c(coef(b), SE(b)))
  b <- svyby(~x, ~dom, d, svytotal)
  put("by_dom_total_x", c(coef(b), SE(b)))
  b <- svyby(~y, ~a + b, d, svymean, na.rm = TRUE)
  put("by_ab_mean_y", c(coef(b), SE(b)))
  b <- svyby(~x, ~a, d, svymean, covmat = TRUE)
  ct <- svycontrast(b, c(-1, 1)); put("contrast_x_a2_a1", c(coef(ct), SE(ct)))
  s <- subset(d, x > 20 & sex == "f")
  m <- svymean(~y, s, na.rm = TRUE); put("where_mean_y", c(coef(m), SE(m)))
  for (meth in CIPROP) {
    p <- svyciprop(~I(z == 1), d, method = meth)
    put(paste0("ciprop_", meth), c(coef(p), SE(p), confint(p)))
    for (g in levels(d$variables$dom)) {
      s <- subset(d, dom == g)
      df <- if (replicate) degf(d) else degf(s)
      p <- tryCatch(svyciprop(~I(z == 1), s, method = meth, df = df),
                    error = function(e) NULL)
      put(paste0("ciprop_", meth, "/", g),
          if (is.null(p)) NA_real_ else c(coef(p), SE(p), confint(p), df))
      if (meth %in% c("logit", "likelihood"))
        put(paste0("ciprop_", meth, "_exact/", g), try_num(exact_ciprop(s, meth, df)))
    }
    if (meth %in% c("logit", "likelihood"))
      put(paste0("ciprop_", meth, "_exact"), exact_ciprop(d, meth, degf(d)))
  }
  if (replicate) {
    # Korn-Graubard as kalib documents it for a domain of a replicate design
    # (estimators/inference/estimate.py): the domain's rows in t_{n-1}, the
    # design's degf (R's subset() of a replicate design keeps every row)
    for (g in levels(d$variables$dom)) {
      m <- svymean(~I(z == 1), subset(d, dom == g)); p <- coef(m)[[2]]; v <- vcov(m)[2, 2]
      n_eff <- p * (1 - p) / v * (qt(0.025, sum(d$variables$dom == g) - 1) /
                                  qt(0.025, degf(d)))^2
      put(paste0("ciprop_beta_documented/", g),
          c(qbeta(0.025, n_eff * p, n_eff * (1 - p) + 1),
            qbeta(0.975, n_eff * p + 1, n_eff * (1 - p))))
    }
  }
  for (type in QTYPES) {
    q <- try_num(svyquantile(~y, d, quantiles = 0.5, qrule = "math", ci = TRUE, na.rm = TRUE,
                             interval.type = type,
                             df = if (replicate) degf(d) else NULL)[[1]])
    put(paste0("median_y/", type), q)  # estimate, low, high, se
  }
  if (replicate) {
    q <- svyquantile(~y, d, quantiles = c(0.25, 0.5), qrule = "math", ci = TRUE,
                     na.rm = TRUE, interval.type = "quantile", df = degf(d))[[1]]
    put("quantile_y/quantile", t(q))
  }
  tt <- svyttest(y ~ sex, d)
  put("ttest_y_sex", c(tt$estimate, tt$statistic, tt$parameter, tt$p.value, tt$conf.int))
  for (st in c("F", "Chisq")) {
    s <- svychisq(~a + b, d, statistic = st)
    put(paste0("chisq_", st), c(s$statistic, s$parameter, s$p.value))
  }
  # in a domain, and on the rows with y (a subset drops the others)
  s <- svychisq(~a + b, subset(d, sex == "m"), statistic = "F")
  put("chisq_F/sex_m", c(s$statistic, s$parameter, s$p.value))
  s <- svychisq(~a + sex, subset(d, !is.na(y)), statistic = "F")
  put("chisq_F/a_sex_with_y", c(s$statistic, s$parameter, s$p.value))
  v <- svyvar(~y, d, na.rm = TRUE); put("svyvar_y", c(coef(v), SE(v)))
  put("degf", degf(d))
}

models <- function(d, put, terms) {
  # R's svyglm takes its SEs from the working weights of the iteration before
  # the last: refit from the converged coefficients (crosscheck.R)
  exact_glm_on <- function(formula, design, family = gaussian()) {
    args <- list(formula, design, family = family,
                 control = glm.control(epsilon = 1e-14, maxit = 100))
    f0 <- do.call(svyglm, args)
    do.call(svyglm, c(args, list(start = unname(coef(f0)))))
  }
  exact_glm <- function(formula, family) exact_glm_on(formula, d, family)
  fits <- list(binomial = exact_glm(z ~ x + a, quasibinomial()),
               subset = do.call(exact_glm_on, list(y ~ x + a, subset(d, sex == "f"))),
               poisson = exact_glm(k ~ x + sex, quasipoisson()),
               gaussian = exact_glm(y ~ x + a * b, gaussian()))
  for (f in names(fits)) {
    put(paste0("glm/", f, "/coef"), coef(fits[[f]]))
    put(paste0("glm/", f, "/se"), SE(fits[[f]]))
    terms(paste0("glm/", f, "/terms"), names(coef(fits[[f]])))
  }
  # BFGS to its limit, and optim's finite-difference Hessian on a fine step
  # (svyolr's own defaults stop ~3e-5 from the root; estimators/model/ordinal.py)
  o <- svyolr(ordf ~ x + a, d, control = list(reltol = 1e-15, maxit = 10000, ndeps = rep(1e-6, 5)))
  put("olr/coef", coef(o)); put("olr/se", SE(o)); terms("olr/terms", names(coef(o)))
}

run <- function(name) {
  df <- read(name)
  mg <- fromJSON(file.path(here, paste0(name, "_margins.json")))
  out <- list()
  store <- function(prefix) function(key, value)
    out[[paste0(prefix, "/", key)]] <<- unname(as.numeric(value))
  terms <- function(key, value) out[[key]] <<- value
  options(survey.drop.replicates = FALSE)
  policies <- if (name == "ce_b") "fail" else c("adjust", "average", "remove", "certainty")
  for (policy in policies) {
    options(survey.lonely.psu = policy)
    d <- svydesign(ids = ~psu, strata = ~stratum, weights = ~d, fpc = ~fpc, data = df)
    estimates(d, store(paste0("lin_", policy)))
    if (policy %in% c("adjust", "average", "fail"))
      models(d, store(paste0("lin_", policy)), terms)
    # R's survey.adjust.domain.lonely: a domain with one PSU of its stratum
    if (policy %in% c("adjust", "average")) {
      options(survey.adjust.domain.lonely = TRUE)
      b <- svyby(~y, ~dom, d, svymean, na.rm = TRUE)
      out[[paste0("lin_", policy, "_domain_lonely/by_dom_mean_y")]] <- unname(c(coef(b), SE(b)))
      options(survey.adjust.domain.lonely = FALSE)
    }
    # post-stratified to the a x b cells
    cells <- data.frame(a = sub("\\|.*", "", names(mg$ab)), b = sub(".*\\|", "", names(mg$ab)),
                        Freq = unlist(mg$ab))
    ps <- postStratify(d, ~a + b, cells)
    put <- store(paste0("ps_", policy))
    m <- svymean(~y, ps, na.rm = TRUE); put("mean_y", c(coef(m), SE(m)))
    t <- svytotal(~x, ps); put("total_x", c(coef(t), SE(t)))
    b <- svyby(~y, ~dom, ps, svymean, na.rm = TRUE); put("by_dom_mean_y", c(coef(b), SE(b)))
    # raked to the a and b margins of the same cells (R keeps every row of a
    # calibrated design in a domain)
    N <- unlist(mg$ab)
    rk <- calibrate(d, ~a + b, c(sum(N), sum(N[4:6]), sum(N[c(2, 5)]), sum(N[c(3, 6)])),
                    calfun = "raking", epsilon = 1e-12, maxit = 1000)
    put <- store(paste0("rk_", policy))
    put("mean_y", try_num({m <- svymean(~y, rk, na.rm = TRUE); c(coef(m), SE(m))}))
    put("by_dom_mean_y",
        try_num({b <- svyby(~y, ~dom, rk, svymean, na.rm = TRUE); c(coef(b), SE(b))}))
    if (policy %in% c("certainty", "remove", "average")) {
      # R's JKn of a design with lonely strata (jknweights reads the policy);
      # kalib refuses "adjust" (weighting/replicates.py)
      m <- svymean(~y, as.svrepdesign(d, type = "JKn"), na.rm = TRUE)
      store(paste0("jkn_", policy))("mean_y", c(coef(m), SE(m)))
    }
    if (policy %in% c("adjust", "fail")) {
      put <- store(paste0("lin_", policy))
      for (q in c("school", "shahvaish", paste0("hf", 1:9))) {
        v <- svyquantile(~y, d, c(0.1, 0.5, 0.73), qrule = q, ci = TRUE, na.rm = TRUE)[[1]]
        put(paste0("quantile_y/", q), t(v))  # per p: estimate, low, high, se
      }
    }
  }
  if (name == "ce_b") {
    options(survey.lonely.psu = "fail")
    d <- svydesign(ids = ~psu, strata = ~stratum, weights = ~d, fpc = ~fpc, data = df)
    set.seed(20261204)
    reps <- list(jk1 = list("JK1", FALSE), jkn = list("JKn", FALSE), brr = list("BRR", FALSE),
                 fay = list("Fay", FALSE), bootstrap = list("bootstrap", FALSE),
                 bootstrap_mse = list("bootstrap", TRUE), jkn_mse = list("JKn", TRUE))
    for (k in names(reps)) {
      # JK1 is for an unstratified design (R refuses strata)
      base <- if (k == "jk1") svydesign(ids = ~psu, weights = ~d, data = df) else d
      args <- list(base, type = reps[[k]][[1]], mse = reps[[k]][[2]])
      if (reps[[k]][[1]] == "Fay") args$fay.rho <- 0.3
      if (reps[[k]][[1]] == "bootstrap") args$replicates <- 40
      r <- do.call(as.svrepdesign, args)
      W <- weights(r, "analysis")
      out[[paste0("rep_", k, "/scale")]] <- r$scale
      out[[paste0("rep_", k, "/rscales")]] <- unname(r$rscales)
      colnames(W) <- paste0("rep_", seq_len(ncol(W)))
      write.csv(data.frame(id = df$id, W), file.path(here, paste0(name, "_rep_", k, ".csv")),
                row.names = FALSE)
      estimates(r, store(paste0("rep_", k)), replicate = TRUE)
      if (k == "jkn") {  # post-stratified replicates: each column scaled to the cells
        ps <- postStratify(r, ~a + b, cells)
        m <- svymean(~y, ps, na.rm = TRUE); put <- store("ps_rep_jkn")
        put("mean_y", c(coef(m), SE(m))); put("degf", degf(ps))
        b <- svyby(~y, ~dom, ps, svymean, na.rm = TRUE); put("by_dom_mean_y", c(coef(b), SE(b)))
      }
      if (k %in% c("fay", "jkn")) models(r, store(paste0("rep_", k)), terms)
    }
  }
  writeLines(toJSON(out, digits = NA, auto_unbox = FALSE, pretty = TRUE),
             file.path(here, paste0(name, "_r.json")))
}

for (name in c("ce_a", "ce_b", "ce_c")) run(name)
