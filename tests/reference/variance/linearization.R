# Reference values for kalib's linearization variance (tests/test_variance_linearization.py).
# Run from this directory: Rscript linearization.R   (R 4.1, survey 4.1.1)
# Writes: apistrat.csv, apiclus1.csv, business.csv (the samples) and
#         linearization.csv (estimate, se per case).
suppressMessages(library(survey))
options(digits = 17, survey.lonely.psu = "fail")
data(api)

keep <- c("cds", "stype", "sch.wide", "dnum", "snum", "pw", "fpc", "api00", "api99", "enroll", "comp.imp", "both")
apistrat_out <- apistrat[, keep]
apiclus1_out <- apiclus1[, keep]
write.csv(apistrat_out, "apistrat.csv", row.names = FALSE)
write.csv(apiclus1_out, "apiclus1.csv", row.names = FALSE)

# A stratified business sample: strata sector x size (8), NACE sections (12),
# base weights N_h / n_h, five binary outcomes.
set.seed(20170602)
sectors <- c("private", "public"); sizes <- c("1-4", "5-19", "20-49", "50+")
nace <- LETTERS[c(1:8, 10:13)]
strata <- expand.grid(size = sizes, sector = sectors, stringsAsFactors = FALSE)
strata$N <- c(60000, 30000, 8000, 4000, 3000, 4000, 2500, 2000)
strata$n <- c(180, 170, 150, 140, 60, 80, 70, 60)
rows <- list()
for (h in seq_len(nrow(strata))) {
  nh <- strata$n[h]
  p <- if (strata$sector[h] == "public") c(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 8, 10) else c(3, 1, 8, 2, 2, 10, 6, 5, 4, 3, 2, 3)
  rows[[h]] <- data.frame(sector = strata$sector[h], size_class = strata$size[h],
                          nace = sample(nace, nh, replace = TRUE, prob = p),
                          w = strata$N[h] / nh, N_h = strata$N[h], stringsAsFactors = FALSE)
}
business <- do.call(rbind, rows)
business$nace[seq(1, by = 41, length.out = length(nace))] <- nace  # every section present
business$id <- seq_len(nrow(business))
business$stratum <- paste(business$sector, business$size_class, sep = ":")
sz <- match(business$size_class, sizes)
for (j in 1:5) business[[paste0("y", j)]] <- rbinom(nrow(business), 1, plogis(-1 + 0.3 * sz + 0.2 * j * (business$sector == "public")))
business$x <- round(rlnorm(nrow(business), 2 + sz / 2), 2)
write.csv(business, "business.csv", row.names = FALSE)

# Population margins: sector x size (the stratum sizes) and NACE (a made-up
# register distribution with the same grand total).
nace_totals <- round(sum(strata$N) * c(3, 1, 8, 2, 2, 10, 6, 5, 4, 3, 5, 6) / 55)
nace_totals[12] <- sum(strata$N) - sum(nace_totals[1:11])
write.csv(data.frame(sector = strata$sector, size_class = strata$size, total = strata$N),
          "business_margin_sector_size.csv", row.names = FALSE)
write.csv(data.frame(nace = nace, total = nace_totals), "business_margin_nace.csv", row.names = FALSE)
business$cell <- factor(business$stratum, levels = paste(strata$sector, strata$size, sep = ":"))
business$nacef <- factor(business$nace, levels = nace)
pop_business <- c(`(Intercept)` = sum(strata$N), setNames(strata$N[-1], paste0("cell", levels(business$cell)[-1])),
                  setNames(nace_totals[-1], paste0("nacef", nace[-1])))

out <- list()
record <- function(case, what, domain, est) {
  v <- as.matrix(vcov(est)); e <- coef(est)
  out[[length(out) + 1]] <<- data.frame(case = case, what = what, domain = domain,
                                        name = names(e), estimate = unname(e), se = sqrt(diag(v)))
}

# 1. apistrat, stratified, with and without fpc: totals and means, domain means.
for (withfpc in c(TRUE, FALSE)) {
  d <- if (withfpc) svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
       else svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
  case <- paste0("apistrat_", if (withfpc) "fpc" else "nofpc")
  record(case, "total", "all", svytotal(~api00 + enroll, d))
  record(case, "mean", "all", svymean(~api00 + enroll, d))
  dm <- svyby(~api00, ~sch.wide, d, svymean)
  out[[length(out) + 1]] <- data.frame(case = case, what = "mean", domain = "sch.wide",
                                       name = as.character(dm$sch.wide), estimate = dm$api00, se = SE(dm))
  # 2. calibrated (raking) on stype and sch.wide
  dc <- calibrate(d, ~stype + sch.wide, population = c(6194, 755, 1018, 5122 - 0), calfun = "raking", epsilon = 1e-12, maxit = 200)
  case <- paste0("apistrat_rake_", if (withfpc) "fpc" else "nofpc")
  record(case, "total", "all", svytotal(~api00 + enroll, dc))
  record(case, "mean", "all", svymean(~api00 + enroll, dc))
  dm <- svyby(~api00, ~both, dc, svymean)
  out[[length(out) + 1]] <- data.frame(case = case, what = "mean", domain = "both",
                                       name = as.character(dm$both), estimate = dm$api00, se = SE(dm))
}

# 3. apiclus1 (clusters dnum), with and without fpc, uncalibrated and raked (?rake margins).
for (withfpc in c(TRUE, FALSE)) {
  d <- if (withfpc) svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
       else svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
  tag <- if (withfpc) "fpc" else "nofpc"
  record(paste0("apiclus1_", tag), "total", "all", svytotal(~api00 + enroll, d))
  record(paste0("apiclus1_", tag), "mean", "all", svymean(~api00 + enroll, d))
  dc <- calibrate(d, ~stype + sch.wide, population = c(6194, 755, 1018, 5122), calfun = "raking", epsilon = 1e-12, maxit = 200)
  case <- paste0("apiclus1_rake_", tag)
  record(case, "total", "all", svytotal(~api00 + enroll, dc))
  record(case, "mean", "all", svymean(~api00 + enroll, dc))
  dm <- svyby(~api00, ~stype, dc, svymean)
  out[[length(out) + 1]] <- data.frame(case = case, what = "mean", domain = "stype",
                                       name = as.character(dm$stype), estimate = dm$api00, se = SE(dm))
}

# 4. business sample, strata sector x size, raked to sector x size and NACE.
for (withfpc in c(TRUE, FALSE)) {
  d <- if (withfpc) svydesign(id = ~1, strata = ~stratum, weights = ~w, fpc = ~N_h, data = business)
       else svydesign(id = ~1, strata = ~stratum, weights = ~w, data = business)
  tag <- if (withfpc) "fpc" else "nofpc"
  dc <- calibrate(d, ~cell + nacef, population = pop_business, calfun = "raking", epsilon = 1e-12, maxit = 200)
  case <- paste0("business_rake_", tag)
  record(case, "mean", "all", svymean(~y1 + y2 + y3 + y4 + y5 + x, dc))
  record(case, "total", "all", svytotal(~y1 + x, dc))
  for (by in c("sector", "size_class")) {
    dm <- svyby(~y1, as.formula(paste0("~", by)), dc, svymean)
    out[[length(out) + 1]] <- data.frame(case = case, what = "mean", domain = by,
                                         name = as.character(dm[[by]]), estimate = dm$y1, se = SE(dm))
  }
}

res <- do.call(rbind, out)
write.csv(res, "linearization.csv", row.names = FALSE)
cat("wrote", nrow(res), "rows\n")
