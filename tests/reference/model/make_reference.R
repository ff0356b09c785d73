# Reference values for kalib's design-based GLMs (estimators/model), from
# R survey's svyglm and regTermTest.  Run from this directory:
#     Rscript make_reference.R
# Writes the data the Python side fits (api*.csv, jkn_*.csv, population
# margins) and the values it must reproduce (svyglm_reference.json).
# glm's convergence is tightened (epsilon 1e-13) so the stored values are the
# converged estimates, not glm's default stopping point.
suppressPackageStartupMessages(library(survey))
library(jsonlite)
data(api)
options(digits = 17)
ctl <- glm.control(epsilon = 1e-13, maxit = 200)

keep <- c("snum", "dnum", "stype", "sch.wide", "comp.imp", "api00", "ell", "meals",
          "mobility", "enroll", "acs.k3", "pw", "fpc")
export <- function(df, file) {
  out <- df[, keep]
  names(out) <- gsub(".", "_", names(out), fixed = TRUE)
  write.csv(out, file, row.names = FALSE)
}
export(apistrat, "apistrat.csv")
export(apiclus1, "apiclus1.csv")

# Population margins for raking (kalib margin-file layout: category column(s) + total).
pop_stype <- as.data.frame(table(stype = apipop$stype), responseName = "total")
pop_comp <- as.data.frame(table(comp_imp = apipop$comp.imp), responseName = "total")
write.csv(pop_stype, "margin_stype.csv", row.names = FALSE)
write.csv(pop_comp, "margin_comp_imp.csv", row.names = FALSE)
pop_totals <- c(`(Intercept)` = nrow(apipop),
                stypeH = sum(apipop$stype == "H"), stypeM = sum(apipop$stype == "M"),
                comp.impYes = sum(apipop$comp.imp == "Yes"))

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dstrat_cal <- calibrate(dstrat, ~stype + comp.imp, pop_totals, calfun = "raking",
                        epsilon = 1e-12, maxit = 200)
# Stratified cluster sample (districts within school types, no fpc), raked.
dstratclus_cal <- calibrate(svydesign(id = ~dnum, strata = ~stype, weights = ~pw,
                                      data = apistrat, nest = TRUE),
                            ~stype + comp.imp, pop_totals, calfun = "raking",
                            epsilon = 1e-12, maxit = 200)
djkn <- as.svrepdesign(dstrat, type = "JKn")
djkn_cal <- calibrate(djkn, ~stype + comp.imp, pop_totals, calfun = "raking",
                      epsilon = 1e-12, maxit = 200)

# Replicate (analysis) weights of the calibrated JKn design, for the Python side.
rw <- weights(djkn_cal, "analysis")
colnames(rw) <- paste0("rep_", seq_len(ncol(rw)))
write.csv(data.frame(snum = apistrat$snum, weight = weights(djkn_cal, "sampling"), rw),
          "jkn_calibrated_weights.csv", row.names = FALSE)
writeLines(toJSON(list(method = "JKn", scale = djkn_cal$scale, rscales = djkn_cal$rscales,
                       mse = djkn_cal$mse, degf = degf(djkn_cal)),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "jkn_calibrated_weights.json")

# R coefficient names -> patsy names.
patsy_names <- function(nm) {
  nm <- sub("^\\(Intercept\\)$", "Intercept", nm)
  nm <- gsub(".", "_", nm, fixed = TRUE)  # R's acs.k3 is acs_k3 in the CSV
  nm <- sub("^stype([EHM])$", "stype[T.\\1]", nm)
  nm
}
term_test <- function(model, terms) {
  tt <- regTermTest(model, terms)
  list(terms = patsy_names(attr(terms(terms), "term.labels")), F = unname(drop(tt$Ftest)),
       df = tt$df, ddf = tt$ddf, p = unname(drop(tt$p)))
}
# One fitted svyglm as the Python side describes it. `subset` is the Python
# expression of the rows R's subset= kept (NULL: all rows).
describe <- function(name, design_name, data, m, py_formula, tests, subset = NULL) {
  ci <- confint(m)
  list(name = name, design = design_name, data = data, formula = py_formula,
       subset = subset, family = m$family$family, terms = patsy_names(names(coef(m))),
       coef = unname(coef(m)), vcov = unname(vcov(m)), se = unname(SE(m)),
       df = m$df.residual, ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]),
       p = unname(summary(m)$coefficients[, 4]),
       term_tests = lapply(tests, function(t) term_test(m, t)))
}
record <- function(name, design, data, r_formula, py_formula, family, tests) {
  m <- svyglm(r_formula, design, family = family, control = ctl)
  describe(name, design_name, data, m, py_formula, tests)
}

