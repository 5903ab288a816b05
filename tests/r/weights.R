#!/usr/bin/env Rscript
# Regenerates tests/fixtures/r_weights.json: a small simulated survey of staff in
# base units (strata) AND the post-stratified means R's survey package computes on
# it, so that tests/test_weights.py can hold relcoord.weights to R without R in CI.
#
# Run from the repository root:   Rscript tests/r/weights.R
# Needs: survey, jsonlite (Debian: r-cran-survey, r-cran-jsonlite). The versions
# used are written into the JSON.
#
# What is computed (relcoord.weights treats the post-strata as strata, i.e.
# conditions on the respondents per unit, with the staff as finite population):
# - "respondents": one row per respondent (unit, staff N, value y; y is NA for a
#   respondent without a value, who stays in the design: domain estimation).
#   svymean(~y, subset(svydesign(ids = ~1, strata = ~unit, fpc = ~N), !is.na(y)))
#   and the complete-data mean; confint with df = degf(design).
# - "ties": respondent-tie rows (several per respondent, some respondents with
#   none in the block): svydesign(ids = ~respondent, strata = ~unit, fpc = ~N) over
#   every respondent (one placeholder row outside the block for those without a
#   tie), svymean(~value, subset(design, in_block)): the ratio mean of the block
#   with the respondent as cluster, as relcoord weights a block.
# - for information: postStratify on an equal-probability design (no fpc), whose
#   SE differs slightly (it is not what relcoord reports).
suppressPackageStartupMessages({ library(survey); library(jsonlite) })

seed <- 20260116L
set.seed(seed)

units <- c("A", "B", "C", "D", "E")
n_h <- c(12L, 7L, 20L, 5L, 9L)            # respondents per unit
N_h <- c(30L, 40L, 26L, 6L, 45L)          # staff per unit (one near-census unit)
unit <- rep(units, n_h)
N <- rep(N_h, n_h)
mu <- c(3.4, 3.9, 3.6, 4.2, 3.1)[match(unit, units)]
y <- round(mu + rnorm(length(unit), 0, 0.45), 4)
y_na <- y
y_na[c(3L, 15L, 30L)] <- NA              # respondents without a defined value
resp <- data.frame(respondent = sprintf("r%02d", seq_along(unit)), unit = unit, N = N, y = y, y_na = y_na)

one <- function(est, des) {
  ci <- confint(est, df = degf(des))
  list(mean = unname(coef(est))[1], se = unname(SE(est))[1], df = degf(des),
       ci_low = ci[1, 1], ci_high = ci[1, 2])
}

des <- svydesign(ids = ~1, strata = ~unit, fpc = ~N, data = resp)
full <- one(svymean(~y, des), des)
sub <- subset(des, !is.na(y_na))
domain <- one(svymean(~y_na, sub), sub)

# respondent-tie rows of a block: 0-4 rows per respondent
m <- sample(0:4, nrow(resp), replace = TRUE, prob = c(0.15, 0.2, 0.25, 0.2, 0.2))
ties <- do.call(rbind, lapply(seq_len(nrow(resp)), function(i) {
  if (m[i] == 0) {
    return(data.frame(respondent = resp$respondent[i], unit = resp$unit[i], N = resp$N[i], value = 0,
                      in_block = FALSE))
  }
  data.frame(respondent = resp$respondent[i], unit = resp$unit[i], N = resp$N[i],
             value = round(resp$y[i] + rnorm(m[i], 0, 0.5), 4), in_block = TRUE)
}))
tdes <- svydesign(ids = ~respondent, strata = ~unit, fpc = ~N, data = ties)
tsub <- subset(tdes, in_block)
block <- one(svymean(~value, tsub), tsub)

# for information: post-stratification of an equal-probability design (no fpc)
ps0 <- svydesign(ids = ~1, probs = ~1, data = resp)
pop <- data.frame(unit = units, Freq = N_h)
ps <- postStratify(ps0, ~unit, pop)
post <- list(mean = unname(coef(svymean(~y, ps)))[1], se = unname(SE(svymean(~y, ps)))[1])

out <- list(
  generated_by = "tests/r/weights.R", seed = seed,
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  survey = as.character(packageVersion("survey"))),
  strata = list(unit = units, n = n_h, N = N_h),
  respondents = resp[, c("respondent", "unit", "N", "y", "y_na")],
  ties = ties[, c("respondent", "unit", "value", "in_block")],
  results = list(full = full, domain = domain, block = block, post_stratify_no_fpc = post)
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE),
           "tests/fixtures/r_weights.json")
cat("wrote tests/fixtures/r_weights.json\n")
