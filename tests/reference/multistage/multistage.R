# Multistage (two-stage) designs: apiclus2, a generated stratified two-stage sample, lonely PSUs, calibration on top.
# R reference values for kalib (issue 19).  Run from this directory:
#     Rscript multistage.R
# Needs R with the 'survey' package (Debian: r-base-core, r-cran-survey); nothing else.
# Writes the CSV inputs (exported from R's built-in data or generated with a fixed seed,
# then read back so every value below is computed from exactly what the CSV holds) and
# the results as JSON (doubles printed with up to 17 significant digits).
# This script only calls R's survey package; it contains none of its code.
## ---- minimal JSON writer (hand-written; numbers as %.17g so doubles round-trip) ----
## NA -> null, NaN -> NaN, +-Inf -> Infinity/-Infinity (Python's json module reads these).
## Length-1 vectors are written as scalars unless wrapped in I(); named atomic vectors
## become objects; matrices become {"rownames","colnames","values"(row-major lists)}.
json_str <- function(s) {
  s <- gsub("\\\\", "\\\\\\\\", s)
  s <- gsub("\"", "\\\\\"", s)
  s <- gsub("\n", "\\\\n", s)
  s <- gsub("\t", "\\\\t", s)
  paste0("\"", s, "\"")
}
json_atom <- function(x) {
  if (is.factor(x)) x <- as.character(x)
  if (is.character(x)) return(ifelse(is.na(x), "null", json_str(x)))
  if (is.logical(x)) return(ifelse(is.na(x), "null", ifelse(x, "true", "false")))
  x <- as.numeric(x)
  out <- sprintf("%.17g", x)
  out[is.nan(x)] <- "NaN"
  out[is.na(x) & !is.nan(x)] <- "null"
  out[is.infinite(x) & x > 0] <- "Infinity"
  out[is.infinite(x) & x < 0] <- "-Infinity"
  out
}
to_json <- function(x, ind = "") {
  ind2 <- paste0(ind, "  ")
  if (is.null(x)) return("null")
  if (is.data.frame(x)) x <- as.list(x)
  if (is.matrix(x)) {
    rows <- lapply(seq_len(nrow(x)), function(i) I(unname(x[i, ])))
    return(to_json(list(rownames = if (is.null(rownames(x))) NULL else I(rownames(x)),
                        colnames = if (is.null(colnames(x))) NULL else I(colnames(x)),
                        values = rows), ind))
  }
  if (is.list(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    body <- vapply(x, to_json, "", ind = ind2)
    if (!is.null(names(x))) {
      body <- paste0(json_str(names(x)), ": ", body)
      return(paste0("{\n", ind2, paste(body, collapse = paste0(",\n", ind2)), "\n", ind, "}"))
    }
    return(paste0("[\n", ind2, paste(body, collapse = paste0(",\n", ind2)), "\n", ind, "]"))
  }
  asis <- inherits(x, "AsIs")
  nm <- names(x)
  v <- json_atom(unclass(x))
  if (!is.null(nm) && !asis) {
    return(paste0("{", paste(paste0(json_str(nm), ": ", v), collapse = ", "), "}"))
  }
  if (length(v) == 1 && !asis) return(v)
  paste0("[", paste(v, collapse = ", "), "]")
}
write_json <- function(x, file) writeLines(to_json(x), file)
## ---------------------------------------------------------------------------------
## ---- helpers: CSV round trip and result summaries -------------------------------
## Doubles are written with the shortest of %.15g/%.16g/%.17g that reads back to the
## same double, and every analysis below runs on the data *read back* from the CSV,
## so the Python side sees exactly the numbers R used.
fmt_num <- function(x) {
  out <- sprintf("%.15g", x)
  bad <- !is.na(x) & as.numeric(out) != x
  out[bad] <- sprintf("%.16g", x[bad])
  bad <- !is.na(x) & as.numeric(out) != x
  out[bad] <- sprintf("%.17g", x[bad])
  out[is.na(x)] <- "NA"
  out
}
write_csv_exact <- function(df, file) {
  qcols <- which(vapply(df, function(col) is.character(col) || is.factor(col), TRUE))
  for (nm in names(df)) {
    col <- df[[nm]]
    if (is.double(col) && !all(is.na(col) | col == round(col))) df[[nm]] <- fmt_num(col)
    else if (is.factor(col)) df[[nm]] <- as.character(col)
  }
  write.csv(df, file, row.names = FALSE, quote = if (length(qcols)) unname(qcols) else FALSE, na = "")
}
read_back <- function(file) read.csv(file, stringsAsFactors = TRUE, na.strings = "")
versions <- list(r_version = R.version.string,
                 survey_version = as.character(packageVersion("survey")))
named_se <- function(s) setNames(as.numeric(sqrt(diag(as.matrix(vcov(s))))), names(coef(s)))
mat <- function(m) { m <- as.matrix(m); attributes(m) <- attributes(m)[c("dim", "dimnames")]; m }
df_json <- function(df) lapply(as.list(df), function(col) I(if (is.factor(col)) as.character(col) else unname(col)))
summ <- function(v) {
  if (inherits(v, "svyby")) {
    out <- list(table = df_json(as.data.frame(v)), estimate = coef(v))
    if (!is.null(attr(v, "var"))) {            # svyby(..., covmat = TRUE)
      V <- vcov(v)
      out$se <- setNames(sqrt(diag(as.matrix(V))), names(coef(v)))
      out$vcov <- mat(V)
    } else {
      out$se <- setNames(as.numeric(unlist(SE(v))), names(coef(v)))
    }
    if (!is.null(attr(v, "deff"))) out$deff <- deff(v)
    return(out)
  }
  if (inherits(v, "svystat") || inherits(v, "svrepstat")) {
    out <- list(estimate = coef(v), se = named_se(v))
    if (length(coef(v)) > 1) out$vcov <- mat(vcov(v))
    if (!is.null(attr(v, "deff"))) out$deff <- setNames(as.numeric(deff(v, quietly = TRUE)), names(coef(v)))
    return(out)
  }
  if (inherits(v, "svyratio")) {
    return(list(ratio = mat(v$ratio), var = mat(v$var), se = mat(sqrt(v$var))))
  }
  if (is.numeric(v)) return(v)
  stop("no summary for class ", paste(class(v), collapse = "/"))
}
## Evaluate R code given as a string; record the string itself as "call".
run <- function(code, f = summ) {
  val <- tryCatch(eval(parse(text = code), envir = globalenv()),
                  error = function(e) e)
  if (inherits(val, "error") && grepl(", covmat = TRUE", code, fixed = TRUE)) {
    ## svyby(covmat = TRUE) fails in survey 4.1.1 for calibrated designs and with
    ## na.rm = TRUE; record that and fall back to the call without covmat.
    code2 <- sub(", covmat = TRUE", "", code, fixed = TRUE)
    res <- run(code2, f)
    return(c(res, list(covmat_call = code, covmat_error = conditionMessage(val))))
  }
  if (inherits(val, "error")) return(list(call = code, error = conditionMessage(val)))
  c(list(call = code), f(val))
}
## -----------------------------------------------------------------------------------
suppressPackageStartupMessages(library(survey))
options(digits = 17)
out <- versions

## ================= 1. apiclus2: two-stage cluster sample (districts, schools) ==========
data(api)
keep <- c("cds", "snum", "dnum", "stype", "sch.wide", "comp.imp", "api00", "api99",
          "enroll", "api.stu", "meals", "ell", "fpc1", "fpc2", "pw")
a2 <- apiclus2[, keep]
a2$fpc2 <- as.integer(a2$fpc2)          # drop the 1-d array's dimnames
names(a2) <- gsub(".", "_", names(a2), fixed = TRUE)
a2$is_E <- as.integer(a2$stype == "E")   # 0/1 version of I(stype == "E")
write_csv_exact(a2, "apiclus2.csv")
apiclus2_csv <- read_back("apiclus2.csv")

dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2_csv)
# first stage only (same weights, fpc1): its variance is the stage-1 part of dclus2's
dclus2_stage1 <- svydesign(id = ~dnum, fpc = ~fpc1, weights = weights(dclus2), data = apiclus2_csv)
# no fpc: with-replacement first stage; later stages then do not contribute
dclus2_wr <- svydesign(id = ~dnum + snum, weights = weights(dclus2), data = apiclus2_csv)

