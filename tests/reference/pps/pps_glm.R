# svyglm on PPS designs without replacement (election_pps): R reference values for kalib
# (issue 19, item 2). Run from this directory after pps.R (it reads the CSVs pps.R wrote):
#     Rscript pps_glm.R
# Needs R with the 'survey' package; writes pps_glm.json (doubles as %.17g).
# This script only calls R's survey package; it contains none of its code.
suppressPackageStartupMessages(library(survey))
num <- function(x) sprintf("%.17g", x)
arr <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")

ep <- read.csv("election_pps.csv", stringsAsFactors = TRUE, na.strings = "")
jointprob <- unname(as.matrix(read.csv("election_jointprob.csv")))
data(election)
psum <- sum(election$p^2) / 40     # as in pps.R and ?election
designs <- list(
  br = svydesign(id = ~1, fpc = ~p, data = ep, pps = "brewer"),
  ov = svydesign(id = ~1, fpc = ~p, data = ep, pps = "overton"),
  hr = svydesign(id = ~1, fpc = ~p, data = ep, pps = HR(psum)),
  ht = svydesign(id = ~1, fpc = ~p, data = ep, pps = ppsmat(jointprob)),
  yg = svydesign(id = ~1, fpc = ~p, data = ep, pps = ppsmat(jointprob), variance = "YG"))
fit <- function(m) sprintf("{\"coef\": %s, \"se\": %s}", arr(coef(m)), arr(sqrt(diag(vcov(m)))))
out <- vapply(names(designs), function(name) {
  d <- designs[[name]]
  gaussian <- svyglm(Kerry ~ Bush, design = d)
  # converged far beyond glm's default so that kalib's fit can be compared at 1e-7
  logistic <- svyglm(I(kerry_won == "yes") ~ TotPrecincts, design = d, family = quasibinomial,
                     control = glm.control(epsilon = 1e-12, maxit = 100))
  sprintf("\"%s\": {\"gaussian\": %s, \"quasibinomial\": %s}", name, fit(gaussian), fit(logistic))
}, "")
writeLines(paste0(
  "{\"r_version\": \"", R.version.string, "\", \"survey_version\": \"",
  as.character(packageVersion("survey")), "\",\n",
  "\"calls\": [\"svyglm(Kerry ~ Bush, design = d)\", ",
  "\"svyglm(I(kerry_won == 'yes') ~ TotPrecincts, design = d, family = quasibinomial, ",
  "control = glm.control(epsilon = 1e-12, maxit = 100))\"],\n",
  "\"designs\": \"br, ov, hr, ht, yg as in pps_calibrate.R\",\n",
  "\"results\": {\n", paste(out, collapse = ",\n"), "}}"), "pps_glm.json")
cat("wrote pps_glm.json\n")
