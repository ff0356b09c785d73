# Tests and intervals: regTermTest (Wald/WorkingWald/LRT), svychisq, svyciprop, svyquantile, deff.
# R reference values for kalib (issue 19).  Run from this directory:
#     Rscript tests_intervals.R
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
          "enroll", "api.stu", "meals", "ell", "mobility", "pw")
exp_api <- function(df, file, extra) {
  df <- df[, c(keep, extra)]
  for (v in extra) if (is.array(df[[v]])) df[[v]] <- as.vector(df[[v]])
  names(df) <- gsub(".", "_", names(df), fixed = TRUE)
  write_csv_exact(df, file)
  read_back(file)
}
apistrat_csv <- exp_api(apistrat, "apistrat.csv", "fpc")
apiclus1_csv <- exp_api(apiclus1, "apiclus1.csv", "fpc")
apiclus2_csv <- exp_api(apiclus2, "apiclus2.csv", c("fpc1", "fpc2"))

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat_csv, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1_csv, fpc = ~fpc)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2_csv)
out$designs <- list(
  dstrat = "svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat_csv, fpc = ~fpc)",
  dclus1 = "svydesign(id = ~dnum, weights = ~pw, data = apiclus1_csv, fpc = ~fpc)",
  dclus2 = "svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2_csv)")
out$degf <- list(dstrat = degf(dstrat), dclus1 = degf(dclus1), dclus2 = degf(dclus2))

## ================= 1. regTermTest =========================================================
ctl <- glm.control(epsilon = 1e-13, maxit = 200)
models <- list(
  bin_strat = "svyglm(I(sch_wide == \"Yes\") ~ ell + meals + mobility, design = dstrat, family = quasibinomial(), control = ctl)",
  bin_clus2 = "svyglm(I(sch_wide == \"Yes\") ~ ell + meals + mobility, design = dclus2, family = quasibinomial(), control = ctl)",
  binomial_clus2 = "svyglm(I(sch_wide == \"Yes\") ~ ell + meals + mobility, design = dclus2, family = binomial(), control = ctl)",
  gauss_strat = "svyglm(api00 ~ ell + meals + mobility, design = dstrat, control = ctl)",
  gauss_clus2 = "svyglm(api00 ~ ell + meals + mobility, design = dclus2, control = ctl)")
summ_rtt <- function(r) {
  u <- unclass(r)
  res <- list(class = class(r), test_terms = I(u$test.terms), df = u$df, ddf = u$ddf)
  if (!is.null(u$Ftest)) res$Ftest <- as.numeric(u$Ftest)
  if (!is.null(u$chisq)) res$chisq <- as.numeric(u$chisq)
  if (!is.null(u$lambda)) res$lambda <- I(as.numeric(u$lambda))
  res$p <- as.numeric(u$p)
  res
}
rtt <- list()
for (mn in names(models)) {
  m <- suppressWarnings(eval(parse(text = models[[mn]])))
  assign(mn, m, envir = globalenv())
  tests <- list()
  for (term in c("~ell + meals", "~mobility")) {
    tk <- if (term == "~mobility") "mobility" else "ell_meals"
    calls <- c(
      Wald = sprintf("regTermTest(%s, %s)", mn, term),
      Wald_dfInf = sprintf("regTermTest(%s, %s, df = Inf)", mn, term),
      WorkingWald_satterthwaite = sprintf("regTermTest(%s, %s, method = \"WorkingWald\", lrt.approximation = \"satterthwaite\")", mn, term),
      WorkingWald_saddlepoint = sprintf("regTermTest(%s, %s, method = \"WorkingWald\", lrt.approximation = \"saddlepoint\")", mn, term),
      LRT_satterthwaite = sprintf("regTermTest(%s, %s, method = \"LRT\", lrt.approximation = \"satterthwaite\")", mn, term),
      LRT_saddlepoint = sprintf("regTermTest(%s, %s, method = \"LRT\", lrt.approximation = \"saddlepoint\")", mn, term),
      LRT_satterthwaite_dfInf = sprintf("regTermTest(%s, %s, method = \"LRT\", lrt.approximation = \"satterthwaite\", df = Inf)", mn, term),
      LRT_saddlepoint_dfInf = sprintf("regTermTest(%s, %s, method = \"LRT\", lrt.approximation = \"saddlepoint\", df = Inf)", mn, term))
    tests[[tk]] <- lapply(calls, function(cl) suppressWarnings(run(cl, summ_rtt)))
  }
  rtt[[mn]] <- list(model = models[[mn]], coef = coef(m), vcov = mat(vcov(m)),
                    deviance = deviance(m), tests = tests)
}
out$regTermTest <- rtt

