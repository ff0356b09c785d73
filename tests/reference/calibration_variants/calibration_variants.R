# Calibration variants: ratio estimators via variance=, aggregate.stage, constant bounds, trimWeights.
# R reference values for kalib (issue 19).  Run from this directory:
#     Rscript calibration_variants.R
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

data(api)
keep <- c("cds", "snum", "dnum", "stype", "sch.wide", "comp.imp", "api00", "api99",
          "enroll", "api.stu", "meals", "ell", "pw", "fpc")
exp_api <- function(df, file) {
  df <- df[, keep]
  names(df) <- gsub(".", "_", names(df), fixed = TRUE)
  write_csv_exact(df, file)
  read_back(file)
}
apiclus1_csv <- exp_api(apiclus1, "apiclus1.csv")
apistrat_csv <- exp_api(apistrat, "apistrat.csv")

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1_csv, fpc = ~fpc)
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat_csv, fpc = ~fpc)

pop_enroll <- sum(apipop$enroll, na.rm = TRUE)                 # 3811472
pop_stype <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018)
pop_stype_api99 <- c(pop_stype, api99 = 3914069)
EPS <- 1e-14; MAXIT <- 1000

designs <- list()
mk <- function(name, code) {
  val <- tryCatch(eval(parse(text = code), envir = globalenv()), error = function(e) e)
  designs[[name]] <<- list(call = code)
  if (inherits(val, "error")) designs[[name]]$error <<- conditionMessage(val)
  else assign(name, val, envir = globalenv())
  invisible(val)
}

## ---- A. ratio estimators as calibration (variance = heteroskedasticity) -------------
for (dn in c("dstrat", "dclus1")) {
  dat <- if (dn == "dstrat") "apistrat_csv" else "apiclus1_csv"
  mk(paste0(dn, "_ratio_v1"), sprintf("calibrate(%s, ~enroll - 1, pop_enroll, variance = 1, epsilon = EPS, maxit = MAXIT)", dn))
  mk(paste0(dn, "_ratio_vvec"), sprintf("calibrate(%s, ~enroll - 1, pop_enroll, variance = %s$enroll, epsilon = EPS, maxit = MAXIT)", dn, dat))
  mk(paste0(dn, "_ratio_vformula"), sprintf("calibrate(%s, ~enroll - 1, pop_enroll, variance = ~enroll, epsilon = EPS, maxit = MAXIT)", dn))
  mk(paste0(dn, "_noint_homosk"), sprintf("calibrate(%s, ~enroll - 1, pop_enroll, epsilon = EPS, maxit = MAXIT)", dn))
  mk(paste0(dn, "_greg_v01"), sprintf("calibrate(%s, ~enroll, c(`(Intercept)` = 6194, enroll = pop_enroll), variance = c(0, 1), epsilon = EPS, maxit = MAXIT)", dn))
  mk(paste0(dn, "_ratio_rake_v1"), sprintf("calibrate(%s, ~enroll - 1, pop_enroll, variance = 1, calfun = \"raking\", epsilon = EPS, maxit = MAXIT)", dn))
  mk(paste0(dn, "_greg"), sprintf("calibrate(%s, ~enroll, c(`(Intercept)` = 6194, enroll = pop_enroll), epsilon = EPS, maxit = MAXIT)", dn))
}
ratio_check <- list()
for (dn in c("dstrat", "dclus1")) {
  code <- sprintf("svyratio(~api.stu, ~enroll, %s, separate = FALSE)", dn)
  r <- eval(parse(text = sub("api.stu", "api_stu", code, fixed = TRUE)))
  p <- predict(r, total = pop_enroll)
  ratio_check[[dn]] <- list(
    call = sprintf("predict(svyratio(~api_stu, ~enroll, %s, separate = FALSE), total = pop_enroll)", dn),
    ratio = as.numeric(r$ratio), ratio_se = as.numeric(sqrt(r$var)),
    total = as.numeric(p$total), total_se = as.numeric(p$se))
  r2 <- svyratio(~api00, ~enroll, get(dn))
  p2 <- predict(r2, total = pop_enroll)
  ratio_check[[paste0(dn, "_api00")]] <- list(
    call = sprintf("predict(svyratio(~api00, ~enroll, %s), total = pop_enroll)", dn),
    ratio = as.numeric(r2$ratio), ratio_se = as.numeric(sqrt(r2$var)),
    total = as.numeric(p2$total), total_se = as.numeric(p2$se))
}
out$ratio_estimator_check <- ratio_check

