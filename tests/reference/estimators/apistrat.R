# Reference values for estimators (R 4.1, survey 4.1.1) on R's apistrat.
# Run from this folder:  Rscript apistrat.R
# Writes apistrat.csv (the data), apistrat_jkn_weights.csv (JKn replicate
# weights as R builds them) and apistrat_values.csv (name, value).
suppressMessages(library(survey))
data(api)
d <- apistrat
d$sch_wide <- as.character(d$sch.wide)
d$comp_imp <- as.character(d$comp.imp)
d$awards <- as.character(d$awards)
d$both <- as.character(d$both)
d$stype <- as.character(d$stype)
d$high <- as.integer(d$api00 > 850)
d <- d[, c("snum", "stype", "pw", "fpc", "api00", "api99", "enroll", "meals",
           "sch_wide", "comp_imp", "awards", "both", "high")]
write.csv(d, "apistrat.csv", row.names = FALSE)

des <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = d, fpc = ~fpc)
jkn <- as.svrepdesign(des, type = "JKn")
rw <- weights(jkn, "analysis")
colnames(rw) <- paste0("rep_", seq_len(ncol(rw)))
write.csv(data.frame(snum = d$snum, rw), "apistrat_jkn_weights.csv", row.names = FALSE)

out <- list()
put <- function(name, x) {
  x <- as.numeric(x)
  if (length(x) == 1) out[[name]] <<- x
  else for (i in seq_along(x)) out[[paste0(name, "[", i, "]")]] <<- x[i]
}

for (kind in c("lin", "jkn")) {
  D <- if (kind == "lin") des else jkn
  p <- function(name, x) put(paste0(kind, ".", name), x)
  p("degf", degf(D))
  if (kind == "jkn") { p("scale", D$scale); p("rscales", D$rscales) }
  m <- svymean(~api00, D, deff = TRUE)
  p("mean_api00", coef(m)); p("mean_api00_se", SE(m)); p("mean_api00_deff", deff(m))
  t <- svytotal(~enroll, D, deff = TRUE)
  p("total_enroll", coef(t)); p("total_enroll_se", SE(t)); p("total_enroll_deff", deff(t))
  mm <- svymean(~api00 + api99, D)
  p("cov_api00_api99", vcov(mm)[1, 2])
  r <- svyratio(~api00, ~api99, D)
  p("ratio", coef(r)); p("ratio_se", SE(r))
  b <- svyby(~api00, ~awards, D, svymean, deff = TRUE)
  p("by_awards_mean", coef(b)); p("by_awards_se", SE(b)); p("by_awards_deff", deff(b))
  bt <- svyby(~enroll, ~comp_imp, D, svytotal)
  p("by_comp_imp_total", coef(bt)); p("by_comp_imp_total_se", SE(bt))
  # domain difference (Yes - No) with covariance kept
  bc <- svyby(~api00, ~awards, D, svymean, covmat = TRUE)
  dc <- svycontrast(bc, c(-1, 1))
  p("diff_awards", coef(dc)); p("diff_awards_se", SE(dc))
  # proportions: a factor's whole distribution
  h <- svymean(~high, D)
  p("mean_high", coef(h)); p("mean_high_se", SE(h))
  f <- svymean(~sch_wide, D)
  p("dist_sch_wide", coef(f)); p("dist_sch_wide_se", SE(f))
  for (meth in c("logit", "beta", "mean", "xlogit")) {
    for (v in c("sch_wide", "high")) {
      fml <- if (v == "sch_wide") ~I(sch_wide == "Yes") else ~I(high == 1)
      ci <- svyciprop(fml, D, method = meth)
      p(paste0("ciprop_", v, "_", meth), c(coef(ci), confint(ci)))
    }
  }
  # svychisq, whole design
  for (stat in c("F", "Chisq")) {
    x <- svychisq(~sch_wide + comp_imp, D, statistic = stat)
    p(paste0("chisq_", stat), c(x$statistic, x$parameter, x$p.value))
    x <- svychisq(~awards + stype, D, statistic = stat)
    p(paste0("chisq3_", stat), c(x$statistic, x$parameter, x$p.value))
  }
  q <- svyquantile(~api00, D, c(0.25, 0.5, 0.9), qrule = "math", ci = TRUE)
  p("quantile_api00", q$api00[, 1]); p("quantile_api00_low", q$api00[, 2])
  p("quantile_api00_high", q$api00[, 3]); p("quantile_api00_se", q$api00[, 4])
}
# domain proportion CIs (non-calibrated linearisation design: subset = domain)
for (meth in c("logit", "beta", "mean", "xlogit")) {
  b <- svyby(~I(sch_wide == "Yes"), ~comp_imp, des, svyciprop, method = meth, vartype = c("se", "ci"))
  put(paste0("lin.by_comp_imp_ciprop_", meth), c(coef(b), SE(b), b$ci_l, b$ci_u, c(sum(d$comp_imp == "No"), sum(d$comp_imp == "Yes"))))
}
put("lin.by_comp_imp_degf", c(degf(subset(des, comp_imp == "No")), degf(subset(des, comp_imp == "Yes"))))
# svychisq within a domain (subset of the linearisation design)
for (stat in c("F", "Chisq")) {
  x <- svychisq(~awards + stype, subset(des, comp_imp == "Yes"), statistic = stat)
  put(paste0("lin.chisq_comp_imp_yes_", stat), c(x$statistic, x$parameter, x$p.value))
}
vals <- data.frame(name = names(out), value = sprintf("%.17g", unlist(out)))
write.csv(vals, "apistrat_values.csv", row.names = FALSE, quote = FALSE)
