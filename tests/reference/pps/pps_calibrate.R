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

make <- function(name, data) switch(name,
  br = svydesign(id = ~1, fpc = ~p, data = data, pps = "brewer"),
  ov = svydesign(id = ~1, fpc = ~p, data = data, pps = "overton"),
  hr = svydesign(id = ~1, fpc = ~p, data = data, pps = HR(psum)),
  ht = svydesign(id = ~1, fpc = ~p, data = data, pps = ppsmat(jointprob)),
  yg = svydesign(id = ~1, fpc = ~p, data = data, pps = ppsmat(jointprob), variance = "YG"))
designs <- sapply(c("br", "ov", "hr", "ht", "yg"), make, data = ep, simplify = FALSE)

## survey 4.1.1's ppsvar() computes the calibration residuals of a "pps"-class design
## (Overton, HR, ppsmat) into a variable it then does not use (fixed in survey 4.4-1), so
## its SEs there ignore the calibration. The same variance by another route, through the
## public API: the uncalibrated design's total of g_i e_i, e_i the residual of the
## influence values z_i on the calibration variables with the base weights (lm), g_i the
## calibration's g-weights: that is sum_i w_i (z_i - x_i' beta), what calibrate()'s
## linearization (and svyrecvar, and survey >= 4.4-1's ppsvar) computes.
route <- function(name, cal, Z) {
  d <- designs[[name]]
  g <- weights(cal) / weights(d)
  e <- as.matrix(resid(lm(Z ~ kerry_won + TotPrecincts, data = ep, weights = weights(d))))
  ge <- as.data.frame(g * e); names(ge) <- paste0("ge", seq_len(ncol(ge)))
  vcov(svytotal(as.formula(paste("~", paste(names(ge), collapse = "+"))),
                make(name, cbind(ep, ge))))
}
out <- character(0)
for (name in names(designs)) {
  cal <- calibrate(designs[[name]], ~kerry_won + TotPrecincts, population)
  by <- svyby(~Bush, ~kerry_won, cal, svytotal)
  w <- weights(cal)
  mean_bush <- sum(w * ep$Bush) / sum(w)
  Z <- cbind(Bush = ep$Bush, Kerry = ep$Kerry, mean_Bush = (ep$Bush - mean_bush) / sum(w),
             no = ep$Bush * (ep$kerry_won == "no"), yes = ep$Bush * (ep$kerry_won == "yes"))
  V <- route(name, cal, Z)
  out <- c(out, sprintf(paste0("\"%s\": {\"weights\": [%s],\n  \"total_bush_kerry\": %s,\n",
                               "  \"mean_bush\": %s,\n  \"by_kerry_won_total_bush\": {\"estimate\": %s, \"se\": %s},\n",
                               "  \"residual_route\": {\"total_bush_kerry_vcov\": %s, \"mean_bush_se\": %s, ",
                               "\"by_kerry_won_total_bush_se\": %s}}"),
                        name, paste(num(weights(cal)), collapse = ", "),
                        stat(svytotal(~Bush + Kerry, cal)), stat(svymean(~Bush, cal)),
                        obj(coef(by)), obj(setNames(SE(by), names(coef(by)))),
                        mat(V[1:2, 1:2]), num(sqrt(V[3, 3])),
                        obj(setNames(sqrt(diag(V)[4:5]), c("no", "yes")))))
}
header <- sprintf(paste0("\"r_version\": \"%s\", \"survey_version\": \"%s\", \"psum\": %s,\n",
                         "\"population\": %s,\n\"call\": \"calibrate(d, ~kerry_won + TotPrecincts, population) ",
                         "with d = svydesign(id = ~1, fpc = ~p, data = election_pps, pps = brewer | overton | ",
                         "HR(psum) | ppsmat(jointprob) | ppsmat(jointprob) with variance = YG)\""),
                  R.version.string, as.character(packageVersion("survey")), num(psum), obj(population))
writeLines(paste0("{", header, ",\n\"results\": {\n", paste(out, collapse = ",\n"), "}}"), "pps_calibrate.json")
cat("wrote pps_calibrate.json\n")
