# Reference values for post-stratification (R survey's postStratify) of
# linearization and replicate designs.  Run from this directory:
#     Rscript poststratify.R
# Writes apiclus1.csv / apistrat.csv, the population tables, the post-stratified
# weights (and replicate weights), and poststratify_reference.json.
suppressPackageStartupMessages(library(survey))
library(jsonlite)
data(api)
options(digits = 17, survey.replicates.mse = FALSE)

## ---- helpers -------------------------------------------------------------
# JSON with every number printed with 17 significant digits (jsonlite caps at 15).
j17 <- function(x) {
  if (is.list(x)) return(lapply(x, j17))
  if (is.numeric(x) || (is.logical(x) && length(x) > 0 && all(is.na(x)))) {
    nm <- names(x); dm <- dim(x)
    v <- as.double(x)
    s <- ifelse(is.finite(v), sprintf("%.17g", v), "null")
    if (length(dm) == 2) {
      rows <- apply(matrix(s, dm[1]), 1, function(r) paste0("[", paste(r, collapse = ","), "]"))
      return(structure(paste0("[", paste(rows, collapse = ","), "]"), class = "json"))
    }
    if (!is.null(nm)) return(lapply(setNames(as.list(s), nm), function(z) structure(z, class = "json")))
    if (length(s) == 1) return(structure(s, class = "json"))
    return(structure(paste0("[", paste(s, collapse = ","), "]"), class = "json"))
  }
  x
}
write_json17 <- function(x, file)
  writeLines(toJSON(j17(x), auto_unbox = TRUE, json_verbatim = TRUE, pretty = TRUE,
                    null = "null", na = "null"), file)
# CSV with doubles printed with 17 significant digits; only text columns quoted.
write17 <- function(df, file) {
  df <- as.data.frame(df)
  txt <- which(!vapply(df, is.numeric, logical(1)))
  for (j in seq_along(df)) if (is.double(df[[j]])) df[[j]] <- sprintf("%.17g", df[[j]])
  con <- if (grepl("\\.gz$", file)) gzfile(file, "w") else file(file, "w")
  write.csv(df, con, row.names = FALSE, quote = if (length(txt)) txt else FALSE)
  close(con)
}

mat <- function(m) list(names = rownames(m), matrix = unclass(m))
stat_out <- function(s, call_str) {
  v <- as.matrix(vcov(s)); cf <- coef(s)
  if (is.null(names(cf))) names(cf) <- rownames(v)
  list(call = call_str, coef = cf, se = setNames(sqrt(diag(v)), names(cf)), vcov = mat(v))
}
estimates <- function(D) list(
  svymean_api00_enroll = stat_out(svymean(~api00 + enroll, D), "svymean(~api00 + enroll, D)"),
  svytotal_api00_enroll = stat_out(svytotal(~api00 + enroll, D), "svytotal(~api00 + enroll, D)"),
  svytotal_enroll = stat_out(svytotal(~enroll, D), "svytotal(~enroll, D)"),
  svymean_api00 = stat_out(svymean(~api00, D), "svymean(~api00, D)"),
  svytotal_stype = stat_out(svytotal(~stype, D), "svytotal(~stype, D)"),
  svymean_sch.wide = stat_out(svymean(~sch.wide, D), "svymean(~sch.wide, D)"),
  svytotal_sch.wide = stat_out(svytotal(~sch.wide, D), "svytotal(~sch.wide, D)"),
  svyratio_api00_api99 = stat_out(svyratio(~api00, ~api99, D), "svyratio(~api00, ~api99, D)"))
rep_info <- function(D) list(type = D$type, scale = D$scale, rscales = D$rscales, mse = D$mse,
                             combined_weights = D$combined.weights,
                             n_replicates = ncol(weights(D, "analysis")), degf = degf(D))
capture <- function(expr) {
  warn <- character(0)
  val <- withCallingHandlers(tryCatch(expr, error = function(e) e),
                             warning = function(w) { warn <<- c(warn, conditionMessage(w))
                                                     invokeRestart("muffleWarning") })
  list(value = val, warnings = warn)
}

