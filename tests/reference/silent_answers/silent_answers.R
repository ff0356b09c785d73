# R reference values for issue 17's "no silent answers": design effects when
# the weights sum to n (R's scd example: prob = 1, fpc = 5), and svyratio
# with a zero denominator total. Run from this folder: Rscript silent_answers.R
suppressMessages(library(survey))
options(digits = 17)
data(scd)
scd$zero <- 0
write.csv(scd, "scd.csv", row.names = FALSE)
scd <- read.csv("scd.csv")
scddes <- svydesign(data = scd, prob = ~1, id = ~ambulance, strata = ~ESA, nest = TRUE,
                    fpc = ~rep(5, 6))

num <- function(x) {
  x <- as.numeric(x)
  ifelse(is.nan(x), "NaN", ifelse(is.infinite(x), ifelse(x > 0, "Infinity", "-Infinity"),
                                  sprintf("%.17g", x)))
}
entry <- function(call, value) {
  v <- eval(parse(text = call))
  out <- list(call = call, estimate = num(coef(v)), se = num(SE(v)))
  if (!is.null(attr(v, "deff"))) out$deff <- num(diag(as.matrix(attr(v, "deff"))))
  names(out$estimate) <- NULL
  out
}
calls <- list(
  mean_true = "svymean(~arrests + alive, scddes, deff = TRUE)",
  mean_replace = "svymean(~arrests + alive, scddes, deff = \"replace\")",
  total_true = "svytotal(~arrests + alive, scddes, deff = TRUE)",
  total_replace = "svytotal(~arrests + alive, scddes, deff = \"replace\")",
  ratio_zero = "svyratio(~alive, ~zero, scddes)",
  ratio_zero_zero = "svyratio(~zero, ~zero, scddes)")
out <- lapply(calls, entry)
out$sum_weights <- num(sum(weights(scddes)))
out$versions <- list(R = R.version.string, survey = as.character(packageVersion("survey")))

to_json <- function(x, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.list(x)) {
    items <- mapply(function(k, v) paste0(inner, "\"", k, "\": ", to_json(v, inner)),
                    names(x), x)
    return(paste0("{\n", paste(items, collapse = ",\n"), "\n", indent, "}"))
  }
  quoted <- function(s) if (s %in% c("NaN", "Infinity", "-Infinity") ||
                            !is.na(suppressWarnings(as.numeric(s)))) s else
                            paste0("\"", gsub("\"", "\\\\\"", s), "\"")
  if (length(x) == 1 && is.null(names(x))) return(quoted(x))
  paste0("[", paste(sapply(x, quoted), collapse = ", "), "]")
}
writeLines(to_json(out), "silent_answers.json")