write_csv_exact(data.frame(snum = apiclus2_csv$snum, weight = weights(dclus2)),
          "apiclus2_weights.csv")

pop_stype <- c(`(Intercept)` = nrow(apipop), stypeH = sum(apipop$stype == "H"),
               stypeM = sum(apipop$stype == "M"))
dclus2_lin <- calibrate(dclus2, ~stype, pop_stype, calfun = "linear",
                        epsilon = 1e-14, maxit = 1000)
dclus2_rake <- calibrate(dclus2, ~stype, pop_stype, calfun = "raking",
                         epsilon = 1e-14, maxit = 1000)
pop_stype_sw <- c(pop_stype, sch_wideYes = sum(apipop$sch.wide == "Yes"))
dclus2_rake2 <- calibrate(dclus2, ~stype + sch_wide, pop_stype_sw, calfun = "raking",
                          epsilon = 1e-14, maxit = 1000)
write_csv_exact(data.frame(snum = apiclus2_csv$snum,
                     weight_linear = weights(dclus2_lin),
                     weight_raking = weights(dclus2_rake),
                     weight_raking_stype_schwide = weights(dclus2_rake2)),
          "apiclus2_calibrated_weights.csv")

est_api <- function(d) list(
  mean_api00 = run(sprintf("svymean(~api00, %s)", d)),
  total_api00 = run(sprintf("svytotal(~api00, %s)", d)),
  mean_api00_enroll = run(sprintf("svymean(~api00 + enroll, %s, na.rm = TRUE)", d)),
  mean_enroll = run(sprintf("svymean(~enroll, %s, na.rm = TRUE)", d)),
  total_enroll = run(sprintf("svytotal(~enroll, %s, na.rm = TRUE)", d)),
  mean_is_E = run(sprintf("svymean(~is_E, %s)", d)),
  total_is_E = run(sprintf("svytotal(~is_E, %s)", d)),
  mean_I_stype_E = run(sprintf("svymean(~I(stype == \"E\"), %s)", d)),
  mean_stype = run(sprintf("svymean(~stype, %s)", d)),
  total_stype = run(sprintf("svytotal(~stype, %s)", d)),
  ratio_api00_api99 = run(sprintf("svyratio(~api00, ~api99, %s)", d)),
  by_stype_mean_api00 = run(sprintf("svyby(~api00, ~stype, %s, svymean, covmat = TRUE)", d)),
  by_stype_total_api00 = run(sprintf("svyby(~api00, ~stype, %s, svytotal, covmat = TRUE)", d)),
  by_stype_mean_enroll = run(sprintf("svyby(~enroll, ~stype, %s, svymean, na.rm = TRUE, covmat = TRUE)", d)),
  by_stype_mean_sch_wide = run(sprintf("svyby(~sch_wide, ~stype, %s, svymean, covmat = TRUE)", d)),
  by_sch_wide_mean_is_E = run(sprintf("svyby(~is_E, ~sch_wide, %s, svymean, covmat = TRUE)", d))
)