keep <- c("snum", "dnum", "stype", "sch.wide", "comp.imp", "api00", "api99", "enroll", "pw", "fpc")
exp_api <- function(df, file) {
  out <- df[, keep]
  names(out) <- gsub(".", "_", names(out), fixed = TRUE)
  for (j in c("stype", "sch_wide", "comp_imp")) out[[j]] <- as.character(out[[j]])
  write17(out, file)
}
exp_api(apiclus1, "apiclus1.csv")
exp_api(apistrat, "apistrat.csv")

## population tables (from apipop)
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))   # as in ?postStratify
pop.cross <- as.data.frame(xtabs(~stype + sch.wide, data = apipop))
pop.3way <- as.data.frame(xtabs(~stype + sch.wide + comp.imp, data = apipop))
pop.schwide <- as.data.frame(xtabs(~sch.wide, data = apipop))
write17(pop.types, "pop_stype.csv")
write17(transform(pop.cross, stype = as.character(stype), sch.wide = as.character(sch.wide)),
        "pop_stype_schwide.csv")
write17(transform(pop.3way, stype = as.character(stype), sch.wide = as.character(sch.wide),
                  comp.imp = as.character(comp.imp)), "pop_stype_schwide_compimp.csv")
write17(transform(pop.schwide, sch.wide = as.character(sch.wide)), "pop_schwide.csv")

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
rclus1 <- as.svrepdesign(dclus1)                       # JK1 (unstratified), as in ?postStratify
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
rstrat <- as.svrepdesign(dstrat, type = "JKn")

out <- list(R_version = R.version.string, survey_version = as.character(packageVersion("survey")),
            population_tables = list(stype = "pop_stype.csv", stype_schwide = "pop_stype_schwide.csv",
                                     stype_schwide_compimp = "pop_stype_schwide_compimp.csv",
                                     schwide = "pop_schwide.csv"))

run <- function(label, call_str, expr, before, id, wfile) {
  cap <- capture(expr)
  D <- cap$value
  if (inherits(D, "error"))
    return(list(call = call_str, error = conditionMessage(D), warnings = cap$warnings))
  r <- list(call = call_str, warnings = cap$warnings)
  w <- weights(D, if (inherits(D, "svyrep.design")) "sampling" else "sampling")
  if (inherits(D, "svyrep.design")) {
    r$design <- rep_info(D)
    rw <- weights(D, "analysis"); colnames(rw) <- paste0("rep_", seq_len(ncol(rw)))
    write17(data.frame(snum = id, weight = w, rw), wfile)
    r$replicate_weights_have_nonfinite <- any(!is.finite(rw))
  } else {
    write17(data.frame(snum = id, weight_before = weights(before), weight = w), wfile)
  }
  r$weights_file <- wfile
  r$weight_summary <- list(min = min(w), max = max(w), sum = sum(w))
  c(r, estimates(D))
}

## --- apiclus1 (cluster sample, fpc), linearization ---------------------------
out$dclus1 <- c(list(call = "svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)"),
                estimates(dclus1))
out$dclus1_ps_stype <- run("ps1", "postStratify(dclus1, ~stype, pop.types)",
  postStratify(dclus1, ~stype, pop.types), dclus1, apiclus1$snum, "dclus1_ps_stype_weights.csv")
out$dclus1_ps_stype_schwide <- run("ps2", "postStratify(dclus1, ~stype + sch.wide, pop.cross)",
  postStratify(dclus1, ~stype + sch.wide, pop.cross), dclus1, apiclus1$snum,
  "dclus1_ps_stype_schwide_weights.csv")
out$dclus1_ps_3way_partial_FALSE <- run("ps3", "postStratify(dclus1, ~stype + sch.wide + comp.imp, pop.3way)",
  postStratify(dclus1, ~stype + sch.wide + comp.imp, pop.3way), dclus1, apiclus1$snum,
  "dclus1_ps_3way_weights.csv")
out$dclus1_ps_3way_partial_TRUE <- run("ps4",
  "postStratify(dclus1, ~stype + sch.wide + comp.imp, pop.3way, partial = TRUE)",
  postStratify(dclus1, ~stype + sch.wide + comp.imp, pop.3way, partial = TRUE), dclus1,
  apiclus1$snum, "dclus1_ps_3way_partial_weights.csv")
