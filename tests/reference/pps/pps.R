# PPS without replacement: election_pps with Brewer, Overton, Hartley-Rao, ppsmat (HT and YG).
# R reference values for kalib (issue 19).  Run from this directory:
#     Rscript pps.R
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

data(election)
ep <- election_pps[, c("County", "TotPrecincts", "PrecinctsReporting", "Bush", "Kerry",
                       "Nader", "votes", "p")]
ep$County <- as.character(ep$County)
ep$kerry_won <- ifelse(ep$Kerry > ep$Bush, "yes", "no")   # a domain for svyby
write_csv_exact(ep, "election_pps.csv")
jp <- unname(election_jointprob); colnames(jp) <- paste0("V", 1:ncol(jp))
write_csv_exact(as.data.frame(jp), "election_jointprob.csv")
jhr <- unname(election_jointHR); colnames(jhr) <- paste0("V", 1:ncol(jhr))
write_csv_exact(as.data.frame(jhr), "election_jointHR.csv")

election_pps_csv <- read_back("election_pps.csv")
jointprob <- unname(as.matrix(read.csv("election_jointprob.csv")))
jointHR <- unname(as.matrix(read.csv("election_jointHR.csv")))
stopifnot(identical(election_pps_csv$p, election_pps$p),
          identical(jointprob, unname(election_jointprob)),
          identical(jointHR, unname(election_jointHR)))

psum <- sum(election$p^2) / 40     # as in ?election: population sum of p^2 over n
delta <- jointprob - outer(diag(jointprob), diag(jointprob))   # Cov of sampling indicators

dpps_br <- svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = "brewer")
dpps_ov <- svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = "overton")
dpps_hr <- svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = HR(psum))
dpps_hr1 <- svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = HR())
dpps_ht <- svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppsmat(jointprob))
dpps_yg <- svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppsmat(jointprob), variance = "YG")
dpps_hryg <- svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = HR(psum), variance = "YG")
dpps_htHR <- svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppsmat(jointHR))
dpps_ygHR <- svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppsmat(jointHR), variance = "YG")
dpps_cov <- tryCatch(svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppscov(delta)),
                     error = function(e) e)
dpps_covw <- tryCatch(svydesign(id = ~1, fpc = ~p, data = election_pps_csv,
                                pps = ppscov(delta / jointprob, weighted = TRUE)),
                      error = function(e) e)
dpps_ht0 <- svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppsmat(jointprob, tolerance = 0))
dppswr <- svydesign(id = ~1, probs = ~p, data = election_pps_csv)
dpps_br_yg <- tryCatch(svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = "brewer", variance = "YG"),
                       error = function(e) e)

designs <- list(
  dpps_br = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = \"brewer\")",
  dpps_ov = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = \"overton\")",
  dpps_hr = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = HR(psum))   # psum = sum(election$p^2)/40",
  dpps_hr1 = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = HR())",
  dpps_ht = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppsmat(jointprob))",
  dpps_yg = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppsmat(jointprob), variance = \"YG\")",
  dpps_hryg = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = HR(psum), variance = \"YG\")",
  dpps_htHR = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppsmat(jointHR))",
  dpps_ygHR = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppsmat(jointHR), variance = \"YG\")",
  dpps_ht0 = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppsmat(jointprob, tolerance = 0))",
  dppswr = "svydesign(id = ~1, probs = ~p, data = election_pps_csv)")

est <- function(d) list(
  total_bush_kerry_nader = run(sprintf("svytotal(~Bush + Kerry + Nader, %s)", d)),
  mean_bush_kerry_nader = run(sprintf("svymean(~Bush + Kerry + Nader, %s)", d)),
  total_precincts = run(sprintf("svytotal(~TotPrecincts, %s)", d)),
  ratio_bush_kerry_votes = run(sprintf("svyratio(~Bush + Kerry, ~votes, %s)", d)),
  by_kerry_won_total = run(sprintf("svyby(~Bush + Kerry, ~kerry_won, %s, svytotal, covmat = TRUE)", d)),
  by_kerry_won_mean_bush = run(sprintf("svyby(~Bush, ~kerry_won, %s, svymean, covmat = TRUE)", d)),
  subset_kerry_won_total_bush = run(sprintf("svytotal(~Bush, subset(%s, kerry_won == \"yes\"))", d)))

out$psum <- psum
out$psum_call <- "sum(election$p^2) / 40"
out$designs <- designs
out$degf <- lapply(setNames(names(designs), names(designs)), function(d) degf(get(d)))
ppscov_designs <- list(
  dpps_cov = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppscov(delta))   # delta = jointprob - outer(diag(jointprob), diag(jointprob))",
  dpps_covw = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = ppscov(delta / jointprob, weighted = TRUE))")
out$ppscov <- lapply(setNames(names(ppscov_designs), names(ppscov_designs)), function(d) {
  obj <- get(d)
  if (inherits(obj, "error")) list(design = ppscov_designs[[d]], error = conditionMessage(obj))
  else c(list(design = ppscov_designs[[d]]), est(d))
})
out$brewer_with_YG <- list(
  call = "svydesign(id = ~1, fpc = ~p, data = election_pps_csv, pps = \"brewer\", variance = \"YG\")",
  error = if (inherits(dpps_br_yg, "error")) conditionMessage(dpps_br_yg) else NULL,
  total_bush_kerry_nader = if (!inherits(dpps_br_yg, "error")) run("svytotal(~Bush + Kerry + Nader, dpps_br_yg)") else NULL)
out$results <- lapply(setNames(names(designs), names(designs)), est)

write_json(out, "pps.json")
cat("wrote pps.json\n")
