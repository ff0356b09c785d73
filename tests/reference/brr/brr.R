# Reference values for balanced repeated replication (BRR), Fay's BRR and
# user-supplied replicate weights (svrepdesign of every type), from R survey.
# Run from this directory:
#     Rscript brr.R
# Writes the generated data sets (CSV), replicate weight matrices (CSV), the
# Hadamard matrix R used, and brr_reference.json.
suppressPackageStartupMessages(library(survey))
library(jsonlite)
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
stat_out <- function(s, call_str = NULL) {
  v <- as.matrix(vcov(s)); cf <- coef(s)
  if (is.null(names(cf))) names(cf) <- rownames(v)
  r <- list(coef = cf, se = setNames(sqrt(diag(v)), names(cf)), vcov = mat(v))
  if (!is.null(call_str)) r <- c(list(call = call_str), r)
  r
}
estimates <- function(D) list(
  svymean_y_z = stat_out(svymean(~y + z, D), "svymean(~y + z, D)"),
  svytotal_y_z = stat_out(svytotal(~y + z, D), "svytotal(~y + z, D)"),
  svymean_x = stat_out(svymean(~x, D), "svymean(~x, D)"),
  svytotal_x = stat_out(svytotal(~x, D), "svytotal(~x, D)"),
  svyratio_y_z = stat_out(svyratio(~y, ~z, D), "svyratio(~y, ~z, D)"))
rep_info <- function(D) list(type = D$type, rho = if (is.null(D$rho)) NA else D$rho,
                             scale = D$scale, rscales = D$rscales,
                             mse = if (is.null(D$mse)) NA else D$mse,
                             n_replicates = ncol(weights(D, "analysis")), degf = degf(D))
write_rw <- function(D, file, id) {
  rw <- weights(D, "analysis"); colnames(rw) <- paste0("rep_", seq_len(ncol(rw)))
  write17(data.frame(id = id, weight = weights(D, "sampling"), rw), file)
}

## ---- data: 10 strata x 2 PSUs x 3-6 units ----------------------------------
set.seed(1789)
H <- 10
units <- do.call(rbind, lapply(seq_len(H), function(h) {
  M_h <- 20 + 4 * h                       # PSUs in the population stratum
  do.call(rbind, lapply(1:2, function(j) {
    m <- sample(3:6, 1); Mi <- m * sample(4:8, 1)   # units sampled / units in PSU
    data.frame(stratum = h, psu = 100 * h + j, w = (M_h / 2) * (Mi / m),
               u = rnorm(1, 0, 2) + rnorm(m), k = m)
  }))
}))
units$id <- seq_len(nrow(units))
units$x <- factor(sample(c("a", "b", "c"), nrow(units), replace = TRUE, prob = c(0.5, 0.3, 0.2)))
units$y <- round(50 + 3 * units$stratum + 5 * (units$x == "b") - 4 * (units$x == "c") + 4 * units$u, 3)
units$z <- round(20 + units$stratum + 0.3 * units$y + rnorm(nrow(units), 0, 3), 3)
# stratum is an INTEGER 1..10 on purpose: brrweights() orders strata as character
# strings ("1", "10", "2", ...) when it assigns Hadamard rows (see README).
dat <- units[, c("id", "stratum", "psu", "w", "x", "y", "z")]
write17(transform(dat, x = as.character(x)), "brr_data.csv")
pop_x <- c(`(Intercept)` = 9000, xb = 2600, xc = 1900)   # calibration totals for ~x
write_json17(list(formula = "~x", totals = pop_x,
                  margin = list(x = c("a", "b", "c"), total = c(9000 - 2600 - 1900, 2600, 1900))),
             "brr_calibration_totals.json")

d <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = dat)
out <- list(R_version = R.version.string, survey_version = as.character(packageVersion("survey")),
            n = nrow(dat), n_strata = H, n_psu = 2 * H)
out$linearization <- estimates(d)

