# Reference values for kalib's re-raked bootstrap (tests/test_replicate_reference.py):
# R's subbootstrap (Rao-Wu-Yue rescaling, m_h = n_h - 1), B = 5000, every replicate
# re-raked. Slow (minutes): run once from this directory with Rscript bootstrap.R.
# R 4.1, survey 4.1.1. Writes bootstrap.csv (case, domain, name, estimate, se).
source("common.R")

# 3. Rao-Wu-Yue bootstrap (subbootstrap), B = 5000, re-raked; no fpc.
set.seed(20170602)
d <- svydesign(id = ~1, strata = ~stratum, weights = ~w, data = business)
t0 <- proc.time()
rd <- calibrate(as.svrepdesign(d, type = "subbootstrap", replicates = 5000), ~cell + nacef,
                population = pop_business, calfun = "raking", epsilon = 1e-12, maxit = 200)
cat("calibrated at", (proc.time() - t0)[["elapsed"]], "s\n")
business_estimates("business_subboot_5000", rd)
cat("subbootstrap B=5000 calibrate + estimates:", (proc.time() - t0)[["elapsed"]], "s\n")

res <- do.call(rbind, out)
write.csv(res, "bootstrap.csv", row.names = FALSE)
cat("wrote", nrow(res), "rows\n")
