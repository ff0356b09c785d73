# Shared set-up of replicates.R and bootstrap.R: the samples, margins and the
# collector of estimates (case, domain, name, estimate, se).
suppressMessages(library(survey))
options(digits = 17, survey.lonely.psu = "fail")

apiclus1 <- read.csv("apiclus1.csv", stringsAsFactors = FALSE)
business <- read.csv("business.csv", stringsAsFactors = FALSE)
ss <- read.csv("business_margin_sector_size.csv", stringsAsFactors = FALSE)
nm <- read.csv("business_margin_nace.csv", stringsAsFactors = FALSE)
cells <- paste(ss$sector, ss$size_class, sep = ":")
business$cell <- factor(business$stratum, levels = cells)
business$nacef <- factor(business$nace, levels = nm$nace)
pop_business <- c(sum(ss$total), ss$total[-1], nm$total[-1])
pop_api <- c(6194, 755, 1018, 5122)

out <- list()
add <- function(case, domain, est) {
  e <- coef(est)
  se <- if (inherits(est, "svyby")) SE(est) else sqrt(diag(as.matrix(vcov(est))))
  out[[length(out) + 1]] <<- data.frame(case = case, domain = domain, name = names(e),
                                        estimate = unname(e), se = unname(se))
}
business_estimates <- function(case, rd) {
  add(case, "all", svymean(~y1 + y2 + y3 + y4 + y5 + x, rd))
  for (by in c("sector", "size_class")) {
    for (y in c("y1", "x")) {
      est <- svyby(as.formula(paste0("~", y)), as.formula(paste0("~", by)), rd, svymean)
      e <- setNames(est[[y]], paste(y, est[[by]], sep = "|"))
      out[[length(out) + 1]] <<- data.frame(case = case, domain = by, name = names(e),
                                            estimate = unname(e), se = unname(SE(est)))
    }
  }
}

