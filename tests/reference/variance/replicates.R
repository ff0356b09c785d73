# Reference values for kalib's re-calibrated replicate variance
# (tests/test_replicate_reference.py): JKn and JK1, each replicate re-raked.
# Run from this directory after linearization.R (which writes the samples):
# Rscript replicates.R; the bootstrap values come from bootstrap.R.
# R 4.1, survey 4.1.1. Writes replicates.csv (case, domain, name, estimate, se).
source("common.R")

# 1. JKn re-raked, business sample (strata sector x size), with and without fpc.
for (withfpc in c(FALSE, TRUE)) {
  d <- if (withfpc) svydesign(id = ~1, strata = ~stratum, weights = ~w, fpc = ~N_h, data = business)
       else svydesign(id = ~1, strata = ~stratum, weights = ~w, data = business)
  rd <- calibrate(as.svrepdesign(d, type = "JKn"), ~cell + nacef, population = pop_business,
                  calfun = "raking", epsilon = 1e-12, maxit = 200)
  business_estimates(paste0("business_jkn_", if (withfpc) "fpc" else "nofpc"), rd)
  cat("JKn", if (withfpc) "fpc" else "nofpc", "done at", proc.time()[["elapsed"]], "s\n")
}

# 2. JK1 re-raked, apiclus1 (clusters dnum) with fpc and without: the ?rake margins.
for (withfpc in c(TRUE, FALSE)) {
  d <- if (withfpc) svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
       else svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
  rd <- calibrate(as.svrepdesign(d, type = "JK1"), ~stype + sch.wide, population = pop_api,
                  calfun = "raking", epsilon = 1e-12, maxit = 200)
  case <- paste0("apiclus1_jk1_", if (withfpc) "fpc" else "nofpc")
  add(case, "all", svymean(~api00 + enroll, rd))
  add(case, "all_total", svytotal(~api00 + enroll, rd))
  est <- svyby(~api00, ~stype, rd, svymean)
  out[[length(out) + 1]] <- data.frame(case = case, domain = "stype", name = paste("api00", est$stype, sep = "|"),
                                       estimate = est$api00, se = SE(est))
}

res <- do.call(rbind, out)
write.csv(res, "replicates.csv", row.names = FALSE)
cat("wrote", nrow(res), "rows\n")
