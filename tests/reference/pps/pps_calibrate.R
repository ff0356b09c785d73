# PPS without replacement, calibrated: election_pps calibrated to kerry_won counts and the
# total of TotPrecincts, on the Brewer, Overton, Hartley-Rao and ppsmat (HT, YG) designs.
# R reference values for kalib (issue 19, item 2: calibration on top of a PPS design).
# Run from this directory after pps.R (it reads the CSVs pps.R wrote):
#     Rscript pps_calibrate.R
# Needs R with the 'survey' package; writes pps_calibrate.json (doubles as %.17g).
# This script only calls R's survey package; it contains none of its code.
suppressPackageStartupMessages(library(survey))
num <- function(x) sprintf("%.17g", x)
obj <- function(x) paste0("{", paste(sprintf("\"%s\": %s", names(x), num(x)), collapse = ", "), "}")
mat <- function(m) paste0("[", paste(apply(m, 1, function(r) paste0("[", paste(num(r), collapse = ", "), "]")), collapse = ", "), "]")
stat <- function(s) sprintf("{\"estimate\": %s, \"se\": %s, \"vcov\": %s}",
                            obj(coef(s)), obj(setNames(sqrt(diag(as.matrix(vcov(s)))), names(coef(s)))),
                            mat(as.matrix(vcov(s))))

ep <- read.csv("election_pps.csv", stringsAsFactors = TRUE, na.strings = "")
jointprob <- unname(as.matrix(read.csv("election_jointprob.csv")))
data(election)
psum <- sum(election$p^2) / 40     # as in pps.R and ?election
# population totals: kerry_won counties and the total of TotPrecincts (made up, near the estimates)
population <- c(`(Intercept)` = 12000, kerry_wonyes = 3000, TotPrecincts = 200000)

designs <- list(
  br = svydesign(id = ~1, fpc = ~p, data = ep, pps = "brewer"),
  ov = svydesign(id = ~1, fpc = ~p, data = ep, pps = "overton"),
  hr = svydesign(id = ~1, fpc = ~p, data = ep, pps = HR(psum)),
  ht = svydesign(id = ~1, fpc = ~p, data = ep, pps = ppsmat(jointprob)),
  yg = svydesign(id = ~1, fpc = ~p, data = ep, pps = ppsmat(jointprob), variance = "YG"))

out <- character(0)
for (name in names(designs)) {
  cal <- calibrate(designs[[name]], ~kerry_won + TotPrecincts, population)
  by <- svyby(~Bush, ~kerry_won, cal, svytotal)
  out <- c(out, sprintf(paste0("\"%s\": {\"weights\": [%s],\n  \"total_bush_kerry\": %s,\n",
                               "  \"mean_bush\": %s,\n  \"by_kerry_won_total_bush\": {\"estimate\": %s, \"se\": %s}}"),
                        name, paste(num(weights(cal)), collapse = ", "),
                        stat(svytotal(~Bush + Kerry, cal)), stat(svymean(~Bush, cal)),
                        obj(coef(by)), obj(setNames(SE(by), names(coef(by))))))
}
header <- sprintf(paste0("\"r_version\": \"%s\", \"survey_version\": \"%s\", \"psum\": %s,\n",
                         "\"population\": %s,\n\"call\": \"calibrate(d, ~kerry_won + TotPrecincts, population) ",
                         "with d = svydesign(id = ~1, fpc = ~p, data = election_pps, pps = brewer | overton | ",
                         "HR(psum) | ppsmat(jointprob) | ppsmat(jointprob) with variance = YG)\""),
                  R.version.string, as.character(packageVersion("survey")), num(psum), obj(population))
writeLines(paste0("{", header, ",\n\"results\": {\n", paste(out, collapse = ",\n"), "}}"), "pps_calibrate.json")
cat("wrote pps_calibrate.json\n")
