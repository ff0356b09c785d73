# Reference values for the staff survey's design (strata = role, fpc, RHG
# weights) on the bundled data (R 4.1, survey 4.1.1). Run from this folder:
#   Rscript ai_staff.R
# Reads estimators/surveys/ai_staff/data/ai_staff_2017.csv (missing codes as
# NA) and computes the design sizes itself, from the rule of
# estimators/surveys/ai_staff/design.py: general managers N = 95 (census);
# staff N_role = n_role / r with r = 694 / (2112 - 95) (central), 0.30
# (low_response), 0.45 (high_response); w = N_role / n_role.
# Writes ai_staff_values.csv (name, value).
suppressMessages(library(survey))
d <- read.csv("../../../estimators/surveys/ai_staff/data/ai_staff_2017.csv",
              na.strings = c("", "not_asked", "dont_know", "no_answer"),
              stringsAsFactors = FALSE)
n_role <- table(d$role)
staff <- sum(n_role[names(n_role) != "general_manager"])

make <- function(r) {
  N <- ifelse(d$role == "general_manager", 95, n_role[d$role] / r)
  d$N_role <- as.numeric(N)
  d$w <- d$N_role / as.numeric(n_role[d$role])
  svydesign(ids = ~1, strata = ~role, fpc = ~N_role, weights = ~w, data = d)
}
variants <- list(central = staff / (2112 - 95), low_response = 0.30, high_response = 0.45)

top2 <- function(x) as.numeric(x %in% c(1, 2))
out <- list()
put <- function(name, x) {
  x <- as.numeric(unlist(x))
  if (length(x) == 1) out[[name]] <<- x
  else for (i in seq_along(x)) out[[paste0(name, "[", i, "]")]] <<- x[i]
}

# proportions: (name, indicator, base) -- the base as a logical over rows
rates <- list(
  aft_offered = list(function(d) as.numeric(d$measures_offered.AFT == "yes"),
                     function(d) !is.na(d$measures_offered.AFT)),
  active_recruitment_rate = list(function(d) as.numeric(d$active_employer_recruitment == "yes"),
                                 function(d) !is.na(d$active_employer_recruitment)),
  competition_from_nav = list(function(d) top2(d$competition_by_actor.NAV),
                              function(d) !is.na(d$competition_by_actor.NAV)),
  need_more_employer_work_agree = list(
    function(d) top2(d$statements_inclusion.need_more_employer_work),
    function(d) !is.na(d$statements_inclusion.need_more_employer_work)),
  method_ordinary_work_training = list(
    function(d) top2(d$work_methods.ordinary_work_training),
    function(d) d$role == "job_consultant" & !is.na(d$work_methods.ordinary_work_training)),
  useful_oppfolging = list(
    function(d) top2(d$measure_usefulness.oppfolging),
    function(d) !is.na(d$measure_usefulness.oppfolging) &
      d$measure_usefulness.oppfolging != "no_experience"))

for (v in names(variants)) {
  des <- make(variants[[v]])
  p <- function(name, x) put(paste0(v, ".", name), x)
  p("weights", tapply(weights(des), des$variables$role, function(x) x[1]))  # sorted roles
  for (rate in names(rates)) {
    f <- rates[[rate]]
    des2 <- des
    des2$variables$y <- f[[1]](des$variables)
    sub <- des2[f[[2]](des2$variables), ]
    m <- svymean(~y, sub, deff = TRUE)
    p(paste0(rate, ".est"), coef(m)); p(paste0(rate, ".se"), SE(m))
    p(paste0(rate, ".deff"), deff(m)); p(paste0(rate, ".df"), degf(sub))
    p(paste0(rate, ".ci_logit"), confint(svyciprop(~y, sub, method = "logit")))
    b <- svyby(~y, ~role, sub, svymean)
    p(paste0(rate, ".by_role"), coef(b)); p(paste0(rate, ".by_role_se"), SE(b))
  }
  jc <- subset(des, role == "job_consultant" & !is.na(caseload))
  m <- svymean(~caseload, jc, deff = TRUE)
  p("caseload_mean.est", coef(m)); p("caseload_mean.se", SE(m))
  p("caseload_mean.deff", deff(m))
  p("caseload_mean.ci", confint(m, df = degf(jc)))
  t <- svytotal(~I(as.numeric(role == "job_consultant")), des)
  p("total_job_consultants", coef(t)); p("total_job_consultants.se", SE(t))
}
# svyby's rows are the roles present, in sorted order (as kalib's domains)
vals <- data.frame(name = names(out), value = sprintf("%.17g", unlist(out)))
write.csv(vals, "ai_staff_values.csv", row.names = FALSE, quote = FALSE)
