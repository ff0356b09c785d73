# R survey on the benchmark workload (see common.py for the tasks and the
# JSON line printed). Usage:
#   Rscript run_survey.R --task rake|bootstrap|linearization --data DIR
#           [--replicates B] [--seed S] [--tol T] [--once true]
# Raking uses calibrate(calfun = "raking"), whose convergence criterion
# (max |achieved - target| / (1 + |target|) < epsilon) is kalib's; the
# bootstrap is as.svrepdesign(type = "subbootstrap") re-calibrated per
# replicate by calibrate() on the replicate design; the linearization task
# is svymean and svyby(..., svymean) on the calibrated svydesign, whose
# standard errors use the calibration residuals (svyrecvar), in the 115
# domains overall, by sector, size class, NACE group and their cross.
# --once true: the task runs once (peers.py times the whole process).
suppressPackageStartupMessages(library(survey))

opt <- list(task = NA, data = NA, replicates = "500", seed = "20170602", tol = "1e-10",
            once = "false")
argv <- commandArgs(trailingOnly = TRUE)
for (i in seq(1, length(argv), by = 2)) opt[[sub("^--", "", argv[i])]] <- argv[i + 1]
B <- as.integer(opt$replicates); tol <- as.numeric(opt$tol)

d <- read.csv(file.path(opt$data, "data.csv"))
m_str <- read.csv(file.path(opt$data, "margin_stratum.csv"))
m_nace <- read.csv(file.path(opt$data, "margin_nace.csv"))
d$stratum <- factor(d$stratum, levels = m_str$stratum)
d$nace <- factor(d$nace, levels = m_nace$nace)
# calibrate() takes population totals of the model matrix of ~stratum + nace.
population <- c(sum(m_str$total), m_str$total[-1], m_nace$total[-1])
outcomes <- ~y1 + y2 + y3 + y4 + y5

rake_task <- function() {
  des <- svydesign(ids = ~1, strata = ~stratum, weights = ~weight, data = d)
  calibrate(des, ~stratum + nace, population = population, calfun = "raking",
            epsilon = tol, maxit = 1000)
}

bootstrap_task <- function() {
  set.seed(as.integer(opt$seed))
  des <- svydesign(ids = ~1, strata = ~stratum, weights = ~weight, data = d)
  reps <- as.svrepdesign(des, type = "subbootstrap", replicates = B)
  raked <- calibrate(reps, ~stratum + nace, population = population, calfun = "raking",
                     epsilon = tol, maxit = 1000)
  overall <- svymean(outcomes, raked)
  svyby(outcomes, ~sector, raked, svymean)
  svyby(outcomes, ~size_class, raked, svymean)
  overall
}

linearization_task <- function() {
  des <- svydesign(ids = ~1, strata = ~stratum, weights = ~weight, data = d)
  raked <- calibrate(des, ~stratum + nace, population = population, calfun = "raking",
                     epsilon = tol, maxit = 1000)
  overall <- svymean(outcomes, raked)
  for (by in list(~sector, ~size_class, ~nace, ~sector + size_class + nace))
    svyby(outcomes, by, raked, svymean)
  overall
}

tasks <- list(rake = rake_task, bootstrap = bootstrap_task, linearization = linearization_task)
repeats <- if (opt$once == "true") 1 else 5
cat('{"event": "start"}\n'); flush(stdout())  # the time cap starts here
times <- c(); result <- NULL
while (length(times) < repeats && sum(times) < 1) {
  start <- proc.time()[["elapsed"]]
  result <- tasks[[opt$task]]()
  times <- c(times, proc.time()[["elapsed"]] - start)
}

if (opt$task == "rake") {
  w <- weights(result)
  err <- 0
  for (m in list(list(d$stratum, m_str$total), list(d$nace, m_nace$total))) {
    achieved <- as.numeric(tapply(w, m[[1]], sum))
    err <- max(err, abs(achieved - m[[2]]) / (1 + abs(m[[2]])))
  }
  check <- sprintf('{"margin_error": %.17g, "mean_y1": %.17g}', err, sum(w * d$y1) / sum(w))
} else {
  check <- sprintf('{"mean_y1": %.17g, "se_y1": %.17g}', coef(result)[["y1"]], SE(result)[[1]])
}
# Peak resident memory of this process (VmHWM; see common.py).
status <- readLines("/proc/self/status")
peak_mb <- as.numeric(strsplit(trimws(sub("VmHWM:", "", grep("^VmHWM:", status, value = TRUE))), " +")[[1]][1]) / 1024
cat(sprintf('{"seconds": %.6f, "repeats": %d, "check": %s, "peak_mb": %.1f}\n',
            median(times), length(times), check, peak_mb))