## ---- as.svrepdesign: BRR and Fay ---------------------------------------------
dbrr <- as.svrepdesign(d, type = "BRR")
dfay <- as.svrepdesign(d, type = "Fay", fay.rho = 0.5)
Hm <- hadamard(H)
write_rw(dbrr, "brr_repweights.csv", dat$id)
write_rw(dfay, "fay_repweights.csv", dat$id)
# Which Hadamard row each stratum got and which PSU is "first" in its stratum:
# strata sorted as character strings, PSUs by first appearance in the data.
sl <- sort(as.character(unique(dat$stratum)))
first_psu <- tapply(dat$psu, as.character(dat$stratum), function(p) p[!duplicated(p)][1])
psu_tab <- unique(dat[, c("stratum", "psu")])
psu_tab$hadamard_row <- 1 + match(as.character(psu_tab$stratum), sl)   # 1-based row of H
psu_tab$first_in_stratum <- psu_tab$psu == first_psu[as.character(psu_tab$stratum)]
# rule check: multiplier of a first PSU in replicate r is (2 - rho) if H[row, r] == 1
# else rho; the second PSU gets the other one.
rule <- function(rho) {
  m <- t(sapply(seq_len(nrow(psu_tab)), function(i) {
    hrow <- Hm[psu_tab$hadamard_row[i], ]
    a <- ifelse(hrow == 1, 2 - rho, rho)
    if (psu_tab$first_in_stratum[i]) a else 2 - a
  }))
  m[match(dat$psu, psu_tab$psu), ]
}
chk_brr <- max(abs(weights(dbrr, "analysis") - dat$w * rule(0)))
chk_fay <- max(abs(weights(dfay, "analysis") - dat$w * rule(0.5)))
write_json17(list(
  call = "survey::hadamard(10)  (0/1 coding; R returns the smallest Hadamard matrix with more than 10 rows)",
  matrix = unclass(Hm),
  rows_used = "rows 2..11 (row k+1 for the k-th stratum in CHARACTER sort order of the stratum labels); all 12 columns = 12 replicates",
  stratum_order = sl,
  psu_table = list(stratum = psu_tab$stratum, psu = psu_tab$psu,
                   hadamard_row = psu_tab$hadamard_row,
                   first_in_stratum = psu_tab$first_in_stratum),
  multiplier_rule = "replicate r, first PSU (first appearance in data) of a stratum with Hadamard row k: (2 - rho) if H[k, r] == 1 else rho; the other PSU gets the complement; BRR rho = 0",
  rule_check_max_abs_diff = list(BRR = chk_brr, Fay = chk_fay)), "brr_hadamard.json")

out$BRR <- c(list(design = rep_info(dbrr), call = "as.svrepdesign(d, type = 'BRR')"), estimates(dbrr))
out$Fay <- c(list(design = rep_info(dfay), call = "as.svrepdesign(d, type = 'Fay', fay.rho = 0.5)"),
             estimates(dfay))
out$BRR_mse <- c(list(design = rep_info(as.svrepdesign(d, type = "BRR", mse = TRUE)),
                      call = "as.svrepdesign(d, type = 'BRR', mse = TRUE)"),
                 estimates(as.svrepdesign(d, type = "BRR", mse = TRUE)))
out$Fay_mse <- c(list(design = rep_info(as.svrepdesign(d, type = "Fay", fay.rho = 0.5, mse = TRUE)),
                      call = "as.svrepdesign(d, type = 'Fay', fay.rho = 0.5, mse = TRUE)"),
                 estimates(as.svrepdesign(d, type = "Fay", fay.rho = 0.5, mse = TRUE)))

## ---- calibration re-applied to every replicate --------------------------------
cal_out <- function(D, calfun, call_str, file) {
  Dc <- calibrate(D, ~x, pop_x, calfun = calfun, epsilon = 1e-13, maxit = 1000)
  write_rw(Dc, file, dat$id)
  rw <- weights(Dc, "analysis")
  X <- model.matrix(~x, dat)
  c(list(call = call_str, design = rep_info(Dc),
         max_abs_replicate_total_error = max(abs(t(rw) %*% X - matrix(pop_x, ncol(rw), 3, byrow = TRUE))),
         weights_file = file), estimates(Dc))
}
out$BRR_calibrated_linear <- cal_out(dbrr, "linear", "calibrate(as.svrepdesign(d, type = 'BRR'), ~x, pop_x)",
                                     "brr_calibrated_linear_repweights.csv")
out$BRR_calibrated_raking <- cal_out(dbrr, "raking",
                                     "calibrate(as.svrepdesign(d, type = 'BRR'), ~x, pop_x, calfun = 'raking')",
                                     "brr_calibrated_raking_repweights.csv")
out$Fay_calibrated_linear <- cal_out(dfay, "linear",
                                     "calibrate(as.svrepdesign(d, type = 'Fay', fay.rho = 0.5), ~x, pop_x)",
                                     "fay_calibrated_linear_repweights.csv")
out$Fay_calibrated_raking <- cal_out(dfay, "raking",
                                     "calibrate(as.svrepdesign(d, type = 'Fay', fay.rho = 0.5), ~x, pop_x, calfun = 'raking')",
                                     "fay_calibrated_raking_repweights.csv")
# for comparison: calibrated linearization design
dcal <- calibrate(d, ~x, pop_x)
out$linearization_calibrated_linear <- c(list(call = "calibrate(d, ~x, pop_x)"), estimates(dcal))

