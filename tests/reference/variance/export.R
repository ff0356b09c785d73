# R's standard errors from kalib's exported replicate weights
# (tests/test_replicate_export.py). Run from this directory after
# make_exports.py: Rscript export.R   (R 4.1, survey 4.1.1, jsonlite).
suppressMessages({library(survey); library(jsonlite)})
options(digits = 17)
business <- read.csv("business.csv", stringsAsFactors = FALSE)
api <- read.csv("apiclus1.csv", stringsAsFactors = FALSE)
strat <- read.csv("apistrat.csv", stringsAsFactors = FALSE)

out <- list()
one <- function(name, file, data, key, ys, bys) {
  meta <- fromJSON(sub("\\.[a-z]+$", ".json", file))
  reps <- read.csv(file, stringsAsFactors = FALSE)
  d <- merge(data, reps, by.x = key, by.y = "id", sort = FALSE)
  rd <- svrepdesign(data = d, weights = ~weight, repweights = "rep_[0-9]+", type = "other",
                    scale = meta$scale, rscales = meta$rscales, mse = meta$mse,
                    combined.weights = TRUE)
  est <- svymean(as.formula(paste("~", paste(ys, collapse = "+"))), rd)
  out[[length(out) + 1]] <<- data.frame(case = name, domain = "all", name = names(coef(est)),
                                        estimate = unname(coef(est)), se = unname(SE(est)))
  for (by in bys) {
    e <- svyby(as.formula(paste0("~", ys[1])), as.formula(paste0("~", by)), rd, svymean)
    out[[length(out) + 1]] <<- data.frame(case = name, domain = by,
                                          name = paste(ys[1], e[[by]], sep = "|"),
                                          estimate = e[[ys[1]]], se = unname(SE(e)))
  }
}
one("export_boot", "export_boot.csv", business, "id", c("y1", "y2", "y3", "y4", "y5", "x"), c("sector", "size_class"))
one("export_boot_mse", "export_boot_mse.csv", business, "id", c("y1", "x"), c("sector", "size_class"))
one("export_jkn_fpc", "export_jkn_fpc.csv", strat, "cds", c("api00", "enroll"), c("both"))
one("export_jk1", "export_jk1.csv", api, "cds", c("api00", "enroll"), c("stype"))
write.csv(do.call(rbind, out), "export_r.csv", row.names = FALSE)
cat("wrote export_r.csv\n")