## ---- B. aggregate.stage = 1 (weights constant within dnum) -------------------------
mk("dclus1_lin", "calibrate(dclus1, ~stype, pop_stype, epsilon = EPS, maxit = MAXIT)")
mk("dclus1_agg_lin", "calibrate(dclus1, ~stype, pop_stype, aggregate.stage = 1, epsilon = EPS, maxit = MAXIT)")
mk("dclus1_agg_rake", "calibrate(dclus1, ~stype, pop_stype, aggregate.stage = 1, calfun = \"raking\", epsilon = EPS, maxit = MAXIT)")
mk("dclus1_g3", "calibrate(dclus1, ~stype + api99, pop_stype_api99, epsilon = EPS, maxit = MAXIT)")
mk("dclus1_g3_agg_lin", "calibrate(dclus1, ~stype + api99, pop_stype_api99, aggregate.stage = 1, epsilon = EPS, maxit = MAXIT)")
mk("dclus1_g3_agg_rake", "calibrate(dclus1, ~stype + api99, pop_stype_api99, aggregate.stage = 1, calfun = \"raking\", epsilon = EPS, maxit = MAXIT)")
within_dnum <- function(d) {
  w <- weights(get(d))
  rng <- tapply(w, apiclus1_csv$dnum, function(v) max(v) - min(v))
  list(constant_within_dnum = all(rng == 0), max_within_dnum_range = max(rng))
}
out$aggregate_check <- lapply(c(dclus1_lin = "dclus1_lin", dclus1_agg_lin = "dclus1_agg_lin",
                                dclus1_agg_rake = "dclus1_agg_rake", dclus1_g3 = "dclus1_g3",
                                dclus1_g3_agg_lin = "dclus1_g3_agg_lin",
                                dclus1_g3_agg_rake = "dclus1_g3_agg_rake"), within_dnum)

## ---- C. bounds: constant (bounds.const = TRUE) and multiplicative --------------------
mk("dclus1_g3_cb_lin", "calibrate(dclus1, ~stype + api99, pop_stype_api99, bounds = c(18, 55), bounds.const = TRUE, calfun = \"linear\", epsilon = EPS, maxit = MAXIT)")
mk("dclus1_g3_cb_rake", "calibrate(dclus1, ~stype + api99, pop_stype_api99, bounds = c(18, 55), bounds.const = TRUE, calfun = \"raking\", epsilon = EPS, maxit = MAXIT)")
mk("dclus1_g3_cb_logit", "calibrate(dclus1, ~stype + api99, pop_stype_api99, bounds = c(18, 55), bounds.const = TRUE, calfun = \"logit\", epsilon = EPS, maxit = MAXIT)")
mk("dclus1_g3_cb_lin_wide", "calibrate(dclus1, ~stype + api99, pop_stype_api99, bounds = c(15, 60), bounds.const = TRUE, calfun = \"linear\", epsilon = EPS, maxit = MAXIT)")
mk("dclus1_g3_cb_rake_wide", "calibrate(dclus1, ~stype + api99, pop_stype_api99, bounds = c(15, 60), bounds.const = TRUE, calfun = \"raking\", epsilon = EPS, maxit = MAXIT)")
# infeasible: R gives a "Failed to converge" warning then the error "Calibration failed"
mk("dclus1_g3_cb_lin_infeasible", "calibrate(dclus1, ~stype + api99, pop_stype_api99, bounds = c(20, 50), bounds.const = TRUE, calfun = \"linear\", epsilon = EPS, maxit = MAXIT)")
mk("dclus1_g3_cb_list", "calibrate(dclus1, ~stype + api99, pop_stype_api99, bounds = list(lower = rep(-Inf, nrow(apiclus1_csv)), upper = c(40, rep(Inf, nrow(apiclus1_csv) - 1))), bounds.const = TRUE, epsilon = EPS, maxit = MAXIT)")
mk("dclus1_g3_mb_lin", "calibrate(dclus1, ~stype + api99, pop_stype_api99, bounds = c(0.6, 1.6), calfun = \"linear\", epsilon = EPS, maxit = MAXIT)")
mk("dclus1_g3_mb_rake", "calibrate(dclus1, ~stype + api99, pop_stype_api99, bounds = c(0.6, 1.6), calfun = \"raking\", epsilon = EPS, maxit = MAXIT)")
mk("dstrat_cb_rake", "calibrate(dstrat, ~stype + api99, pop_stype_api99, bounds = c(15, 60), bounds.const = TRUE, calfun = \"raking\", epsilon = EPS, maxit = MAXIT)")
mk("dclus1_g3_trim", "calibrate(dclus1, ~stype + api99, pop_stype_api99, bounds = c(0.5, 2), trim = c(2/3, 3/2), epsilon = EPS, maxit = MAXIT)")

