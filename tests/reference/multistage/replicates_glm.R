## Replicate designs of a multistage design: R's as.svrepdesign resamples the
## first stage only ("Finite population corrections after first stage have
## been dropped"). JKn is deterministic, so kalib's equals it exactly. And a
## svyglm on the two-stage apiclus2 design (svyrecvar of the estimating
## functions). Run from this folder: Rscript replicates_glm.R (writes
## replicates_glm.json).
suppressMessages(library(survey))
twostage <- read.csv("twostage.csv")
d2 <- svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~N1 + N2, data = twostage,
                nest = TRUE)
r <- suppressWarnings(as.svrepdesign(d2, type = "JKn"))
m <- svymean(~y, r)
b <- svyby(~y, ~dom, r, svymean)
apiclus2 <- read.csv("apiclus2.csv")
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
g <- svyglm(api00 ~ ell, dclus2)
num <- function(x) paste(sprintf("%.17g", x), collapse = ", ")
json <- c(
  "{",
  sprintf('  "r_version": "%s", "survey_version": "%s",', R.version.string,
          as.character(packageVersion("survey"))),
  '  "call": "as.svrepdesign(d2, type = \\"JKn\\")",',
  sprintf('  "mean_y": {"estimate": [%s], "se": [%s]},', num(coef(m)), num(SE(m))),
  sprintf('  "by_dom_mean_y": {"domain": ["a", "b", "c"], "estimate": [%s], "se": [%s]},',
          num(coef(b)), num(SE(b))),
  '  "glm_call": "svyglm(api00 ~ ell, svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2))",',
  sprintf('  "glm": {"coef": [%s], "se": [%s]}', num(coef(g)), num(SE(g))),
  "}")
writeLines(json, "replicates_glm.json")
