# R survey values for the cross-check datasets written by make_datasets.py.
# Run from anywhere: Rscript tests/reference/crosscheck/crosscheck.R
# Writes <name>_r.json beside each <name>.csv (read by tests/test_crosscheck_r.py).
suppressMessages({library(survey); library(jsonlite)})
options(warn = 1)
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE),
                                                       value = TRUE))))

run <- function(name) {
  df <- read.csv(file.path(here, paste0(name, ".csv")), stringsAsFactors = FALSE)
  # a stratum with one PSU (only in cc_c) adds no variance, as kalib's
  # lonely_psu = "certainty"; elsewhere a lonely PSU would be an error
  options(survey.lonely.psu = if (name == "cc_c") "certainty" else "fail",
          survey.drop.replicates = TRUE)
  mg <- fromJSON(file.path(here, paste0(name, "_margins.json")))
  df$sexage <- factor(paste(df$sex, df$age, sep = "|"), levels = names(mg$sex_age))
  df$region <- factor(df$region, levels = names(mg$region))
  df$sex <- factor(df$sex); df$age <- factor(df$age)
  df$dom <- factor(df$dom); df$opinion <- factor(df$opinion)
  N <- sum(unlist(mg$sex_age))
  pop <- c(N, unlist(mg$sex_age)[-1], unlist(mg$region)[-1])
  pop_x <- c(pop, mg$x_total)
  bounds <- mg$bounds
  out <- list()
  put <- function(key, value) out[[key]] <<- unname(as.numeric(value))

  designs <- list(
    clus_fpc = svydesign(ids = ~psu, strata = ~stratum, weights = ~d, fpc = ~fpc, data = df),
    clus = svydesign(ids = ~psu, strata = ~stratum, weights = ~d, data = df),
    strat = svydesign(ids = ~1, strata = ~stratum, weights = ~d, data = df),
    clus_fraction = svydesign(ids = ~psu, strata = ~stratum, weights = ~d,
                              fpc = ~fpc_fraction, data = df),
    unstrat = svydesign(ids = ~psu, weights = ~d, data = df),
    noweights = svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, data = df))

  # calibrated weights, every distance
  base <- designs$clus_fpc
  cal <- function(formula, population, calfun, b = c(-Inf, Inf))
    calibrate(base, formula, population, calfun = calfun, bounds = b,
              epsilon = 1e-12, maxit = 1000)
  fits <- list(
    raking = cal(~sexage + region, pop, "raking"),
    raking_bounded = cal(~sexage + region, pop, "raking", mg$raking_bounds),
    raking_x = cal(~sexage + region + x, pop_x, "raking"),
    linear = cal(~sexage + region + x, pop_x, "linear"),
    truncated = cal(~sexage + region + x, pop_x, "linear", bounds),
    logit = cal(~sexage + region + x, pop_x, "logit", bounds))
  for (k in names(fits)) {
    g <- weights(fits[[k]]) / df$d
    put(paste0("weights/", k), weights(fits[[k]]))
    put(paste0("grange/", k), range(g))
    put(paste0("mean_y/", k), c(coef(svymean(~y, fits[[k]], na.rm = TRUE)),
                                SE(svymean(~y, fits[[k]], na.rm = TRUE))))
  }

  estimates <- function(key, d, linearization) {
    m <- svymean(~y, d, na.rm = TRUE); put(paste0(key, "/mean_y"), c(coef(m), SE(m)))
    t <- svytotal(~y, d, na.rm = TRUE); put(paste0(key, "/total_y"), c(coef(t), SE(t)))
    t <- svytotal(~x, d); put(paste0(key, "/total_x"), c(coef(t), SE(t)))
    m <- svymean(~opinion, d); put(paste0(key, "/share_opinion"), c(coef(m), SE(m)))
    b <- svyby(~y, ~dom, d, svymean, na.rm = TRUE)
    put(paste0(key, "/by_mean_y"), c(coef(b), SE(b)))
    b <- svyby(~y, ~dom, d, svytotal, na.rm = TRUE)
    put(paste0(key, "/by_total_y"), c(coef(b), SE(b)))
    r <- svyratio(~y, ~x, d, na.rm = TRUE); put(paste0(key, "/ratio_y_x"), c(coef(r), SE(r)))
    for (meth in c("logit", "beta", "mean", "xlogit")) {
      p <- svyciprop(~I(z == 1), d, method = meth)
      put(paste0(key, "/ciprop_", meth), c(coef(p), SE(p), confint(p)))
      for (g in levels(df$dom)) {
        p <- svyciprop(~I(z == 1), subset(d, dom == g), method = meth)
        put(paste0(key, "/ciprop_", meth, "/", g),
            c(coef(p), SE(p), confint(p), degf(subset(d, dom == g))))
        if (!linearization) {
          # R's subset of a replicate design recomputes degf as the rank of
          # the domain's replicate weights minus one; kalib keeps the
          # design's degf for every domain (documented in estimate.py)
          if (meth != "beta") {
            p <- svyciprop(~I(z == 1), subset(d, dom == g), method = meth, df = degf(d))
            put(paste0(key, "/ciprop_", meth, "_design_df/", g), confint(p))
          }
        }
      }
    }
    # Korn-Graubard on a domain as kalib documents it (estimators/inference/estimate.py):
    # the domain's row count in t_{n-1} (R's subset() of a calibrated
    # linearization design keeps every row, so R uses the whole sample) and,
    # for a replicate design, the design's degf (R's subset() takes the rank
    # of the domain's replicate weights minus one).
    for (g in levels(df$dom)) {
      s <- subset(d, dom == g)
      m <- svymean(~I(z == 1), s); p <- coef(m)[[2]]; v <- vcov(m)[2, 2]
      nu <- if (linearization) degf(s) else degf(d)
      n_eff <- p * (1 - p) / v * (qt(0.025, sum(df$dom == g) - 1) / qt(0.025, nu))^2
      put(paste0(key, "/ciprop_beta_documented/", g),
          c(qbeta(0.025, n_eff * p, n_eff * (1 - p) + 1),
            qbeta(0.975, n_eff * p + 1, n_eff * (1 - p))))
    }
    for (st in c("F", "Chisq")) {
      s <- svychisq(~dom + opinion, d, statistic = st)
      put(paste0(key, "/chisq_", st), c(s$statistic, s$parameter, s$p.value))
    }
    # na.rm subsets the design; for a replicate design R's subset() then takes
    # the rank of the remaining replicate weights minus one as degf, kalib the
    # design's degf (documented in estimators/inference/estimate.py): given explicitly
    q <- svyquantile(~y, d, quantiles = c(0.1, 0.5, 0.9), qrule = "math", ci = TRUE,
                     na.rm = TRUE, df = if (linearization) NULL else degf(d))[[1]]
    put(paste0(key, "/quantile_y"), t(q))   # per p: estimate, low, high, se
    for (g in levels(df$dom)) {
      s <- subset(d, dom == g)
      q <- svyquantile(~y, s, quantiles = 0.5, qrule = "math", ci = TRUE, na.rm = TRUE,
                       df = if (linearization) NULL else degf(d))[[1]]
      put(paste0(key, "/median_y/", g), q)
    }
    m <- svymean(~y, d, na.rm = TRUE, deff = TRUE); put(paste0(key, "/deff_mean_y"), deff(m))
    # d1 - d2 of the domain means of x: minus the "domd2" coefficient of the
    # saturated svyglm(x ~ dom), whose sandwich variance is that of the
    # difference (svyby(covmat = TRUE) fails on calibrated designs in R 4.1.1)
    k <- svyglm(x ~ dom, d)
    put(paste0(key, "/diff_mean_x_d1_d2"), c(-coef(k)[["domd2"]], SE(k)[["domd2"]]))
    b <- svyby(~y, ~dom, d, svyratio, denominator = ~x, na.rm = TRUE)
    put(paste0(key, "/by_ratio_y_x"), c(coef(b), SE(b)))
    put(paste0(key, "/degf"), degf(d))
  }
  for (k in setdiff(names(designs), "unstrat")) {   # noweights: N_h / n_h
    d <- calibrate(designs[[k]], ~sexage + region, pop, calfun = "raking",
                   epsilon = 1e-12, maxit = 1000)
    estimates(paste0("lin_", k), d, TRUE)
  }
  for (k in c("clus_fpc", "strat")) {
    d <- designs[[k]]
    estimates(paste0("lin_uncal_", k), d, TRUE)
    for (st in c("F", "Chisq")) {
      s <- svychisq(~dom + opinion, subset(d, sex == "f"), statistic = st)
      put(paste0("lin_uncal_", k, "/chisq_", st, "/sex_f"), c(s$statistic, s$parameter, s$p.value))
    }
  }
  dlin <- calibrate(designs$clus_fpc, ~sexage + region + x, pop_x, calfun = "logit",
                    bounds = bounds, epsilon = 1e-12, maxit = 1000)
  estimates("lin_logit_clus_fpc", dlin, TRUE)

  reps <- list(
    jkn_fpc = as.svrepdesign(designs$clus_fpc, type = "JKn"),
    jkn = as.svrepdesign(designs$clus, type = "JKn"),
    jkn_fraction = as.svrepdesign(designs$clus_fraction, type = "JKn"),
    jk1 = as.svrepdesign(designs$unstrat, type = "JK1"))
  raked <- list()
  for (k in names(reps))
    raked[[k]] <- calibrate(reps[[k]], ~sexage + region, pop, calfun = "raking",
                            epsilon = 1e-12, maxit = 1000)
  # R's replicate estimators leave self-representing rows (take-all and
  # certainty strata, cc_c) out of the replicate estimates by default, which
  # is exact only while their replicate weights equal the full-sample
  # weights; re-calibration changes those weights, so kalib keeps every row,
  # as R does with this option (set only now: as.svrepdesign reads it too)
  options(survey.drop.replicates = FALSE)
  for (k in names(reps)) estimates(paste0("rep_", k), raked[[k]], FALSE)
  # Unbounded linear calibration of a replicate design (R's regcalibrate)
  # resets degf to the rank of the replicate weights minus one (31 here, not
  # the design's 27); every other calfun keeps the design's degf, and kalib
  # keeps it for every distance: restored so the t-based values compare.
  linear <- calibrate(reps$jkn_fpc, ~sexage + region + x, pop_x, calfun = "linear")
  put("rep_jkn_fpc_linear/r_degf", degf(linear))
  linear$degf <- degf(reps$jkn_fpc)
  estimates("rep_jkn_fpc_linear", linear, FALSE)

  models <- list(lin = calibrate(designs$clus_fpc, ~sexage + region, pop,
                                 calfun = "raking", epsilon = 1e-12, maxit = 1000),
                 jkn = raked$jkn_fpc)
  # R's svyglm takes its SEs from glm's working weights of the iteration
  # before the last, ~1e-7 off the exact fit even with a tight epsilon:
  # refitting from the converged coefficients gives the exact SEs
  # (do.call: svyglm re-evaluates its call where local variables are unseen)
  exact_glm <- function(formula, design, family = gaussian()) {
    args <- list(formula, design, family = family,
                 control = glm.control(epsilon = 1e-13, maxit = 200))
    f0 <- do.call(svyglm, args)
    do.call(svyglm, c(args, list(start = unname(coef(f0)))))
  }
  models$jk1 <- raked$jk1
  models$strat <- calibrate(designs$strat, ~sexage + region, pop, calfun = "raking",
                            epsilon = 1e-12, maxit = 1000)
  for (k in names(models)) {
    fits <- list(gaussian = exact_glm(y ~ x + sex + region, models[[k]]),
                 quasibinomial = exact_glm(z ~ x + age, models[[k]], quasibinomial()),
                 subset = exact_glm(y ~ x + age, subset(models[[k]], dom == "d1")))
    for (f in names(fits)) {
      put(paste0("glm_", k, "/", f, "/coef"), coef(fits[[f]]))
      put(paste0("glm_", k, "/", f, "/se"), SE(fits[[f]]))
      out[[paste0("glm_", k, "/", f, "/terms")]] <- names(coef(fits[[f]]))
    }
  }
  writeLines(toJSON(out, digits = NA, auto_unbox = FALSE, pretty = TRUE),
             file.path(here, paste0(name, "_r.json")))
}

for (name in c("cc_a", "cc_b", "cc_c")) run(name)