out$apiclus2 <- list(
  data = "apiclus2.csv (data(api) apiclus2, '.' in names -> '_', is_E = stype == 'E')",
  designs = list(
    dclus2 = "svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2_csv)",
    dclus2_stage1 = "svydesign(id = ~dnum, fpc = ~fpc1, weights = weights(dclus2), data = apiclus2_csv)",
    dclus2_wr = "svydesign(id = ~dnum + snum, weights = weights(dclus2), data = apiclus2_csv)",
    dclus2_lin = "calibrate(dclus2, ~stype, pop_stype, calfun = \"linear\", epsilon = 1e-14, maxit = 1000)",
    dclus2_rake = "calibrate(dclus2, ~stype, pop_stype, calfun = \"raking\", epsilon = 1e-14, maxit = 1000)",
    dclus2_rake2 = "calibrate(dclus2, ~stype + sch_wide, pop_stype_sw, calfun = \"raking\", epsilon = 1e-14, maxit = 1000)"),
  pop_stype = pop_stype, pop_stype_sw = pop_stype_sw,
  degf = list(dclus2 = degf(dclus2), dclus2_stage1 = degf(dclus2_stage1)),
  dclus2 = est_api("dclus2"),
  dclus2_stage1 = est_api("dclus2_stage1"),
  dclus2_wr = est_api("dclus2_wr"),
  dclus2_lin = est_api("dclus2_lin"),
  dclus2_rake = est_api("dclus2_rake"),
  dclus2_rake2 = est_api("dclus2_rake2"))

