# Stratified PPS designs without replacement (election_pps stratified by kerry_won):
# R reference values for kalib (issue 19, item 2). Run from this directory after pps.R:
#     Rscript pps_strata.R
# Needs R with the 'survey' package; writes pps_strata.json (doubles as %.17g).
# This script only calls R's survey package; it contains none of its code.
suppressPackageStartupMessages(library(survey))
num <- function(x) sprintf("%.17g", x)
arr <- function(x) paste0("[", paste(num(x), collapse = ", "), "]")
mat <- function(m) paste0("[", paste(apply(m, 1, arr), collapse = ", "), "]")

ep <- read.csv("election_pps.csv", stringsAsFactors = TRUE, na.strings = "")
jointprob <- unname(as.matrix(read.csv("election_jointprob.csv")))
# numeric stratum codes: R's Overton and HR approximations fail on factor strata
# ("only matrix diagonals can be replaced"); the same strata as kerry_won
ep$stratum <- ifelse(ep$kerry_won == "yes", 2, 1)
designs <- list(
  br = svydesign(id = ~1, strata = ~stratum, fpc = ~p, data = ep, pps = "brewer"),
  ov = svydesign(id = ~1, strata = ~stratum, fpc = ~p, data = ep, pps = "overton"),
  hr1 = svydesign(id = ~1, strata = ~stratum, fpc = ~p, data = ep, pps = HR()),
  hryg = svydesign(id = ~1, strata = ~stratum, fpc = ~p, data = ep, pps = HR(), variance = "YG"),
  ht = svydesign(id = ~1, strata = ~stratum, fpc = ~p, data = ep, pps = ppsmat(jointprob)))
out <- vapply(names(designs), function(name) {
  d <- designs[[name]]
  tot <- svytotal(~Bush + Kerry, d)
  m <- svymean(~Bush, d)
  sprintf("\"%s\": {\"degf\": %d, \"total_bush_kerry\": {\"estimate\": %s, \"vcov\": %s}, \"mean_bush\": {\"estimate\": %s, \"se\": %s}}",
          name, degf(d), arr(coef(tot)), mat(as.matrix(vcov(tot))), num(coef(m)), num(SE(m)))
}, "")
writeLines(paste0(
  "{\"r_version\": \"", R.version.string, "\", \"survey_version\": \"",
  as.character(packageVersion("survey")), "\",\n",
  "\"designs\": \"svydesign(id = ~1, strata = ~stratum (kerry_won no = 1, yes = 2), fpc = ~p, data = election_pps, ",
  "pps = 'brewer' (br) | 'overton' (ov) | HR() (hr1; hryg with variance = 'YG') | ",
  "ppsmat(jointprob) (ht))\",\n",
  "\"calls\": [\"svytotal(~Bush + Kerry, d)\", \"svymean(~Bush, d)\"],\n",
  "\"results\": {\n", paste(out, collapse = ",\n"), "}}"), "pps_strata.json")
cat("wrote pps_strata.json\n")
