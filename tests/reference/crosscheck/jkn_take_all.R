# R's JKn scale when a take-all stratum (fpc = its PSU count) is the only
# stratum without replicates: jknweights sets scale = PSUs / replicates under
# survey.lonely.psu = "average" whenever a PSU has no replicate, lonely or not.
# Run from anywhere: Rscript tests/reference/crosscheck/jkn_take_all.R
# Writes jkn_take_all.csv (the sample) and jkn_take_all_r.json beside this
# script, read by tests/estimators/inference/test_crosscheck_edge_r.py.
suppressMessages({library(survey); library(jsonlite)})
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE),
                                                       value = TRUE))))
set.seed(20261205)
# stratum A take-all (3 of 3 PSUs), B 4 of 20, C 3 of 15; two rows a PSU
spec <- data.frame(stratum = c("A", "B", "C"), n = c(3, 4, 3), N = c(3, 20, 15))
df <- do.call(rbind, lapply(seq_len(nrow(spec)), function(h) {
  s <- spec[h, ]
  data.frame(stratum = s$stratum, psu = rep(paste0(s$stratum, seq_len(s$n)), each = 2),
             fpc = s$N, d = s$N / s$n * 2)
}))
df$y <- round(rnorm(nrow(df), 10, 3), 4)
write.csv(df, file.path(here, "jkn_take_all.csv"), row.names = FALSE)
out <- list()
for (policy in c("average", "certainty")) {
  options(survey.lonely.psu = policy)
  d <- svydesign(ids = ~psu, strata = ~stratum, fpc = ~fpc, weights = ~d, data = df)
  r <- as.svrepdesign(d, type = "JKn")
  m <- svymean(~y, r)
  out[[paste0(policy, "/scale")]] <- r$scale
  out[[paste0(policy, "/rscales")]] <- unname(r$rscales)
  out[[paste0(policy, "/mean_y")]] <- c(coef(m), SE(m))
}
writeLines(toJSON(out, digits = NA, auto_unbox = FALSE, pretty = TRUE),
           file.path(here, "jkn_take_all_r.json"))