## ---- D. trimWeights on a calibrated design -------------------------------------------
mk("dclus1_g3_tw", "trimWeights(dclus1_g3, lower = 20, upper = 45)")
mk("dclus1_g3_tw_strict", "trimWeights(dclus1_g3, lower = 20, upper = 45, strict = TRUE)")
mk("dclus1_g3_tw_upper", "trimWeights(dclus1_g3, upper = 50)")
mk("dstrat_tw", "trimWeights(dstrat, lower = 20, upper = 40)")
mk("dstrat_tw_strict", "trimWeights(dstrat, lower = 20, upper = 40, strict = TRUE)")

## ---- weights and estimates for every design ------------------------------------------
est <- function(d) list(
  total_api00 = run(sprintf("svytotal(~api00, %s)", d)),
  mean_api00 = run(sprintf("svymean(~api00, %s)", d)),
  total_api_stu = run(sprintf("svytotal(~api_stu, %s)", d)),
  mean_api99_api00_stype = run(sprintf("svymean(~api99 + api00 + stype, %s)", d)),
  total_enroll = run(sprintf("svytotal(~enroll, %s)", d)),
  total_stype = run(sprintf("svytotal(~stype, %s)", d)),
  by_stype_mean_api00 = run(sprintf("svyby(~api00, ~stype, %s, svymean, covmat = TRUE)", d)),
  by_sch_wide_mean_api00 = run(sprintf("svyby(~api00, ~sch_wide, %s, svymean, covmat = TRUE)", d)),
  by_sch_wide_total_enroll = run(sprintf("svyby(~enroll, ~sch_wide, %s, svytotal, covmat = TRUE)", d)))

all_designs <- c("dstrat", "dclus1", names(designs))
ok <- all_designs[vapply(all_designs, function(d) exists(d, envir = globalenv()) &&
                                                   inherits(get(d), "survey.design"), TRUE)]
for (src in c("apistrat_csv", "apiclus1_csv")) {
  base <- if (src == "apistrat_csv") "dstrat" else "dclus1"
  ds <- ok[startsWith(ok, base)]
  wt <- data.frame(snum = get(src)$snum)
  for (d in ds) wt[[d]] <- weights(get(d))
  write_csv_exact(wt, if (base == "dstrat") "apistrat_weights.csv" else "apiclus1_weights.csv")
}
designs <- c(list(dstrat = list(call = "svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat_csv, fpc = ~fpc)"),
                  dclus1 = list(call = "svydesign(id = ~dnum, weights = ~pw, data = apiclus1_csv, fpc = ~fpc)")),
             designs)
out$constants <- list(pop_enroll = pop_enroll, pop_stype = pop_stype,
                      pop_stype_api99 = pop_stype_api99, EPS = EPS, MAXIT = MAXIT)
out$designs <- designs
out$weight_summary <- lapply(setNames(ok, ok), function(d) {
  w <- weights(get(d)); w0 <- weights(if (startsWith(d, "dstrat")) dstrat else dclus1)
  list(min = min(w), max = max(w), sum = sum(w), min_ratio = min(w / w0), max_ratio = max(w / w0))
})
out$results <- lapply(setNames(ok, ok), est)

write_json(out, "calibration_variants.json")
cat("wrote calibration_variants.json\n")
