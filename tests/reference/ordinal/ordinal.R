# Reference values for survey-weighted proportional-odds models (R survey's
# svyolr), for kalib's ordinal-regression estimator.  Run from this directory:
#     Rscript ordinal.R
# Writes the data sets (CSV), replicate weights (CSV.gz + JSON) and the values
# the Python side must reproduce (ordinal_reference.json, *_fitted.csv).
# Everything is generated with a fixed seed or exported from data(api).
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

optctl <- list(reltol = 1e-15, maxit = 10000)   # passed through svyolr's ... to optim()

## ---- data set 1: generated establishment survey --------------------------
set.seed(20240516)
frame <- expand.grid(size = c("small", "medium", "large"), sector = c("private", "public"),
                     stringsAsFactors = FALSE)[, c("sector", "size")]
frame$N_h <- c(12000, 3000, 800, 2500, 1500, 600)   # register counts (frame year)
frame$n_h <- c(90, 80, 60, 60, 60, 50)               # sample sizes, total 400
rows <- rep(seq_len(nrow(frame)), frame$n_h)
est <- data.frame(id = seq_along(rows), sector = frame$sector[rows], size = frame$size[rows],
                  N_h = frame$N_h[rows], n_h = frame$n_h[rows], stringsAsFactors = FALSE)
est$stratum <- paste(est$sector, est$size, sep = ".")
est$basew <- est$N_h / est$n_h
p_tr <- c(small = 0.25, medium = 0.45, large = 0.65)[est$size] + 0.10 * (est$sector == "public")
est$trainee <- rbinom(nrow(est), 1, p_tr)
lat <- 0.5 * (est$sector == "public") + c(small = 0, medium = 0.4, large = 0.9)[est$size] +
  0.7 * est$trainee + rlogis(nrow(est))
est$z <- as.integer(cut(lat, c(-Inf, -1.0, 0.2, 1.3, 2.6, Inf)))
write17(est[, c("id", "sector", "size", "stratum", "N_h", "n_h", "basew", "trainee", "z")],
        "ordinal_establishments.csv")

# Margins for raking: a newer register than the frame (so raking changes the weights;
# raking to the frame's own margins would be a no-op because strata = sector x size).
# (the margin columns must be factors with the sample's level order: calibrate()'s
#  list interface builds the totals with model.matrix on these data frames and then
#  matches them to the sample totals BY POSITION, only warning on a name mismatch)
pop_sector <- data.frame(sector = factor(c("private", "public"), levels = c("private", "public")),
                         Freq = c(16500, 4300))
pop_size <- data.frame(size = factor(c("small", "medium", "large"),
                                     levels = c("small", "medium", "large")),
                       Freq = c(15000, 4200, 1600))
pop_trainee <- data.frame(trainee = c(0, 1), Freq = c(13000, 7800))
write17(pop_sector, "ordinal_margin_sector.csv")
write17(pop_size, "ordinal_margin_size.csv")
write17(pop_trainee, "ordinal_margin_trainee.csv")

prep <- function(df) {
  df$sector <- factor(df$sector, levels = c("private", "public"))
  df$size <- factor(df$size, levels = c("small", "medium", "large"))
  df$z <- factor(df$z, levels = 1:5, ordered = TRUE)
  df
}
estf <- prep(est)
d <- svydesign(id = ~1, strata = ~stratum, weights = ~basew, fpc = ~N_h, data = estf)
d_rake <- calibrate(d, list(~sector, ~size), list(pop_sector, pop_size), calfun = "raking",
                    epsilon = 1e-13, maxit = 1000)
d_rake3 <- calibrate(d, list(~sector, ~size, ~trainee),
                     list(pop_sector, pop_size, pop_trainee), calfun = "raking",
                     epsilon = 1e-13, maxit = 1000)

## ---- data set 2: apistrat, api00 cut into 4 ordered classes ---------------
api <- apistrat
api$api_cls <- cut(api$api00, c(-Inf, 550, 650, 750, Inf), labels = c("1", "2", "3", "4"),
                   ordered_result = TRUE)