## ================= 2. generated stratified two-stage sample ============================
## Population: 3 strata with N1 = 10, 8, 12 clusters; cluster k has N2 units.
## Sample: SRS of n1 = 4, 3, 5 clusters per stratum, then SRS of n2 units per cluster.
## Cluster codes are 1..n1 *within* each stratum (they repeat), so nest = TRUE is needed.
set.seed(20240519)
N1 <- c(10, 8, 12)
pop <- do.call(rbind, lapply(1:3, function(h) {
  do.call(rbind, lapply(seq_len(N1[h]), function(k) {
    n2pop <- sample(12:40, 1)
    u <- rnorm(1, 0, 4)
    data.frame(stratum = h, pcluster = k, N2 = n2pop,
               y = round(50 + 5 * h + u + rnorm(n2pop, 0, 10), 2),
               z = rbinom(n2pop, 1, plogis(-0.5 + 0.3 * h + u / 4)),
               dom = sample(c("a", "b", "c"), n2pop, replace = TRUE, prob = c(0.5, 0.3, 0.2)),
               x = round(runif(n2pop, 1, 9), 1))
  }))
}))
pop$N1 <- N1[pop$stratum]
popN <- nrow(pop)
pop_dom <- c(`(Intercept)` = popN, domb = sum(pop$dom == "b"), domc = sum(pop$dom == "c"))
pop_dom_x <- c(pop_dom, x = sum(pop$x))

draw <- function(n1, force_small = FALSE, single_unit_cluster = NULL) {
  smp <- list()
  for (h in 1:3) {
    ks <- sort(sample(seq_len(N1[h]), n1[h]))
    for (j in seq_along(ks)) {
      units <- pop[pop$stratum == h & pop$pcluster == ks[j], ]
      n2 <- min(nrow(units), sample(2:6, 1))
      if (!is.null(single_unit_cluster) && h == single_unit_cluster[1] && j == single_unit_cluster[2]) n2 <- 1
      rows <- units[sort(sample(nrow(units), n2)), ]
      rows$cluster <- j                      # sample cluster code, repeats across strata
      smp[[length(smp) + 1]] <- rows
    }
  }
  s <- do.call(rbind, smp)
  s$n1 <- n1[s$stratum]
  s$n2 <- ave(s$y, s$stratum, s$cluster, FUN = length)
  s$id <- seq_len(nrow(s))
  s$f1 <- s$n1 / s$N1
  s$f2 <- s$n2 / s$N2
  s$w <- (s$N1 / s$n1) * (s$N2 / s$n2)
  s[, c("stratum", "cluster", "pcluster", "id", "N1", "N2", "n1", "n2", "f1", "f2", "w",
        "y", "z", "dom", "x")]
}
ts <- draw(c(4, 3, 5))
write_csv_exact(ts, "twostage.csv")
write_csv_exact(data.frame(name = names(pop_dom_x), total = unname(pop_dom_x)),
                "twostage_population_totals.csv")
twostage <- read_back("twostage.csv")

d2 <- svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~N1 + N2,
                data = twostage, nest = TRUE)
d2_frac <- svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~f1 + f2,
                     data = twostage, nest = TRUE)
# fpc for fewer stages than ids: documented as "later stages complete", but errors in 4.1.1
d2_fpc_stage1_only <- tryCatch(svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~N1,
                                         weights = ~w, data = twostage, nest = TRUE),
                               error = function(e) e)
# first stage only (same weights, fpc N1): its variance is the stage-1 part of d2's
d2_stage1 <- svydesign(id = ~cluster, strata = ~stratum, fpc = ~N1, weights = ~w,
                       data = twostage, nest = TRUE)
d2_nofpc <- svydesign(id = ~cluster + id, strata = ~stratum, weights = ~w,
                      data = twostage, nest = TRUE)