lin_r <- api00 ~ ell + meals + mobility
lin_py <- "api00 ~ ell + meals + mobility"
logit_r <- sch.wide ~ ell + meals + mobility + stype
logit_py <- "I(sch_wide == 'Yes') ~ ell + meals + mobility + stype"
pois_r <- enroll ~ ell + meals + stype
pois_py <- "enroll ~ ell + meals + stype"

models <- list()
for (design_name in c("strat", "strat_calibrated", "jkn_calibrated",
                      "stratclus_calibrated")) {
  design <- switch(design_name, strat = dstrat, strat_calibrated = dstrat_cal,
                   jkn_calibrated = djkn_cal, stratclus_calibrated = dstratclus_cal)
  models[[length(models) + 1]] <- record(paste0(design_name, "_linear"), design, "apistrat",
                                         lin_r, lin_py, gaussian(), list(~ell + meals, ~mobility))
  models[[length(models) + 1]] <- record(paste0(design_name, "_logistic"), design, "apistrat",
                                         logit_r, logit_py, quasibinomial(),
                                         list(~stype, ~ell + mobility))
  models[[length(models) + 1]] <- record(paste0(design_name, "_poisson"), design, "apistrat",
                                         pois_r, pois_py, quasipoisson(), list(~stype))
}
# Domains: rows with a missing variable (acs.k3, only elementary schools have
# it: 103 of 200 missing) and a subset are left out of the fit but stay in the
# design; the df follow R's rules for each design type.
for (design_name in c("strat", "jkn_calibrated")) {
  design <- switch(design_name, strat = dstrat, jkn_calibrated = djkn_cal)
  models[[length(models) + 1]] <- record(paste0(design_name, "_missing_linear"), design,
                                         "apistrat", api00 ~ acs.k3 + meals,
                                         "api00 ~ acs_k3 + meals", gaussian(), list(~acs.k3))
  sub <- svyglm(sch.wide ~ ell + meals, design, family = quasibinomial(), control = ctl,
                subset = stype != "E")
  models[[length(models) + 1]] <- describe(paste0(design_name, "_subset_logistic"),
                                           design_name, "apistrat", sub,
                                           "I(sch_wide == 'Yes') ~ ell + meals",
                                           list(~ell + meals), subset = "stype != 'E'")
}
design_name <- "clus1"
models[[length(models) + 1]] <- record("clus1_logistic", dclus1, "apiclus1",
                                       sch.wide ~ ell + meals + stype,
                                       "I(sch_wide == 'Yes') ~ ell + meals + stype",
                                       quasibinomial(), list(~stype))
models[[length(models) + 1]] <- record("clus1_linear", dclus1, "apiclus1", lin_r, lin_py,
                                       gaussian(), list(~ell + meals))

# Predictive margins of stype. Point estimates: svypredmeans (its variance
# drops the covariance of its two parts, so only the estimates are compared).
# Saturated model: the margins are the domain proportions, so their SEs are
# svyby's, on the linearized and on the replicate design.
adj <- svyglm(sch.wide ~ ell + meals + mobility, dstrat, family = quasibinomial(),
              control = ctl)
pm <- svypredmeans(adj, ~stype)
dom <- function(design) {
  design <- update(design, yes = as.numeric(sch.wide == "Yes"))
  s <- svyby(~yes, ~stype, design, svymean)
  list(levels = as.character(s$stype), estimate = unname(coef(s)), se = unname(SE(s)))
}
margins <- list(
  adjusted = list(design = "strat", formula = logit_py, variable = "stype",
                  levels = names(coef(pm)), estimate = unname(coef(pm))),
  saturated_strat = c(list(design = "strat", formula = "I(sch_wide == 'Yes') ~ stype",
                           variable = "stype"), dom(dstrat)),
  saturated_jkn_calibrated = c(list(design = "jkn_calibrated",
                                    formula = "I(sch_wide == 'Yes') ~ stype",
                                    variable = "stype"), dom(djkn_cal)))

writeLines(toJSON(list(r_version = R.version.string,
                       survey_version = as.character(packageVersion("survey")),
                       models = models, margins = margins),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "svyglm_reference.json")