keep <- c("snum", "stype", "api00", "ell", "meals", "pw", "fpc")
api_out <- api[, keep]
api_out$api_cls <- as.integer(api$api_cls)
write17(api_out, "ordinal_apistrat.csv")
dapi <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = api)

## ---- own code (not survey's): weighted ordinal log-likelihood --------------
# Model: P(Y <= k | x) = F(zeta_k - x'beta), F = plogis (logistic) or pnorm (probit).
# Parameter vector par = (beta, zeta).  Used to (1) polish the optimum with Newton
# steps so the stored estimates are the exact root of the weighted score, (2) give
# an exact-Hessian sandwich variance to compare with svyolr's, (3) emulate optim's
# finite-difference Hessian to show exactly what svyolr's vcov is.
olr_xy <- function(formula, data) {
  mf <- model.frame(formula, data)
  X <- model.matrix(attr(mf, "terms"), mf)[, -1, drop = FALSE]
  list(X = X, y = as.integer(model.response(mf)))
}
olr_fun <- function(method) {
  if (method == "logistic")
    list(p = plogis, d = dlogis, dd = function(z) ifelse(is.finite(z), dlogis(z) * (1 - 2 * plogis(z)), 0))
  else
    list(p = pnorm, d = dnorm, dd = function(z) ifelse(is.finite(z), -z * dnorm(z), 0))
}
olr_eval <- function(par, X, y, w, method, hessian = FALSE) {
  F <- olr_fun(method)
  pc <- ncol(X); beta <- par[seq_len(pc)]; zeta <- par[-seq_len(pc)]; q <- length(zeta)
  eta <- drop(X %*% beta)
  u <- c(zeta, Inf)[y] - eta; l <- c(-Inf, zeta)[y] - eta
  p <- F$p(u) - F$p(l); fu <- F$d(u); fl <- F$d(l)
  # derivative vectors of u and l with respect to par
  Eu <- outer(y, seq_len(q), "==") * 1; El <- outer(y - 1, seq_len(q), "==") * 1
  Au <- cbind(-X, Eu); Al <- cbind(-X, El)
  score <- w * (Au * (fu / p) - Al * (fl / p))
  out <- list(loglik = sum(w * log(p)), score = score)
  if (hessian) {
    huu <- F$dd(u) / p - (fu / p)^2
    hll <- -F$dd(l) / p - (fl / p)^2
    hul <- fu * fl / p^2
    out$hessian <- crossprod(Au, Au * (w * huu)) + crossprod(Al, Al * (w * hll)) +
      crossprod(Au, Al * (w * hul)) + crossprod(Al, Au * (w * hul))
  }
  out
}
newton_olr <- function(par, X, y, w, method, tol = 1e-14, maxit = 100) {
  for (it in seq_len(maxit)) {
    e <- olr_eval(par, X, y, w, method, hessian = TRUE)
    step <- solve(e$hessian, colSums(e$score))
    par <- par - step
    if (max(abs(step)) < tol) break
  }
  attr(par, "newton_iterations") <- it
  par
}
to_theta <- function(par, pc) {           # svyolr/polr's optimisation parameters
  z <- par[-seq_len(pc)]
  c(par[seq_len(pc)], z[1], log(diff(z)))
}
# optim(hessian = TRUE) = optimHess: central differences of the gradient, step ndeps
# (default 1e-3, parscale 1) in the (beta, zeta_1, log(zeta_k - zeta_{k-1})) scale,
# then symmetrised.  svyolr inverts it (MASS::ginv) and maps back with the Jacobian.
emulate_svyolr_bread <- function(par, X, y, w, method, ndeps = 1e-3) {
  pc <- ncol(X); th <- to_theta(par, pc); np <- length(th); q <- np - pc
  from_theta <- function(th) c(th[seq_len(pc)], cumsum(c(th[pc + 1], exp(th[pc + seq_len(q)][-1]))))
  jac <- function(th) {                    # d zeta / d theta
    J <- matrix(0, q, q); J[, 1] <- 1
    if (q > 1) for (j in 2:q) J[j:q, j] <- exp(th[pc + j])
    A <- diag(np); A[pc + seq_len(q), pc + seq_len(q)] <- J; A
  }
  grad_theta <- function(th) -drop(colSums(olr_eval(from_theta(th), X, y, w, method)$score) %*% jac(th))
  H <- sapply(seq_len(np), function(i) {
    e <- replace(numeric(np), i, ndeps)
    (grad_theta(th + e) - grad_theta(th - e)) / (2 * ndeps)
  })
  H <- 0.5 * (H + t(H))
  A <- jac(th)
  A %*% solve(H) %*% t(A)
}
sandwich <- function(bread, score, design) {
  v <- svyrecvar(score %*% bread, design$cluster, design$strata, design$fpc,
                 postStrata = design$postStrata)
  v
}
mat <- function(m) list(names = rownames(m), matrix = unclass(m))
named_mat <- function(m, nm) { m <- unclass(m); dimnames(m) <- list(nm, nm); m }
maxrel <- function(a, b) max(abs(a - b) / abs(b))

