#!/usr/bin/env Rscript
# Regenerates tests/fixtures/lavaan/lavaan_cfa.json: lavaan's confirmatory factor
# analyses of the seven RC items, so that tests/test_cfa.py can hold
# relcoord.cfa to R without R in CI.
#
# Run from the repository root:   Rscript tests/r/lavaan_cfa.R
# Needs: lavaan, jsonlite (Debian: r-cran-lavaan, r-cran-jsonlite). The versions
# used are written into the JSON.
#
# Inputs
# - tests/fixtures/lavaan/demo_2024.csv, demo_2025.csv: the demo rounds'
#   respondent x target rows (one row per respondent-tie, the seven item scores,
#   plus the rater's base unit; rows with no item answered left out, incomplete
#   rows kept for lavaan's listwise deletion). Written from the demo export by
#   the library, from the repository root:
#     RELCOORD_SECRET=test-secret-0123456789abcdef python - <<'PY'
#     import pandas as pd
#     from relcoord.config import load_settings
#     from relcoord.ingest import ingest_round
#     items = ["frequent", "timely", "accurate", "problem_solving",
#              "shared_goals", "shared_knowledge", "mutual_respect"]
#     s = load_settings("config/config.yaml")
#     for r in ("2024", "2025"):
#         d = ingest_round(s, r, base=".")[0].responses
#         w = d.pivot_table(index=["respondent_id", "rater_unit", "target_unit"], columns="item",
#                           values="value", aggfunc="first", observed=True, dropna=False)
#         w = w.reindex(columns=items).reset_index()
#         w = w[w[items].notna().any(axis=1)]
#         w[["rater_unit"] + items].to_csv(f"tests/fixtures/lavaan/demo_{r}.csv", index=False,
#                                          float_format="%.0f")
#     PY
# - the German GP sample (Keller et al., CC BY-NC 4.0; not in the repository):
#   $RC_GERMAN_GP, default /work/shared/samples/rc-german-gp/rc_items.csv.
#   Only R's output numbers are stored; skipped with a message when absent.
#
# What is fitted (all lavaan defaults otherwise: ML, marker-variable
# identification, listwise deletion, likelihood = "normal", expected information):
# - per data set: cfa(model, estimator = "ML") for the one-factor model (rc) and
#   the two-factor model (communication, relationship); also on the first 120
#   rows of demo 2024 (small N);
# - demo rounds: the rater-clustered sensitivity cfa(model, cluster = "rater_unit",
#   estimator = "MLR") (robust.cluster standard errors);
# - invariance across two groups, cfa(model, group = "group", estimator = "ML") with
#   group.equal none / "loadings" / c("loadings", "intercepts"): demo 2024 vs
#   2025 (group 1 = 2024), and the German sample split into odd / even file rows
#   (row 1 = odd = group 1).
suppressPackageStartupMessages({
  library(lavaan); library(jsonlite)
})

items <- c("frequent", "timely", "accurate", "problem_solving",
           "shared_goals", "shared_knowledge", "mutual_respect")
models <- list(
  one_factor = "rc =~ frequent + timely + accurate + problem_solving + shared_goals + shared_knowledge + mutual_respect",
  two_factor = paste("communication =~ frequent + timely + accurate + problem_solving",
                     "relationship =~ shared_goals + shared_knowledge + mutual_respect", sep = "\n"))
measures <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper",
              "srmr", "srmr_bentler_nomean", "baseline.chisq", "baseline.df", "fmin", "ntotal")

fit_out <- function(fit) {
  pe <- parameterEstimates(fit, ci = FALSE)
  std <- standardizedSolution(fit, se = FALSE)
  pe$std.all <- std$est.std
  keep <- c("lhs", "op", "rhs", "group", "est", "se", "std.all")
  pe <- pe[, intersect(keep, names(pe))]
  list(fit = as.list(fitMeasures(fit, measures)), nobs = lavInspect(fit, "nobs"),
       group_label = lavInspect(fit, "group.label"), converged = lavInspect(fit, "converged"),
       parameters = pe)
}

single <- function(d) {
  out <- list()
  for (m in names(models)) out[[m]] <- fit_out(cfa(models[[m]], data = d, estimator = "ML"))
  out
}

invariance <- function(d) {
  out <- list()
  for (m in names(models)) {
    out[[m]] <- list(
      configural = fit_out(cfa(models[[m]], data = d, group = "group", estimator = "ML")),
      metric = fit_out(cfa(models[[m]], data = d, group = "group", estimator = "ML",
                           group.equal = "loadings")),
      scalar = fit_out(cfa(models[[m]], data = d, group = "group", estimator = "ML",
                           group.equal = c("loadings", "intercepts"))))
  }
  out
}

res <- list(
  generated_by = "tests/r/lavaan_cfa.R",
  r_version = R.version.string,
  packages = list(lavaan = as.character(packageVersion("lavaan")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  single = list(), cluster = list(), invariance = list())

## ---- demo rounds --------------------------------------------------------------
demo <- list()
for (r in c("2024", "2025")) {
  d <- read.csv(file.path("tests/fixtures/lavaan", paste0("demo_", r, ".csv")))
  demo[[r]] <- d
  res$single[[paste0("demo_", r)]] <- single(d)
  cl <- list()
  for (m in names(models)) {
    # 10 clusters for ~30 parameters: lavaan warns that the sandwich is not
    # positive definite (it has rank <= clusters - 1); the SEs are still reported.
    fit <- suppressWarnings(cfa(models[[m]], data = d, cluster = "rater_unit", estimator = "MLR"))
    cl[[m]] <- c(fit_out(fit), list(n_clusters = length(unique(d$rater_unit[complete.cases(d[, items])]))))
  }
  res$cluster[[paste0("demo_", r)]] <- cl
}
# A small sample (the first 120 rows of 2024, 70 complete): at N ~ 70 the N vs
# N - 1 conventions (ML discrepancy, information, RMSEA) differ by ~1 %, so the
# Python tests can tell them apart.
res$single$demo_2024_first120 <- single(demo[["2024"]][1:120, ])
both <- rbind(cbind(group = "2024", demo[["2024"]]), cbind(group = "2025", demo[["2025"]]))
res$invariance$demo <- invariance(both)

## ---- German GP sample (not shipped) -------------------------------------------
german_path <- Sys.getenv("RC_GERMAN_GP", "/work/shared/samples/rc-german-gp/rc_items.csv")
if (file.exists(german_path)) {
  g <- read.csv(german_path)
  g <- setNames(g[, c("RC1_COM", "RC2_COM", "RC3_COM", "RC4_COM", "RC5_REL", "RC6_REL", "RC7_REL")], items)
  res$single$german <- single(g)
  g$group <- ifelse(seq_len(nrow(g)) %% 2 == 1, "odd", "even")
  res$invariance$german_odd_even <- invariance(g)
} else {
  message("German GP sample not found at ", german_path, ": its fixtures are not written")
}

write_json(res, "tests/fixtures/lavaan/lavaan_cfa.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null", dataframe = "columns")
message("wrote tests/fixtures/lavaan/lavaan_cfa.json")