out$dclus1_ps_3way_partial_TRUE$note <- paste(
  "partial = TRUE drops population cells that have NO sample units (here stype x sch.wide=No x",
  "comp.imp=Yes: 50 + 9 + 18 = 77 units); the weights then sum to 6194 - 77 = 6117. A population",
  "table that lacks a cell present in the sample is an error whatever 'partial' is.")
pop.missing <- pop.cross[!(pop.cross$stype == "H" & pop.cross$sch.wide == "No"), ]
out$dclus1_ps_table_missing_sample_cell <- run("ps5",
  "postStratify(dclus1, ~stype + sch.wide, pop.cross without the (H, No) row, partial = TRUE)",
  postStratify(dclus1, ~stype + sch.wide, pop.missing, partial = TRUE), dclus1, apiclus1$snum,
  "dclus1_ps_missing_cell_weights.csv")

## --- apiclus1, JK1 replicate version (?postStratify example) -------------------
out$rclus1 <- c(list(call = "as.svrepdesign(dclus1)  # JK1", design = rep_info(rclus1)), estimates(rclus1))
out$rclus1_ps_stype <- run("r1", "postStratify(rclus1, ~stype, pop.types)",
  postStratify(rclus1, ~stype, pop.types), rclus1, apiclus1$snum, "rclus1_ps_stype_repweights.csv")
out$rclus1_ps_stype_schwide <- run("r2", "postStratify(rclus1, ~stype + sch.wide, pop.cross)",
  postStratify(rclus1, ~stype + sch.wide, pop.cross), rclus1, apiclus1$snum,
  "rclus1_ps_stype_schwide_repweights.csv")
out$rclus1_ps_3way_partial_TRUE <- run("r3",
  "postStratify(rclus1, ~stype + sch.wide + comp.imp, pop.3way, partial = TRUE)",
  postStratify(rclus1, ~stype + sch.wide + comp.imp, pop.3way, partial = TRUE), rclus1,
  apiclus1$snum, "rclus1_ps_3way_partial_repweights.csv")

## --- apistrat (stratified, fpc): linearization and JKn -------------------------
out$dstrat <- c(list(call = "svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)"),
                estimates(dstrat))
out$dstrat_ps_schwide <- run("s1", "postStratify(dstrat, ~sch.wide, pop.schwide)",
  postStratify(dstrat, ~sch.wide, pop.schwide), dstrat, apistrat$snum, "dstrat_ps_schwide_weights.csv")
out$dstrat_ps_stype_schwide <- run("s2", "postStratify(dstrat, ~stype + sch.wide, pop.cross)",
  postStratify(dstrat, ~stype + sch.wide, pop.cross), dstrat, apistrat$snum,
  "dstrat_ps_stype_schwide_weights.csv")
out$rstrat <- c(list(call = "as.svrepdesign(dstrat, type = 'JKn')", design = rep_info(rstrat)),
                estimates(rstrat))
out$rstrat_ps_schwide <- run("j1", "postStratify(rstrat, ~sch.wide, pop.schwide)",
  postStratify(rstrat, ~sch.wide, pop.schwide), rstrat, apistrat$snum,
  "rstrat_ps_schwide_repweights.csv.gz")
out$rstrat_ps_stype_schwide <- run("j2", "postStratify(rstrat, ~stype + sch.wide, pop.cross)",
  postStratify(rstrat, ~stype + sch.wide, pop.cross), rstrat, apistrat$snum,
  "rstrat_ps_stype_schwide_repweights.csv.gz")
# unpostratified replicate weights, to rebuild the replicate designs without R
for (p in list(list(rclus1, apiclus1$snum, "rclus1_repweights.csv"),
               list(rstrat, apistrat$snum, "rstrat_repweights.csv.gz"))) {
  rw <- weights(p[[1]], "analysis"); colnames(rw) <- paste0("rep_", seq_len(ncol(rw)))
  write17(data.frame(snum = p[[2]], weight = weights(p[[1]], "sampling"), rw), p[[3]])
}
write_json17(out, "poststratify_reference.json")
cat("done\n")
