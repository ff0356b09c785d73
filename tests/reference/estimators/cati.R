# Reference values on the bundled CATI employer survey with a raked design
# (R 4.1, survey 4.1.1). Run from this folder after exporting the data:
#   python cati_fixture.py && Rscript cati.R
# Margins as in cati_fixture.py. Writes cati_values.csv (name, value).
suppressMessages(library(survey))
d <- read.csv("cati.csv", na.strings = "", stringsAsFactors = FALSE)
N <- 200016
d$w0 <- N / nrow(d)
des <- svydesign(id = ~1, strata = ~stratum, weights = ~w0, data = d)
pop <- c(`(Intercept)` = N, `size_class20-49` = 20654, `size_class5-19` = 71419,
         `size_class50+` = 9612, sectorpublic = 10001)
cal <- calibrate(des, ~size_class + sector, population = pop, calfun = "raking",
                 epsilon = 1e-12, maxit = 1000)
jkn <- as.svrepdesign(cal, type = "JKn")

out <- list()
put <- function(name, x) {
  x <- as.numeric(unlist(x))
  if (length(x) == 1) out[[name]] <<- x
  else for (i in seq_along(x)) out[[paste0(name, "[", i, "]")]] <<- x[i]
}
put("weights_sum", sum(weights(cal)))
put("weights_head", weights(cal)[1:5])

for (kind in c("lin", "jkn")) {
  D <- if (kind == "lin") cal else jkn
  p <- function(name, x) put(paste0(kind, ".", name), x)
  p("degf", degf(D))
  m <- svymean(~I(trainee_ever == "yes"), D, deff = TRUE)
  p("ever", coef(m)); p("ever_se", SE(m)); p("ever_deff", deff(m))
  for (meth in c("logit", "beta", "mean", "xlogit")) {
    ci <- svyciprop(~I(trainee_ever == "yes"), D, method = meth)
    p(paste0("ever_ci_", meth), confint(ci))
  }
  for (by in c("sector", "size_class")) {
    b <- svyby(~I(trainee_ever == "yes"), as.formula(paste0("~", by)), D, svymean,
               deff = TRUE)
    p(paste0("ever_by_", by), coef(b)); p(paste0("ever_by_", by, "_se"), SE(b))
    p(paste0("ever_by_", by, "_deff"), deff(b))
  }
  now <- subset(D, !is.na(trainee_now))
  m <- svymean(~I(trainee_now == "yes"), now, na.rm = TRUE)
  p("now", coef(m)); p("now_se", SE(m))
  hired <- subset(D, trainee_before == "yes" & !is.na(hired_after_trainee))
  b <- svyby(~I(hired_after_trainee == "yes"), ~sector, hired, svymean, na.rm = TRUE)
  p("hired_by_sector", coef(b)); p("hired_by_sector_se", SE(b))
  cnt <- subset(D, !is.na(trainee_count))
  t <- svytotal(~trainee_count, cnt, na.rm = TRUE)
  p("count_total", coef(t)); p("count_total_se", SE(t))
  for (stat in c("F", "Chisq")) {
    x <- svychisq(~accommodation_experience + sector, D, statistic = stat)
    p(paste0("chisq_acc_sector_", stat), c(x$statistic, x$parameter, x$p.value))
    x <- svychisq(~competence_need + sector, D, statistic = stat)
    p(paste0("chisq_comp_sector_", stat), c(x$statistic, x$parameter, x$p.value))
  }
}
for (meth in c("logit", "mean", "xlogit")) {
  ci <- svyciprop(~I(trainee_now == "yes"), subset(cal, !is.na(trainee_now)), method = meth,
                   na.rm = TRUE)
  put(paste0("lin.now_ci_", meth), confint(ci))
}
vals <- data.frame(name = names(out), value = sprintf("%.17g", unlist(out)))
write.csv(vals, "cati_values.csv", row.names = FALSE, quote = FALSE)
