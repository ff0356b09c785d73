# svyciprop(method = "likelihood") on a converged fit: R's own algorithm
# (confint.svyglm(method = "likelihood"), as svyciprop calls it) with the
# intercept-only quasibinomial svyglm iterated until its coefficient stops
# changing.  svyciprop's glm stops at glm's default tolerance (1e-8 on the
# deviance), and its model-based variance -- hence the design effect that scales
# the profile -- comes from the IRLS weights of the iteration before the last,
# which moves its interval by ~1e-6 relative; these values isolate that.
# Run from this directory:   Rscript ciprop_likelihood.R   (R + survey only)
suppressPackageStartupMessages(library(survey))
options(digits = 17)
num <- function(x) if (is.na(x)) "NaN" else sprintf("%.17g", x)
obj <- function(v) paste0("{", paste(sprintf("\"%s\": %s", names(v), v), collapse = ", "), "}")
ctl <- glm.control(epsilon = 1e-20, maxit = 100)   # stops when the deviance stops changing
likelihood_ci <- function(design, level = 0.95, df = degf(design)) {
  m <- suppressWarnings(svyglm(I(sch_wide == "Yes") ~ 1, design, family = quasibinomial(),
                               control = ctl))
  ci <- survey:::expit(confint(m, 1, level = level, method = "likelihood", ddf = df))
  c(estimate = num(survey:::expit(coef(m))[[1]]), low = num(ci[[1]]), high = num(ci[[2]]),
    lambda = num(diag(m$cov.unscaled) / diag(m$naive.cov)))
}
read <- function(f) read.csv(f, stringsAsFactors = TRUE)
designs <- list(
  dstrat = svydesign(id = ~1, strata = ~stype, weights = ~pw, data = read("apistrat.csv"), fpc = ~fpc),
  dclus1 = svydesign(id = ~dnum, weights = ~pw, data = read("apiclus1.csv"), fpc = ~fpc),
  dclus2 = svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = read("apiclus2.csv")))
out <- c()
for (d in names(designs)) {
  des <- designs[[d]]
  parts <- c(
    sprintf("\"overall\": %s", obj(likelihood_ci(des))),
    sprintf("\"overall_level90\": %s", obj(likelihood_ci(des, level = 0.90))),
    sprintf("\"overall_dfInf\": %s", obj(likelihood_ci(des, df = Inf))),
    vapply(c("E", "H", "M"), function(s)
      sprintf("\"subset_%s\": %s", s, obj(likelihood_ci(subset(des, stype == s)))), ""))
  out <- c(out, sprintf("\"%s\": {\n    %s\n  }", d, paste(parts, collapse = ",\n    ")))
}
head <- sprintf("\"r_version\": \"%s\", \"survey_version\": \"%s\"", R.version.string,
                as.character(packageVersion("survey")))
writeLines(paste0("{\n  ", head, ",\n  ", paste(out, collapse = ",\n  "), "\n}"),
           "ciprop_likelihood.json")
cat("wrote ciprop_likelihood.json\n")