## ---- svrepdesign() with user-supplied replicate weights, every type ------------
# Replicate weight sets (all "combined" = analysis weights):
#  BRR / Fay : the matrices above;  JKn: as.svrepdesign(d, "JKn");  JK1: as.svrepdesign
#  of the unstratified cluster design;  bootstrap: as.svrepdesign(d, "bootstrap",
#  replicates = 50) after set.seed(42);  successive-difference: 80 ACS-style columns
#  built from survey::hadamard(79) (80 x 80), factor 1 + 2^(-3/2) (H[r1, .] - H[r2, .])
#  with +/-1 coding, r1 = ((i - 1) mod 80) + 1, r2 = (i mod 80) + 1 for the i-th unit;
#  other: the bootstrap columns with scale = 0.04 and rscales = 0.5 + (1:50)/100.
djkn <- as.svrepdesign(d, type = "JKn")
djk1 <- as.svrepdesign(svydesign(id = ~psu, weights = ~w, data = dat), type = "JK1")
set.seed(42)
dboot <- as.svrepdesign(d, type = "bootstrap", replicates = 50)
H80 <- 2 * hadamard(79) - 1
sdr_fac <- t(sapply(seq_len(nrow(dat)), function(i) {
  r1 <- ((i - 1) %% 80) + 1; r2 <- (i %% 80) + 1
  1 + 2^(-1.5) * (H80[r1, ] - H80[r2, ])
}))
sets <- list(
  BRR = weights(dbrr, "analysis"), Fay = weights(dfay, "analysis"),
  JKn = weights(djkn, "analysis"), JK1 = weights(djk1, "analysis"),
  bootstrap = weights(dboot, "analysis"), sdr = dat$w * sdr_fac)
for (nm in names(sets)) {
  rw <- sets[[nm]]; colnames(rw) <- paste0("rep_", seq_len(ncol(rw)))
  write17(data.frame(id = dat$id, weight = dat$w, rw), sprintf("svrep_%s_repweights.csv", nm))
}
out$generators <- list(
  JKn = c(list(call = "as.svrepdesign(d, type = 'JKn')"), rep_info(djkn)),
  JK1 = c(list(call = "as.svrepdesign(svydesign(id = ~psu, weights = ~w, data = dat), type = 'JK1')"),
          rep_info(djk1)),
  bootstrap = c(list(call = "set.seed(42); as.svrepdesign(d, type = 'bootstrap', replicates = 50)"),
                rep_info(dboot)),
  sdr_factor_values = sort(unique(round(as.vector(sdr_fac), 12))))

sv <- function(type, rw, mse, ...) {
  args <- list(data = dat, repweights = as.data.frame(rw), weights = ~w, type = type,
               combined.weights = TRUE, mse = mse, ...)
  warn <- character(0)
  D <- withCallingHandlers(tryCatch(do.call(svrepdesign, args), error = function(e) e),
                           warning = function(w) { warn <<- c(warn, conditionMessage(w))
                                                   invokeRestart("muffleWarning") })
  extra <- list(...)
  call_str <- sprintf("svrepdesign(data = dat, repweights = <%d columns>, weights = ~w, type = '%s', combined.weights = TRUE, mse = %s%s)",
                      ncol(rw), type, mse,
                      if (length(extra)) paste0(", ", paste(names(extra), vapply(extra, function(v)
                        if (length(v) > 1) "<vector, see design.rscales>" else format(v, digits = 17),
                        ""), sep = " = ", collapse = ", ")) else "")
  if (inherits(D, "error")) return(list(call = call_str, error = conditionMessage(D), warnings = warn))
  c(list(call = call_str, warnings = warn, design = rep_info(D)),
    list(svymean_y_z = stat_out(svymean(~y + z, D)), svytotal_y_z = stat_out(svytotal(~y + z, D))))
}
jkn_rscales <- djkn$rscales
jk1_n <- ncol(sets$JK1)
other_rscales <- 0.5 + (1:50) / 100
out$svrepdesign <- list()
for (mse in c(FALSE, TRUE)) {
  tag <- if (mse) "mse_TRUE" else "mse_FALSE"
  out$svrepdesign[[tag]] <- list(
    BRR = sv("BRR", sets$BRR, mse),
    Fay = sv("Fay", sets$Fay, mse, rho = 0.5),
    successive_difference = sv("successive-difference", sets$sdr, mse),
    ACS = sv("ACS", sets$sdr, mse),
    JK1_scale_given = sv("JK1", sets$JK1, mse, scale = (jk1_n - 1) / jk1_n),
    JK1_scale_guessed = sv("JK1", sets$JK1, mse),
    JKn_rscales_given = sv("JKn", sets$JKn, mse, rscales = jkn_rscales),
    JKn_rscales_missing = sv("JKn", sets$JKn, mse),
    bootstrap_default_scale = sv("bootstrap", sets$bootstrap, mse),
    bootstrap_scale_as_R_bootweights = sv("bootstrap", sets$bootstrap, mse, scale = dboot$scale),
    other = sv("other", sets$bootstrap, mse, scale = 0.04, rscales = other_rscales),
    other_defaults = sv("other", sets$bootstrap, mse))
}
write_json17(out, "brr_reference.json")
cat("done\n")
