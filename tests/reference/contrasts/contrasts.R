# Reference values for contrasts and small design-based summaries from R survey:
# svycontrast (linear and nonlinear) on svymean and svyby results, svyttest,
# svyvar, svytable, svytotal/svymean of an interaction.  Run from this directory:
#     Rscript contrasts.R
# Designs: apistrat (stratified, fpc), apiclus1 calibrated with calibrate() (linear
# GREG to the stype counts of apipop, as in ?calibrate), and a JKn replicate
# version of apistrat.  Writes api*.csv, the replicate and calibrated weights, and
# contrasts_reference.json.
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
  v <- suppressWarnings(vcov(s))
  v <- as.matrix(v)
  cf <- coef(s)
  if (is.null(names(cf)) && !is.null(rownames(v))) names(cf) <- rownames(v)
  list(call = call_str, coef = cf, se = setNames(sqrt(diag(v)), names(cf)), vcov = mat(v))
}
ttest_out <- function(t, call_str) {
  list(call = call_str, statistic = unname(t$statistic), df = unname(t$parameter),
       p_value = unname(t$p.value), estimate = unname(t$estimate),
       conf_int = as.vector(t$conf.int), conf_level = attr(t$conf.int, "conf.level"),
       method = t$method)
}

keep <- c("snum", "dnum", "stype", "sch.wide", "comp.imp", "api00", "api99", "enroll", "pw", "fpc")
exp_api <- function(df, file) {
  out <- df[, keep]
  names(out) <- gsub(".", "_", names(out), fixed = TRUE)
  for (j in c("stype", "sch_wide", "comp_imp")) out[[j]] <- as.character(out[[j]])
  write17(out, file)
}
exp_api(apistrat, "apistrat.csv")
exp_api(apiclus1, "apiclus1.csv")

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
pop.totals <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018)
dclus1g <- calibrate(dclus1, ~stype, pop.totals)
djkn <- as.svrepdesign(dstrat, type = "JKn")

write17(data.frame(snum = apiclus1$snum, pw = apiclus1$pw, w_cal = weights(dclus1g)),
        "apiclus1_calibrated_weights.csv")
rw <- weights(djkn, "analysis"); colnames(rw) <- paste0("rep_", seq_len(ncol(rw)))
write17(data.frame(snum = apistrat$snum, weight = weights(djkn, "sampling"), rw),
        "apistrat_jkn_repweights.csv.gz")

lor_lgl <- function(a, b) {
  tr <- function(g, v) as.name(sprintf('%s:I(sch.wide == "Yes")%s', g, v))
  bquote(log(.(tr(a, "TRUE")) / .(tr(a, "FALSE"))) - log(.(tr(b, "TRUE")) / .(tr(b, "FALSE"))))
}
lor_num <- function(a, b) {
  a <- as.name(a); b <- as.name(b)
  bquote(log(.(a) / (1 - .(a))) - log(.(b) / (1 - .(b))))
}