## ================= 2. svychisq ============================================================
summ_htest <- function(h) list(statistic = setNames(as.numeric(h$statistic), names(h$statistic)),
                               parameter = h$parameter, p_value = as.numeric(h$p.value),
                               method = h$method)
chisq <- list()
for (d in c("dstrat", "dclus1", "dclus2")) {
  chisq[[d]] <- lapply(setNames(nm = c("F", "Chisq", "Wald", "adjWald", "lincom", "saddlepoint")),
                       function(st) suppressWarnings(run(sprintf("svychisq(~sch_wide + stype, %s, statistic = \"%s\")", d, st), summ_htest)))
  chisq[[d]]$table <- run(sprintf("svytable(~sch_wide + stype, %s)", d), function(t) list(values = mat(unclass(t)[, , drop = FALSE])))
}
out$svychisq <- chisq

## ================= 3. svyciprop ===========================================================
summ_ciprop <- function(ci) list(estimate = as.numeric(ci), se = as.numeric(SE(ci)),
                                 ci = setNames(as.numeric(attr(ci, "ci")), names(attr(ci, "ci"))))
methods_ci <- c("logit", "likelihood", "asin", "beta", "mean", "xlogit")
ciprop <- list()
for (d in c("dclus1", "dstrat", "dclus2")) {
  ciprop[[d]] <- list(
    overall = lapply(setNames(nm = methods_ci), function(me)
      run(sprintf("svyciprop(~I(sch_wide == \"Yes\"), %s, method = \"%s\")", d, me), summ_ciprop)),
    overall_dfInf = lapply(setNames(nm = methods_ci), function(me)
      run(sprintf("svyciprop(~I(sch_wide == \"Yes\"), %s, method = \"%s\", df = Inf)", d, me), summ_ciprop)),
    by_stype = lapply(setNames(nm = methods_ci), function(me)
      run(sprintf("svyby(~I(sch_wide == \"Yes\"), ~stype, %s, svyciprop, vartype = c(\"se\", \"ci\"), method = \"%s\")", d, me),
          function(b) list(table = df_json(as.data.frame(b))))),
    by_stype_subset = lapply(setNames(nm = methods_ci), function(me) lapply(setNames(nm = c("E", "H", "M")), function(s)
      run(sprintf("svyciprop(~I(sch_wide == \"Yes\"), subset(%s, stype == \"%s\"), method = \"%s\")", d, s, me), summ_ciprop))),
    degf_subset = lapply(setNames(nm = c("E", "H", "M")), function(s) degf(subset(get(d), stype == s))))
}
out$svyciprop <- ciprop

## ================= 4. svyquantile =========================================================
summ_q <- function(q) {
  res <- lapply(unclass(q), function(m) list(rownames = I(rownames(m)), colnames = I(colnames(m)),
                                              values = lapply(seq_len(nrow(m)), function(i) I(unname(m[i, ])))))
  res
}
qs <- "c(0.25, 0.5, 0.75)"
itypes <- c("mean", "beta", "xlogit", "asin", "score")
qrules <- c("math", "school", "shahvaish", paste0("hf", 1:9))
rclus1 <- as.svrepdesign(dclus1, type = "JK1", compress = FALSE)
rw <- unclass(as.matrix(weights(rclus1, "analysis"))); rw <- matrix(as.numeric(rw), nrow = nrow(rw)); colnames(rw) <- paste0("rep_", seq_len(ncol(rw)))
write_csv_exact(data.frame(snum = apiclus1_csv$snum, rw), "apiclus1_jk1_repweights.csv")
set.seed(42)
bclus1 <- as.svrepdesign(dclus1, type = "bootstrap", replicates = 50, compress = FALSE)
bw <- unclass(as.matrix(weights(bclus1, "analysis"))); bw <- matrix(as.numeric(bw), nrow = nrow(bw)); colnames(bw) <- paste0("rep_", seq_len(ncol(bw)))
write_csv_exact(data.frame(snum = apiclus1_csv$snum, bw), "apiclus1_boot50_repweights.csv")
out$replicate_designs <- list(
  rclus1 = list(call = "as.svrepdesign(dclus1, type = \"JK1\", compress = FALSE)",
                weights_file = "apiclus1_jk1_repweights.csv", type = rclus1$type,
                scale = rclus1$scale, rscales = I(rclus1$rscales), mse = rclus1$mse, degf = degf(rclus1)),
  bclus1 = list(call = "set.seed(42); as.svrepdesign(dclus1, type = \"bootstrap\", replicates = 50, compress = FALSE)",
                weights_file = "apiclus1_boot50_repweights.csv", type = bclus1$type,
                scale = bclus1$scale, rscales = I(bclus1$rscales), mse = bclus1$mse, degf = degf(bclus1)))