pred_grid <- expand.grid(sector = factor(c("private", "public"), levels = c("private", "public")),
                         size = factor(c("small", "medium", "large"),
                                       levels = c("small", "medium", "large")),
                         trainee = c(0, 1))
pred_probs <- function(fit, newdata = pred_grid) {
  # survey has no predict method for svyolr; MASS's predict.polr works on the fit
  # object once its class is set to "polr" (done on a copy)
  class(fit) <- "polr"
  pr <- MASS:::predict.polr(fit, newdata = newdata, type = "probs")
  list(call = "MASS:::predict.polr(fit with class 'polr', newdata, type = 'probs')",
       newdata = lapply(newdata, function(v) if (is.factor(v)) as.character(v) else v),
       columns = colnames(pr), probs = unclass(pr))
}

# Fit a linearization (survey.design2) svyolr to full convergence, with checks.
fit_lin <- function(formula, design, method, call_str) {
  stock <- svyolr(formula, design, method = method)            # svyolr's defaults
  xy <- olr_xy(formula, model.frame(design)); w <- weights(design)
  p_star <- newton_olr(coef(stock), xy$X, xy$y, w, method)
  pc <- ncol(xy$X); np <- length(p_star)
  st <- to_theta(p_star, pc)
  fit <- svyolr(formula, design, method = method, start = st, control = optctl)
  fit6 <- svyolr(formula, design, method = method, start = st,
                 control = c(optctl, list(ndeps = rep(1e-6, np))))
  nm <- names(coef(fit))
  ev <- olr_eval(coef(fit), xy$X, xy$y, w, method, hessian = TRUE)
  v_exact <- named_mat(sandwich(solve(-ev$hessian), ev$score, design), nm)
  v_emul <- named_mat(sandwich(emulate_svyolr_bread(coef(fit), xy$X, xy$y, w, method),
                               ev$score, design), nm)
  v <- vcov(fit)
  list(
    call = call_str, method = fit$method,
    coefficients = fit$coefficients, zeta = fit$zeta, coef_all = coef(fit),
    vcov = mat(v), se = sqrt(diag(v)), t_value = coef(fit) / sqrt(diag(v)),
    vcov_ndeps_1e6 = mat(vcov(fit6)), se_ndeps_1e6 = sqrt(diag(vcov(fit6))),
    vcov_exact_hessian = mat(v_exact), se_exact_hessian = sqrt(diag(v_exact)),
    deviance = fit$deviance, df_residual = fit$df.residual, n = fit$n,
    weighted_loglik = ev$loglik,
    convergence = list(
      how = paste("start = Newton-polished root of the weighted score (own R code, analytic",
                  "Hessian) in svyolr's (beta, zeta_1, log-diff) scale; control =",
                  "list(reltol = 1e-15, maxit = 10000)"),
      optim_convergence = fit$convergence, optim_counts = fit$niter,
      newton_iterations = attr(p_star, "newton_iterations"),
      max_abs_diff_coef_svyolr_vs_newton_root = max(abs(coef(fit) - p_star)),
      max_abs_score_at_svyolr_coef = max(abs(colSums(ev$score))),
      sum_weights = sum(w),
      stock_svyolr = list(call = "svyolr(formula, design, method) with default start and control",
                          coef_all = coef(stock), se = sqrt(diag(vcov(stock))),
                          optim_counts = stock$niter,
                          max_abs_diff_coef_vs_converged = max(abs(coef(stock) - coef(fit))))),
    vcov_checks = list(
      max_rel_diff_se_svyolr_default_vs_exact_hessian = maxrel(sqrt(diag(v)), sqrt(diag(v_exact))),
      max_rel_diff_se_svyolr_ndeps_1e6_vs_exact_hessian = maxrel(sqrt(diag(vcov(fit6))), sqrt(diag(v_exact))),
      max_abs_diff_vcov_svyolr_default_vs_optimhess_emulation = max(abs(v - v_emul)),
      max_rel_diff_se_svyolr_default_vs_optimhess_emulation = maxrel(sqrt(diag(v)), sqrt(diag(v_emul)))),
    fit = fit)
}
drop_fit <- function(x) { x$fit <- NULL; x }