d2_nonest <- tryCatch(svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~N1 + N2,
                                data = twostage), error = function(e) e)
stopifnot(isTRUE(all.equal(unname(weights(d2)), twostage$w)))
d2_lin <- calibrate(d2, ~dom, pop_dom, calfun = "linear", epsilon = 1e-14, maxit = 1000)
d2_rake <- calibrate(d2, ~dom, pop_dom, calfun = "raking", epsilon = 1e-14, maxit = 1000)
d2_lin_x <- calibrate(d2, ~dom + x, pop_dom_x, calfun = "linear", epsilon = 1e-14, maxit = 1000)
d2_rake_x <- calibrate(d2, ~dom + x, pop_dom_x, calfun = "raking", epsilon = 1e-14, maxit = 1000)
write_csv_exact(data.frame(id = twostage$id, weight = weights(d2),
                     weight_linear_dom = weights(d2_lin),
                     weight_raking_dom = weights(d2_rake),
                     weight_linear_dom_x = weights(d2_lin_x),
                     weight_raking_dom_x = weights(d2_rake_x)),
          "twostage_weights.csv")

est_ts <- function(d) list(
  mean_y = run(sprintf("svymean(~y, %s)", d)),
  total_y = run(sprintf("svytotal(~y, %s)", d)),
  mean_z = run(sprintf("svymean(~z, %s)", d)),
  total_z = run(sprintf("svytotal(~z, %s)", d)),
  mean_y_z = run(sprintf("svymean(~y + z, %s)", d)),
  total_y_z = run(sprintf("svytotal(~y + z, %s)", d)),
  mean_dom = run(sprintf("svymean(~dom, %s)", d)),
  ratio_y_x = run(sprintf("svyratio(~y, ~x, %s)", d)),
  by_dom_mean_y = run(sprintf("svyby(~y, ~dom, %s, svymean, covmat = TRUE)", d)),
  by_dom_total_y = run(sprintf("svyby(~y, ~dom, %s, svytotal, covmat = TRUE)", d)),
  by_dom_mean_z = run(sprintf("svyby(~z, ~dom, %s, svymean, covmat = TRUE)", d)),
  by_dom_total_z = run(sprintf("svyby(~z, ~dom, %s, svytotal, covmat = TRUE)", d)),
  by_stratum_mean_y = run(sprintf("svyby(~y, ~stratum, %s, svymean, covmat = TRUE)", d)),
  by_dom_mean_y_z = run(sprintf("svyby(~y + z, ~dom, %s, svymean, covmat = TRUE)", d))
)
out$twostage <- list(
  data = "twostage.csv (generated, set.seed(20240519)); population totals in twostage_population_totals.csv",
  population_totals = list(pop_dom = pop_dom, pop_dom_x = pop_dom_x),
  designs = list(
    d2 = "svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~N1 + N2, data = twostage, nest = TRUE)",
    d2_frac = "svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~f1 + f2, data = twostage, nest = TRUE)",
    d2_stage1 = "svydesign(id = ~cluster, strata = ~stratum, fpc = ~N1, weights = ~w, data = twostage, nest = TRUE)",
    d2_nofpc = "svydesign(id = ~cluster + id, strata = ~stratum, weights = ~w, data = twostage, nest = TRUE)",
    d2_lin = "calibrate(d2, ~dom, pop_dom, calfun = \"linear\", epsilon = 1e-14, maxit = 1000)",
    d2_rake = "calibrate(d2, ~dom, pop_dom, calfun = \"raking\", epsilon = 1e-14, maxit = 1000)",
    d2_lin_x = "calibrate(d2, ~dom + x, pop_dom_x, calfun = \"linear\", epsilon = 1e-14, maxit = 1000)",
    d2_rake_x = "calibrate(d2, ~dom + x, pop_dom_x, calfun = \"raking\", epsilon = 1e-14, maxit = 1000)"),
  without_nest = list(call = "svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~N1 + N2, data = twostage)",
                      error = if (inherits(d2_nonest, "error")) conditionMessage(d2_nonest) else NULL),
  fpc_stage1_only = list(call = "svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~N1, weights = ~w, data = twostage, nest = TRUE)",
                         error = if (inherits(d2_fpc_stage1_only, "error")) conditionMessage(d2_fpc_stage1_only) else NULL),
  degf = list(d2 = degf(d2), d2_stage1 = degf(d2_stage1)),
  d2 = est_ts("d2"),
  d2_frac = est_ts("d2_frac"),
  d2_stage1 = est_ts("d2_stage1"),
  d2_nofpc = est_ts("d2_nofpc"),
  d2_lin = est_ts("d2_lin"),
  d2_rake = est_ts("d2_rake"),
  d2_lin_x = est_ts("d2_lin_x"),
  d2_rake_x = est_ts("d2_rake_x"))