quant <- list()
for (d in c("dclus1", "dstrat", "dclus2")) {
  quant[[d]] <- list(
    interval_type = lapply(setNames(nm = itypes), function(it)
      run(sprintf("svyquantile(~api00, %s, quantiles = %s, interval.type = \"%s\", ci = TRUE, se = TRUE)", d, qs, it), summ_q)),
    qrule = lapply(setNames(nm = qrules), function(qr)
      run(sprintf("svyquantile(~api00, %s, quantiles = %s, qrule = \"%s\", ci = TRUE, se = TRUE)", d, qs, qr), summ_q)),
    qrule_beta = lapply(setNames(nm = qrules), function(qr)
      run(sprintf("svyquantile(~api00, %s, quantiles = %s, qrule = \"%s\", interval.type = \"beta\", ci = TRUE, se = TRUE)", d, qs, qr), summ_q)),
    dfInf = run(sprintf("svyquantile(~api00, %s, quantiles = %s, ci = TRUE, se = TRUE, df = Inf)", d, qs), summ_q),
    two_vars = run(sprintf("svyquantile(~api00 + enroll, %s, quantiles = %s, ci = TRUE, se = TRUE, na.rm = TRUE)", d, qs), summ_q),
    by_stype = run(sprintf("svyby(~api00, ~stype, %s, svyquantile, quantiles = %s, ci = TRUE, vartype = c(\"se\", \"ci\"))", d, qs),
                   function(b) list(table = df_json(as.data.frame(b)))),
    by_stype_hf7 = run(sprintf("svyby(~api00, ~stype, %s, svyquantile, quantiles = 0.5, qrule = \"hf7\", ci = TRUE, vartype = c(\"se\", \"ci\"))", d),
                       function(b) list(table = df_json(as.data.frame(b)))),
    wald_not_available = run(sprintf("svyquantile(~api00, %s, quantiles = %s, interval.type = \"Wald\", ci = TRUE)", d, qs), summ_q),
    oldsvyquantile = lapply(setNames(nm = c("Wald", "score", "betaWald")), function(it)
      run(sprintf("oldsvyquantile(~api00, %s, quantiles = %s, ci = TRUE, interval.type = \"%s\")", d, qs, it),
          function(q) list(quantile = mat(q$quantiles), ci = lapply(setNames(nm = dimnames(q$CIs)[[1]]), function(k) mat(q$CIs[k, , ])),
                           se = setNames(as.numeric(SE(q)), NULL)))))
}
for (r in c("rclus1", "bclus1")) {
  quant[[r]] <- list(
    interval_type = lapply(setNames(nm = c("mean", "beta", "xlogit", "asin", "quantile")), function(it)
      run(sprintf("svyquantile(~api00, %s, quantiles = %s, interval.type = \"%s\", ci = TRUE, se = TRUE)", r, qs, it), summ_q)),
    qrule = lapply(setNames(nm = c("math", "school", "hf7")), function(qr)
      run(sprintf("svyquantile(~api00, %s, quantiles = %s, qrule = \"%s\", ci = TRUE, se = TRUE)", r, qs, qr), summ_q)))
}
out$svyquantile <- quant

## ================= 5. design effects ======================================================
deffs <- list()
for (d in c("dstrat", "dclus1", "dclus2")) {
  deffs[[d]] <- list(
    mean_true = run(sprintf("svymean(~api00 + enroll, %s, deff = TRUE, na.rm = TRUE)", d)),
    mean_replace = run(sprintf("svymean(~api00 + enroll, %s, deff = \"replace\", na.rm = TRUE)", d)),
    total_true = run(sprintf("svytotal(~api00 + enroll, %s, deff = TRUE, na.rm = TRUE)", d)),
    total_replace = run(sprintf("svytotal(~api00 + enroll, %s, deff = \"replace\", na.rm = TRUE)", d)),
    mean_stype_true = run(sprintf("svymean(~stype, %s, deff = TRUE)", d)),
    mean_stype_replace = run(sprintf("svymean(~stype, %s, deff = \"replace\")", d)),
    subset_E_mean_true = run(sprintf("svymean(~api00, subset(%s, stype == \"E\"), deff = TRUE)", d)),
    subset_E_mean_replace = run(sprintf("svymean(~api00, subset(%s, stype == \"E\"), deff = \"replace\")", d)),
    by_stype_mean_true = run(sprintf("svyby(~api00, ~stype, %s, svymean, deff = TRUE)", d)),
    by_stype_mean_replace = run(sprintf("svyby(~api00, ~stype, %s, svymean, deff = \"replace\")", d)),
    by_stype_total_true = run(sprintf("svyby(~api00, ~stype, %s, svytotal, deff = TRUE)", d)))
}
out$deff <- deffs

write_json(out, "tests_intervals.json")
cat("wrote tests_intervals.json\n")
