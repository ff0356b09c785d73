# Reference calibrated weights from R survey's calibrate(), run to tight
# convergence (epsilon = 1e-12), for kalib's tests (tests/test_calibrate_reference.py).
#
#   cd tests/reference/calibrate && Rscript calibrate_reference.R
#
# (a) the ?rake example: apiclus1, one-stage cluster design, margins stype and
#     sch.wide; bounds (0.5, 1.8).
# (b) business_sample.csv (made by make_business_sample.py): stratified
#     business sample with a sector x size margin and a NACE-section margin.
# Distances: raking, linear (unbounded: GREG), logit (0.5, 1.8), truncated =
# linear with bounds, raking with bounds; bounds (0.5, 1.8) for (a), (0.8, 1.2)
# for (b) (where they bind).
# Writes <dataset>_weights.csv: id plus one column of weights per distance, and
# apiclus1_numeric_weights.csv (a numeric total of enroll = 3575000 as well).
suppressMessages(library(survey))
options(digits = 17)

fits <- function(design, formula, population, bounds) {
  cal <- function(calfun, bounds = c(-Inf, Inf)) {
    d <- calibrate(design, formula, population, calfun = calfun, bounds = bounds,
                   epsilon = 1e-12, maxit = 1000)
    weights(d)
  }
  data.frame(
    raking = cal("raking"),
    linear = cal("linear"),
    logit = cal("logit", bounds),
    truncated = cal("linear", bounds),
    raking_bounded = cal("raking", bounds)
  )
}

write_weights <- function(id, w, file) {
  out <- data.frame(id = id, w)
  out[-1] <- lapply(out[-1], function(x) sprintf("%.17g", x))
  write.csv(out, file, row.names = FALSE, quote = FALSE)
}

# (a) apiclus1, as in ?rake
data(api)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
api <- fits(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide), c(0.5, 1.8))
apiclus1$id <- seq_len(nrow(apiclus1))
write.csv(apiclus1[, c("id", "dnum", "stype", "sch.wide", "enroll", "pw", "fpc")],
          "apiclus1.csv", row.names = FALSE, quote = FALSE)
write_weights(apiclus1$id, api, "apiclus1_weights.csv")

# (a') apiclus1 with a numeric total (enrolment, 5% above its estimate) beside
#      the two categorical margins, for every distance.
enroll.total <- 3575000
pop.numeric <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122,
                 enroll = enroll.total)
numeric_fit <- function(calfun, bounds = c(-Inf, Inf)) {
  weights(calibrate(dclus1, ~stype + sch.wide + enroll, pop.numeric, calfun = calfun,
                    bounds = bounds, epsilon = 1e-12, maxit = 1000))
}
write_weights(apiclus1$id,
              data.frame(raking = numeric_fit("raking"),
                         raking_bounded = numeric_fit("raking", c(0.5, 1.8)),
                         linear = numeric_fit("linear"),
                         logit = numeric_fit("logit", c(0.5, 1.8)),
                         truncated = numeric_fit("linear", c(0.5, 1.8))),
              "apiclus1_numeric_weights.csv")

# (b) the business sample: sector x size margin and NACE margin
biz <- read.csv("business_sample.csv", colClasses = c(id = "integer", w = "numeric",
                                                      sector = "character",
                                                      size_class = "character",
                                                      nace = "character"))
biz$stratum <- paste(biz$sector, biz$size_class, sep = ":")
dbiz <- svydesign(id = ~1, strata = ~stratum, weights = ~w, data = biz)
cross <- read.csv("business_sector_size.csv", colClasses = "character")
cross$stratum <- paste(cross$sector, cross$size_class, sep = ":")
pop.cross <- data.frame(stratum = cross$stratum, Freq = as.numeric(cross$total))
nace <- read.csv("business_nace.csv", colClasses = "character")
pop.nace <- data.frame(nace = nace$nace, Freq = as.numeric(nace$total))
bizw <- fits(dbiz, list(~stratum, ~nace), list(pop.cross, pop.nace), c(0.8, 1.2))
write_weights(biz$id, bizw, "business_weights.csv")