## ================= 3. lonely PSUs ======================================================
## (a) stage 1: stratum 3 has a single sampled cluster (n1 = 1 of N1 = 12).
## (b) stage 2: the second sampled cluster of stratum 1 has a single sampled unit (n2 = 1 < N2).
set.seed(20240520)
lon1 <- draw(c(4, 3, 1))
## dom2 = "x" in stratum 1 and in cluster 1 of stratum 2 only: a domain with a single PSU
## in stratum 2 (what survey.adjust.domain.lonely is about)
lon1$dom2 <- ifelse(lon1$stratum == 1 | (lon1$stratum == 2 & lon1$cluster == 1), "x", "y")
write_csv_exact(lon1, "twostage_lonely_stage1.csv")
set.seed(20240521)
lon2 <- draw(c(4, 3, 5), single_unit_cluster = c(1, 2))
lon2$dom2 <- ifelse(lon2$stratum == 1 | (lon2$stratum == 2 & lon2$cluster == 1), "x", "y")
write_csv_exact(lon2, "twostage_lonely_stage2.csv")
lonely_stage1 <- read_back("twostage_lonely_stage1.csv")
lonely_stage2 <- read_back("twostage_lonely_stage2.csv")

est_lonely <- function(d) list(
  mean_y = run(sprintf("svymean(~y, %s)", d)),
  total_y = run(sprintf("svytotal(~y, %s)", d)),
  mean_y_z = run(sprintf("svymean(~y + z, %s)", d)),
  total_y_z = run(sprintf("svytotal(~y + z, %s)", d)),
  by_dom_mean_y = run(sprintf("svyby(~y, ~dom, %s, svymean, covmat = TRUE)", d)),
  by_dom_total_y = run(sprintf("svyby(~y, ~dom, %s, svytotal, covmat = TRUE)", d)),
  by_dom2_mean_y = run(sprintf("svyby(~y, ~dom2, %s, svymean, covmat = TRUE)", d)),
  by_dom2_total_y = run(sprintf("svyby(~y, ~dom2, %s, svytotal, covmat = TRUE)", d)),
  subset_dom2_x_mean_y = run(sprintf("svymean(~y, subset(%s, dom2 == \"x\"))", d)),
  subset_dom2_x_total_y = run(sprintf("svytotal(~y, subset(%s, dom2 == \"x\"))", d)),
  subset_dom2_y_total_y = run(sprintf("svytotal(~y, subset(%s, dom2 == \"y\"))", d)))

lonely <- list()
for (ds in c("lonely_stage1", "lonely_stage2")) {
  res <- list(data = paste0("twostage_", ds, ".csv"),
              design = sprintf("svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~N1 + N2, data = %s, nest = TRUE)", ds))
  for (opt in c("fail", "remove", "adjust", "average", "certainty")) {
    for (dl in c(FALSE, TRUE)) {
      if (dl && !(opt %in% c("adjust", "average"))) next
      options(survey.lonely.psu = opt, survey.adjust.domain.lonely = dl)
      assign("dl_design", svydesign(id = ~cluster + id, strata = ~stratum, fpc = ~N1 + N2,
                                    data = get(ds), nest = TRUE), envir = globalenv())
      key <- if (dl) paste0(opt, "_adjust_domain_lonely") else opt
      res[[key]] <- c(list(options = list(survey.lonely.psu = opt, survey.adjust.domain.lonely = dl)),
                      est_lonely("dl_design"))
    }
  }
  lonely[[ds]] <- res
}
options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE)
out$lonely <- lonely

write_json(out, "multistage.json")
cat("wrote multistage.json\n")
