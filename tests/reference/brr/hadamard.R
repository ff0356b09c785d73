# Reference values for weighting/hadamard.py: which Hadamard matrix R's
# survey::hadamard(n) returns for every n = 1..1100 (its order, and two
# bilinear checksums u' H v that any change of row, column or entry alters),
# plus the full matrices of every distinct order up to 64 (0/1 rows as text).
# Run from this directory:
#     Rscript hadamard.R
# Writes hadamard_reference.json (about a minute).
suppressPackageStartupMessages(library(survey))
library(jsonlite)

N <- 1100
checks <- lapply(seq_len(N), function(n) {
  H <- hadamard(n); m <- nrow(H); i <- seq_len(m)
  # integer-valued doubles below 2^53: exact
  c(n = n, order = m,
    check_a = sum(as.vector(H %*% ((i * i) %% 1009)) * i),
    check_b = sum(as.vector(H %*% i) * ((i * 131) %% 997 + 1)))
})
checks <- do.call(rbind, checks)
first <- !duplicated(checks[, "order"]) & checks[, "order"] <= 64
full <- lapply(which(first), function(n) list(n = n, rows = apply(hadamard(n), 1, paste, collapse = "")))
out <- list(
  R_version = R.version.string, survey_version = as.character(packageVersion("survey")),
  note = paste("check_a = sum_i i * (H %*% (j^2 mod 1009))_i, check_b = sum_i (131 i mod 997 + 1)",
               "* (H %*% j)_i, i and j 1-based; H in 0/1 coding as R returns it"),
  n = checks[, "n"], order = checks[, "order"],
  check_a = checks[, "check_a"], check_b = checks[, "check_b"],
  matrices = full)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = FALSE), "hadamard_reference.json")
cat("done\n")