# Replicate-design svyolr: R's own output plus fully converged replicate fits.
fit_rep <- function(formula, rd, data_df, method, p_full, call_str) {
  # svyolr.svyrep.design: main fit MASS::polr(weights = sampling weights, ...) with the
  # '...' (start, control) passed; replicate fits MASS::polr(start = main fit) at
  # optim's DEFAULT reltol (the control argument is not passed on).

  f <- svyolr(formula, rd, method = method, start = p_full, control = optctl,
              return.replicates = TRUE)
  xy <- olr_xy(formula, data_df)
  rw <- weights(rd, "analysis")
  betas <- t(apply(rw, 2, function(wr) newton_olr(p_full, xy$X, xy$y, wr, method)))
  colnames(betas) <- names(p_full)
  v_conv <- svrVar(betas, rd$scale, rd$rscales, mse = rd$mse, coef = p_full)
  v_conv <- named_mat(v_conv, names(p_full))
  list(
    call = call_str, method = method,
    coef_all = p_full,
    coef_note = "point estimates = the converged linearization fit on the same full-sample weights",
    vcov = mat(v_conv), se = sqrt(diag(v_conv)),
    replicate_coefficients = betas,
    R_svyolr_output = list(
      note = paste("vcov(svyolr(..., return.replicates = TRUE)) as R returns it: its replicate",
                   "fits stop at optim's default reltol (~1.5e-8), so these SEs are only",
                   "accurate to ~1e-3..1e-6 relative; 'vcov'/'se' above use replicate fits",
                   "solved to machine precision (Newton on the weighted score, own R code)",
                   "and survey::svrVar(thetas, scale, rscales, mse, coef = full-sample fit)."),
      coef_all = coef(f), max_abs_diff_coef_vs_converged = max(abs(coef(f) - p_full)),
      vcov = mat(vcov(f)), se = sqrt(diag(vcov(f))),
      max_abs_diff_replicate_coef_vs_converged = max(abs(f$replicates - betas)),
      max_rel_diff_se_vs_converged = maxrel(sqrt(diag(vcov(f))), sqrt(diag(v_conv)))),
    design = list(type = rd$type, scale = rd$scale, rscales = rd$rscales, mse = rd$mse,
                  n_replicates = ncol(rw), degf = degf(rd), df_residual = f$df.residual))
}

