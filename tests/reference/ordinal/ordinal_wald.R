# Reference values for Wald tests of terms in svyolr fits (R survey's
# regTermTest), for kalib's OrdinalResults.wald_test.  Run from this directory
# after ordinal.R (it reads the data and the converged fits that script wrote):
#     Rscript ordinal_wald.R
# Writes ordinal_wald_reference.json.
suppressPackageStartupMessages(library(survey))
library(jsonlite)
options(digits = 17)

ref <- fromJSON("ordinal_reference.json", simplifyVector = TRUE)
est <- read.csv("ordinal_establishments.csv", stringsAsFactors = FALSE)
est$sector <- factor(est$sector, levels = c("private", "public"))
est$size <- factor(est$size, levels = c("small", "medium", "large"))
est$z <- factor(est$z, levels = 1:5, ordered = TRUE)
api <- read.csv("ordinal_apistrat.csv", stringsAsFactors = FALSE)
api$stype <- factor(api$stype)
api$api_cls <- factor(api$api_cls, levels = 1:4, ordered = TRUE)
fac <- function(v) factor(v, levels = v)
pop_sector <- read.csv("ordinal_margin_sector.csv"); pop_sector$sector <- fac(pop_sector$sector)
pop_size <- read.csv("ordinal_margin_size.csv"); pop_size$size <- fac(pop_size$size)

d <- svydesign(id = ~1, strata = ~stratum, weights = ~basew, fpc = ~N_h, data = est)
d_rake <- calibrate(d, list(~sector, ~size), list(pop_sector, pop_size), calfun = "raking",
                    epsilon = 1e-13, maxit = 1000)
dapi <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = api)

# svyolr started at the converged root (svyolr's internal scale: beta, zeta_1,
# log-gaps), fitted at top level: regTermTest re-evaluates the fit's call to
# get its model matrix, so the design must be a global name.
start_at <- function(case, p) {
  co <- unlist(ref[[case]]$coef_all); z <- co[-seq_len(p)]
  c(co[seq_len(p)], z[1], log(diff(z)))
}
ctl <- list(reltol = 1e-15, maxit = 10000)
fz <- z ~ sector + size + trainee
fa <- svyolr(fz, d, start = start_at("a_strat_logistic", 4), control = ctl)
fb <- svyolr(fz, d_rake, start = start_at("b_raked_logistic", 4), control = ctl)
fe <- svyolr(api_cls ~ stype + ell, dapi, method = "probit",
             start = start_at("e_apistrat_probit", 3), control = ctl)

# regTermTest (R's vcov: finite-difference Hessian) and the same F with the
# exact-Hessian sandwich stored by ordinal.R (what kalib computes)
tests <- function(fit, case, terms) {
  V <- ref[[case]]$vcov_exact_hessian$matrix
  nm <- names(coef(fit)); dimnames(V) <- list(nm, nm)
  assign <- attr(model.matrix(fit), "assign")[-1]      # without the intercept column
  lapply(setNames(terms, terms), function(tt) {
    parts <- strsplit(tt, " \\+ ")[[1]]
    r <- regTermTest(fit, as.formula(paste("~", tt)))
    idx <- which(assign %in% match(parts, attr(terms(fit), "term.labels")))
    b <- coef(fit)[idx]
    F_exact <- drop(t(b) %*% solve(V[idx, idx], b)) / length(idx)
    list(terms = parts, columns = nm[idx],
         F_regTermTest = drop(r$Ftest), df = r$df, ddf = r$ddf, p_regTermTest = drop(r$p),
         F_exact_hessian = F_exact,
         p_exact_hessian = pf(F_exact, length(idx), r$ddf, lower.tail = FALSE))
  })
}

out <- list(
  R_version = R.version.string, survey_version = as.character(packageVersion("survey")),
  note = paste("regTermTest(fit, ~terms) on svyolr fits started at the converged root;",
               "F_exact_hessian/p_exact_hessian: the same Wald F with ordinal.R's",
               "vcov_exact_hessian (R's vcov uses a finite-difference Hessian)"),
  a_strat_logistic = tests(fa, "a_strat_logistic", c("sector", "size", "trainee", "sector + size")),
  b_raked_logistic = tests(fb, "b_raked_logistic", c("size", "sector + trainee")),
  e_apistrat_probit = tests(fe, "e_apistrat_probit", c("stype", "ell")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "ordinal_wald_reference.json")
cat("done\n")