run_design <- function(D, is_rep) {
  r <- list()
  rr <- if (is_rep) list(return.replicates = TRUE) else list()
  ## svymean(~api00 + api99)
  # For replicate designs: nonlinear contrasts use the replicates (return.replicates =
  # TRUE); linear contrasts use the object without replicates, because svycontrast()
  # of a linear contrast on an svrepstat WITH replicates errors in survey 4.1.1.
  m <- do.call(svymean, c(list(~api00 + api99, D), rr))
  ml <- svymean(~api00 + api99, D)
  r$svymean_api00_api99 <- stat_out(ml, "svymean(~api00 + api99, D)")
  r$mean_difference <- stat_out(svycontrast(ml, c(api00 = 1, api99 = -1)),
                                "svycontrast(m, c(api00 = 1, api99 = -1))")
  if (is_rep) r$linear_contrast_svrepglm_error <- tryCatch(
    { svycontrast(svyglm(api00 ~ 0 + stype, D), c(1, -1, 0)); "no error" },
    error = function(e) paste("svycontrast(svyglm(api00 ~ 0 + stype, <svrepdesign>), c(1, -1, 0)):",
                              conditionMessage(e)))
  if (is_rep) r$linear_contrast_with_replicates_error <- tryCatch(
    { svycontrast(m, c(api00 = 1, api99 = -1)); "no error" },
    error = function(e) paste("svycontrast(svymean(..., return.replicates = TRUE), c(api00 = 1, api99 = -1)):",
                              conditionMessage(e)))
  r$mean_ratio <- stat_out(svycontrast(m, quote(api00 / api99)),
                           "svycontrast(m, quote(api00/api99))")
  r$mean_log_ratio <- stat_out(svycontrast(m, quote(log(api00) - log(api99))),
                               "svycontrast(m, quote(log(api00) - log(api99)))")
  r$mean_two_contrasts <- stat_out(
    svycontrast(ml, list(diff = c(api00 = 1, api99 = -1), avg = c(api00 = 0.5, api99 = 0.5))),
    "svycontrast(m, list(diff = c(api00 = 1, api99 = -1), avg = c(api00 = 0.5, api99 = 0.5)))")
  if (is_rep) {
    m0 <- svymean(~api00 + api99, D)
    r$mean_ratio_delta_method <- stat_out(svycontrast(m0, quote(api00 / api99)),
      "svycontrast(svymean(~api00 + api99, D), quote(api00/api99))  # no replicates -> delta method")
    r$mean_ratio$call <- "svycontrast(svymean(~api00 + api99, D, return.replicates = TRUE), quote(api00/api99))  # replicate-based"
    r$mean_log_ratio$call <- paste(r$mean_log_ratio$call, " # m with return.replicates = TRUE: replicate-based")
  }
  ## svyby(~api00, ~stype, svymean)
  # covmat = TRUE errors for a calibrated survey.design2 in survey 4.1.1 (see README);
  # the error message is stored instead of values.
  try_by <- function(expr) tryCatch(expr, error = function(e) list(error = conditionMessage(e)))
  for (cm in c(TRUE, FALSE)) {
    tag <- if (cm) "covmat_TRUE" else "covmat_FALSE"
    r[[paste0("by_stype_api00_", tag)]] <- try_by({
      b <- svyby(~api00, ~stype, D, svymean, covmat = cm)
      br <- do.call(svyby, c(list(~api00, ~stype, D, svymean, covmat = cm), rr))
      list(
        svyby = stat_out(b, sprintf("svyby(~api00, ~stype, D, svymean, covmat = %s)", cm)),
        differences = stat_out(svycontrast(b, list(EvH = c(1, -1, 0), EvM = c(1, 0, -1), HvM = c(0, 1, -1))),
                               "svycontrast(b, list(EvH = c(1, -1, 0), EvM = c(1, 0, -1), HvM = c(0, 1, -1)))"),
        weighted_average = stat_out(svycontrast(b, c(0.5, 0.3, 0.2)), "svycontrast(b, c(0.5, 0.3, 0.2))"),
        ratio_E_H = stat_out(svycontrast(br, quote(E / H)),
                             paste("svycontrast(b, quote(E/H))", if (is_rep) " # b with return.replicates = TRUE: replicate-based" else "")))
    })
  }
  # the same domain means as a cell-means svyglm (full covariance on every design).
  # Linear contrasts are written as quote() expressions: svycontrast(<svrepglm>, c(...))
  # errors in survey 4.1.1; on an expression it uses the delta method with vcov, which
  # is exact for a linear function.
  g <- svyglm(api00 ~ 0 + stype, D)
  r$by_stype_api00_svyglm <- list(
    svyglm = stat_out(g, "svyglm(api00 ~ 0 + stype, D)"),
    differences = stat_out(svycontrast(g, list(EvH = quote(stypeE - stypeH), EvM = quote(stypeE - stypeM),
                                               HvM = quote(stypeH - stypeM))),
                           "svycontrast(g, list(EvH = quote(stypeE - stypeH), EvM = quote(stypeE - stypeM), HvM = quote(stypeH - stypeM)))"),
    weighted_average = stat_out(svycontrast(g, quote(0.5 * stypeE + 0.3 * stypeH + 0.2 * stypeM)),
                                "svycontrast(g, quote(0.5 * stypeE + 0.3 * stypeH + 0.2 * stypeM))"),
    ratio_E_H = stat_out(svycontrast(g, quote(stypeE / stypeH)), "svycontrast(g, quote(stypeE/stypeH))"))
  ## proportions of sch.wide == "Yes" by stype; log odds ratios
  for (cm in c(TRUE, FALSE)) {
    tag <- if (cm) "covmat_TRUE" else "covmat_FALSE"
    r[[paste0("by_stype_schwide_logical_", tag)]] <- try_by({
      # (delta method from vcov(p); on the replicate design the replicate-based version is
      #  wrong in survey 4.1.1 for multi-column svyby results -- stored separately)
      p <- svyby(~I(sch.wide == "Yes"), ~stype, D, svymean, covmat = cm)
      lor_list <- list(EvH = lor_lgl("E", "H"), EvM = lor_lgl("E", "M"), HvM = lor_lgl("H", "M"))
      res <- list(
        svyby = stat_out(p, sprintf('svyby(~I(sch.wide == "Yes"), ~stype, D, svymean, covmat = %s)', cm)),
        log_odds_ratios = stat_out(svycontrast(p, lor_list),
          'svycontrast(p, list(EvH = quote(log(`E:I(sch.wide == "Yes")TRUE`/`E:I(sch.wide == "Yes")FALSE`) - log(`H:...TRUE`/`H:...FALSE`)), EvM = ..., HvM = ...))'))
      if (is_rep) {
        pr <- svyby(~I(sch.wide == "Yes"), ~stype, D, svymean, covmat = cm, return.replicates = TRUE)
        res$log_odds_ratios_replicates_R_BUG <- c(
          stat_out(svycontrast(pr, lor_list), "same contrasts on svyby(..., return.replicates = TRUE)"),
          list(note = paste("WRONG in survey 4.1.1: attr(pr, 'replicates') has columns in group-major",
                            "order (E:FALSE, E:TRUE, H:FALSE, ...) but svycontrast names them in",
                            "coef order (E:FALSE, H:FALSE, M:FALSE, E:TRUE, ...). Do not match;",
                            "the correct replicate-based values are in by_stype_schwide_numeric_covmat_TRUE.")))
      }
      res
    })
  }
  r$by_stype_schwide_numeric_covmat_TRUE <- try_by({
    pn <- do.call(svyby, c(list(~as.numeric(sch.wide == "Yes"), ~stype, D, svymean, covmat = TRUE), rr))
    list(
      svyby = stat_out(pn, 'svyby(~as.numeric(sch.wide == "Yes"), ~stype, D, svymean, covmat = TRUE)'),
      log_odds_ratios = stat_out(svycontrast(pn, list(EvH = lor_num("E", "H"), EvM = lor_num("E", "M"),
                                                     HvM = lor_num("H", "M"))),
        "svycontrast(pn, list(EvH = quote(log(E/(1-E)) - log(H/(1-H))), EvM = ..., HvM = ...))"))
  })
  gp <- svyglm(as.numeric(sch.wide == "Yes") ~ 0 + stype, D)
  r$by_stype_schwide_svyglm <- list(
    svyglm = stat_out(gp, 'svyglm(as.numeric(sch.wide == "Yes") ~ 0 + stype, D)'),
    log_odds_ratios = stat_out(svycontrast(gp, list(EvH = lor_num("stypeE", "stypeH"),
                                                   EvM = lor_num("stypeE", "stypeM"),
                                                   HvM = lor_num("stypeH", "stypeM"))),
      "svycontrast(gp, list(EvH = quote(log(stypeE/(1-stypeE)) - log(stypeH/(1-stypeH))), EvM = ..., HvM = ...))"))
  ## t-tests
  r$ttest_api00_schwide <- ttest_out(svyttest(api00 ~ sch.wide, D), "svyttest(api00 ~ sch.wide, D)")
  r$ttest_enroll_compimp <- ttest_out(svyttest(enroll ~ comp.imp, D), "svyttest(enroll ~ comp.imp, D)")
  ## svyvar
  v <- svyvar(~api00 + enroll, D)
  vv <- as.matrix(suppressWarnings(vcov(v)))
  r$svyvar_api00_enroll <- list(
    call = "svyvar(~api00 + enroll, D)",
    matrix = mat(unclass(as.matrix(v))[1:2, 1:2, drop = FALSE]),
    vcov_order = c("var(api00)", "cov(enroll,api00)", "cov(api00,enroll)", "var(enroll)"),
    vcov = unname(vv), se = unname(sqrt(diag(vv))),
    se_matrix = matrix(sqrt(diag(vv)), 2, dimnames = list(c("api00", "enroll"), c("api00", "enroll"))))
  ## tables
  tb <- svytable(~stype + sch.wide, D)
  r$svytable_stype_schwide <- list(call = "svytable(~stype + sch.wide, D)",
                                   rows = rownames(tb), cols = colnames(tb), table = unclass(tb)[, ])
  r$svytotal_interaction <- stat_out(svytotal(~interaction(stype, sch.wide), D),
                                     "svytotal(~interaction(stype, sch.wide), D)")
  r$svymean_interaction <- stat_out(svymean(~interaction(stype, sch.wide), D),
                                    "svymean(~interaction(stype, sch.wide), D)")
  r$degf <- degf(D)
  r
}

out <- list(R_version = R.version.string, survey_version = as.character(packageVersion("survey")),
            designs = list(
              apistrat = "svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)",
              apiclus1_calibrated = "calibrate(svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc), ~stype, c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018))",
              apistrat_jkn = "as.svrepdesign(apistrat design, type = 'JKn')  [mse = FALSE]"),
            jkn_design = list(scale = djkn$scale, rscales = djkn$rscales, mse = djkn$mse,
                              n_replicates = ncol(rw)))
out$apistrat <- run_design(dstrat, FALSE)
out$apiclus1_calibrated <- run_design(dclus1g, FALSE)
out$apistrat_jkn <- run_design(djkn, TRUE)
write_json17(out, "contrasts_reference.json")
cat("done\n")