out <- list(R_version = R.version.string, survey_version = as.character(packageVersion("survey")),
            MASS_version = as.character(packageVersion("MASS")),
            optim_control = optctl,
            parametrisation = "logit/probit P(z <= k) = zeta_k - x'beta; coef order = beta (R model.matrix names, treatment contrasts), then zeta named 'k|k+1'")

fz <- z ~ sector + size + trainee

## (a) plain stratified design, logistic
fa <- fit_lin(fz, d, "logistic", "svyolr(z ~ sector + size + trainee, d, start = <converged>, control = list(reltol = 1e-15, maxit = 10000))")
out$a_strat_logistic <- c(drop_fit(fa), list(predict = pred_probs(fa$fit)))

## (b) raked design, linearization
fb <- fit_lin(fz, d_rake, "logistic", "svyolr(z ~ sector + size + trainee, d_rake, start = <converged>, control = ...)")
fb3 <- fit_lin(fz, d_rake3, "logistic", "svyolr(z ~ sector + size + trainee, d_rake3, start = <converged>, control = ...)")
cal_info <- function(dc, forms) {
  list(weights_min = min(weights(dc)), weights_max = max(weights(dc)),
       achieved_totals = lapply(forms, function(f) coef(svytotal(f, dc))))
}
out$b_raked_logistic <- c(drop_fit(fb), list(predict = pred_probs(fb$fit),
                                             calibration = cal_info(d_rake, list(~sector, ~size))))
out$b3_raked_with_trainee_logistic <- c(drop_fit(fb3),
  list(calibration = cal_info(d_rake3, list(~sector, ~size, ~trainee))))
write17(data.frame(id = est$id, basew = est$basew, w_raked = weights(d_rake),
                   w_raked3 = weights(d_rake3)), "ordinal_raked_weights.csv")

## (c) JKn replicate designs
djkn <- as.svrepdesign(d, type = "JKn")
djkn_rake <- calibrate(djkn, list(~sector, ~size), list(pop_sector, pop_size), calfun = "raking",
                       epsilon = 1e-13, maxit = 1000)
djkn_of_raked <- as.svrepdesign(d_rake, type = "JKn")
out$c0_jkn_logistic <- fit_rep(fz, djkn, estf, "logistic", coef(fa$fit),
  "svyolr(fz, as.svrepdesign(d, type = 'JKn'), start = <converged>, control = ...)")
out$c1_jkn_reraked_logistic <- fit_rep(fz, djkn_rake, estf, "logistic", coef(fb$fit),
  "svyolr(fz, calibrate(as.svrepdesign(d, type = 'JKn'), list(~sector, ~size), pops, calfun = 'raking'), start = <converged>, control = ...)")
out$c2_jkn_of_raked_logistic <- fit_rep(fz, djkn_of_raked, estf, "logistic", coef(fb$fit),
  "svyolr(fz, as.svrepdesign(d_rake, type = 'JKn'), start = <converged>, control = ...)")
out$c2_jkn_of_raked_logistic$note <- paste(
  "as.svrepdesign() of a calibrated survey.design2 does NOT re-calibrate the replicates:",
  "replicate weights = calibrated full-sample weight x JKn multiplier (compare c1).")

# raking on trainee too: margins are no longer unions of strata, so re-raking matters
djkn_rake3 <- calibrate(djkn, list(~sector, ~size, ~trainee), list(pop_sector, pop_size, pop_trainee),
                        calfun = "raking", epsilon = 1e-13, maxit = 1000)
djkn_of_raked3 <- as.svrepdesign(d_rake3, type = "JKn")
out$c3_jkn_reraked3_logistic <- fit_rep(fz, djkn_rake3, estf, "logistic", coef(fb3$fit),
  "svyolr(fz, calibrate(as.svrepdesign(d, type = 'JKn'), list(~sector, ~size, ~trainee), pops, calfun = 'raking'), start = <converged>, control = ...)")
out$c4_jkn_of_raked3_logistic <- fit_rep(fz, djkn_of_raked3, estf, "logistic", coef(fb3$fit),
  "svyolr(fz, as.svrepdesign(d_rake3, type = 'JKn'), start = <converged>, control = ...)")

rw_out <- function(rd, file) {
  rw <- weights(rd, "analysis")
  colnames(rw) <- paste0("rep_", seq_len(ncol(rw)))
  write17(data.frame(id = est$id, weight = weights(rd, "sampling"), rw), file)
}
rw_out(djkn, "ordinal_jkn_repweights.csv.gz")
rw_out(djkn_rake, "ordinal_jkn_reraked_repweights.csv.gz")
rw_out(djkn_of_raked, "ordinal_jkn_of_raked_repweights.csv.gz")
rw_out(djkn_rake3, "ordinal_jkn_reraked3_repweights.csv.gz")
rw_out(djkn_of_raked3, "ordinal_jkn_of_raked3_repweights.csv.gz")
rep_meta <- function(rd) list(type = rd$type, scale = rd$scale, rscales = rd$rscales, mse = rd$mse,
                              combined_weights = TRUE, degf = degf(rd))
write_json17(list(
  note = "Weights in the CSV.gz files are analysis (combined) weights: svrepdesign(data = <csv>, repweights = '^rep_', weights = ~weight, type = 'JKn', scale = scale, rscales = rscales, combined.weights = TRUE, mse = FALSE) rebuilds each design.",
  ordinal_jkn_repweights = rep_meta(djkn),
  ordinal_jkn_reraked_repweights = rep_meta(djkn_rake),
  ordinal_jkn_of_raked_repweights = rep_meta(djkn_of_raked),
  ordinal_jkn_reraked3_repweights = rep_meta(djkn_rake3),
  ordinal_jkn_of_raked3_repweights = rep_meta(djkn_of_raked3)), "ordinal_jkn_repweights.json")

## (d) probit on (a)
fd <- fit_lin(fz, d, "probit", "svyolr(z ~ sector + size + trainee, d, method = 'probit', start = <converged>, control = ...)")
out$d_strat_probit <- c(drop_fit(fd), list(predict = pred_probs(fd$fit)))

## (e) apistrat: api00 cut into 4 ordered classes ~ stype + ell
fapi <- api_cls ~ stype + ell
fe <- fit_lin(fapi, dapi, "logistic", "svyolr(api_cls ~ stype + ell, dapi, start = <converged>, control = ...)")
fe_p <- fit_lin(fapi, dapi, "probit", "svyolr(api_cls ~ stype + ell, dapi, method = 'probit', start = <converged>, control = ...)")
out$e_apistrat_logistic <- drop_fit(fe)
out$e_apistrat_probit <- drop_fit(fe_p)
dapi_jkn <- as.svrepdesign(dapi, type = "JKn")
out$e_apistrat_jkn_logistic <- fit_rep(fapi, dapi_jkn, api, "logistic", coef(fe$fit),
  "svyolr(api_cls ~ stype + ell, as.svrepdesign(dapi, type = 'JKn'), start = <converged>, control = ...)")

# predict(type = "probs") directly on a svyolr fit
out$predict_method_check <- tryCatch({
  predict(fa$fit, newdata = pred_grid, type = "probs"); "predict() worked"
}, error = function(e) paste("predict(svyolr_fit, newdata, type = 'probs') errors in survey",
                             packageVersion("survey"), ":", conditionMessage(e)))

# fitted.values (in-sample category probabilities) for (a), (d), (e)
fv <- function(fit) { x <- fit$fitted.values; colnames(x) <- paste0("p", colnames(x)); x }
write17(data.frame(id = est$id, fv(fa$fit)), "ordinal_a_fitted.csv")
write17(data.frame(id = est$id, fv(fd$fit)), "ordinal_d_fitted.csv")
write17(data.frame(snum = api$snum, fv(fe$fit)), "ordinal_e_fitted.csv")

write_json17(out, "ordinal_reference.json")
cat("done\n")
