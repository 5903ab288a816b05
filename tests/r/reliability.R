#!/usr/bin/env Rscript
# Regenerates tests/fixtures/r_reliability.json: a small simulated RC-like data
# set AND the reliability / agreement numbers R computes on it, so that the
# Python tests (tests/test_reliability.py) can compare to R without R in CI.
#
# Run from the repository root:   Rscript tests/r/reliability.R
# Needs: psych, multilevel, lme4, jsonlite (Debian: r-cran-psych, r-cran-multilevel,
# r-cran-lme4, r-cran-jsonlite). The versions used are written into the JSON.
suppressPackageStartupMessages({
  library(psych); library(multilevel); library(lme4); library(jsonlite)
})

seed <- 20240611L
set.seed(seed)

## ---- data ------------------------------------------------------------------
# 300 respondents in 12 unbalanced groups. g11 has a single member (R keeps
# singleton groups in the ANOVA); g12 answers only 1 or 5 at random, so its
# within-group variance exceeds the uniform null variance 2 and rwg is clamped.
sizes <- c(45, 38, 33, 30, 28, 26, 24, 22, 20, 18, 1, 15)
groups <- sprintf("g%02d", seq_along(sizes))
group <- rep(groups, sizes)
N <- length(group); J <- 7L
u <- rnorm(length(sizes), 0, 0.5)[match(group, groups)]     # group effect
e <- rnorm(N, 0, 0.6)                                        # person effect
X <- sapply(seq_len(J), function(j) {
  x <- round(3 + u + e + rnorm(N, 0, 0.7))
  pmin(pmax(x, 1), 5)
})
X[group == "g12", ] <- sample(c(1, 5), sum(group == "g12") * J, replace = TRUE)
colnames(X) <- paste0("i", seq_len(J))
mask <- matrix(runif(N * J) < 0.05, N, J)                   # ~5 % item missing
mask[group == "g11", ] <- FALSE      # keep the singleton complete: rwg(j) must be NA
X[mask] <- NA
X[c(7, 150, 290), ] <- NA                                   # three fully skipped rows
X <- as.data.frame(X)

## ---- Cronbach's alpha (psych::alpha, raw_alpha, Feldt CI in $feldt) ----------
alpha_out <- function(a) list(
  value = unname(a$total$raw_alpha),
  ci_low = unname(unlist(a$feldt$lower.ci)),
  ci_high = unname(unlist(a$feldt$upper.ci)))
valid_rows <- rowSums(!is.na(X)) > 0
a_pw_all <- alpha(X, warnings = FALSE)                # default use = "pairwise"; n = nrow(X)
a_pw_valid <- alpha(X[valid_rows, ], warnings = FALSE)  # all-missing rows dropped first
a_lw <- alpha(na.omit(X), warnings = FALSE)           # complete cases
alpha_res <- list(
  pairwise_all_rows = c(alpha_out(a_pw_all), list(n_used_by_psych = nrow(X))),
  pairwise_valid_rows = c(alpha_out(a_pw_valid), list(n_used_by_psych = sum(valid_rows))),
  listwise = c(alpha_out(a_lw), list(n_used_by_psych = nrow(na.omit(X)))))

## ---- ICC(1), ICC(2) (multilevel::ICC1 / ICC2 on aov(score ~ group)) ----------
icc_out <- function(y, g) {
  fit <- aov(y ~ as.factor(g))
  tab <- summary(fit)[[1]]
  used <- !is.na(y) & !is.na(g)
  list(icc1 = ICC1(fit), icc2 = ICC2(fit),
       msb = tab[1, 3], msw = tab[2, 3], f = tab[1, 4], p = tab[1, 5],
       df_between = tab[1, 1], df_within = tab[2, 1],
       n = sum(used), n_groups = length(unique(g[used])))
}
score <- rowMeans(X, na.rm = TRUE)          # NaN for fully skipped rows -> dropped by aov
score[is.nan(score)] <- NA
# A score without group effect, shrunk towards equal group means: F < 1, negative ICCs.
noise <- rnorm(N)
noise <- noise - 0.9 * ave(noise, group)
icc_res <- list(score = icc_out(score, group), noise = icc_out(noise, group))

# REML random-intercept share for the (unbalanced) score: differs from ANOVA ICC(1).
fm <- lmer(score ~ 1 + (1 | group), REML = TRUE)
vc <- as.data.frame(VarCorr(fm))
reml <- list(var_between = vc$vcov[vc$grp == "group"], var_within = vc$vcov[vc$grp == "Residual"])
reml$icc <- reml$var_between / (reml$var_between + reml$var_within)

## ---- rwg(j) and rwg (multilevel 2.7, ranvar = 2) -----------------------------
rj <- rwg.j(X, group, ranvar = 2)                 # drops rows with any NA item first
cc <- complete.cases(X)
rwg_complete <- lapply(names(X), function(v) rwg(X[cc, v], group[cc], ranvar = 2))
rwg_available <- lapply(names(X), function(v) rwg(X[[v]], group, ranvar = 2))
names(rwg_complete) <- names(rwg_available) <- names(X)
df_rows <- function(d) lapply(seq_len(nrow(d)), function(i) as.list(d[i, , drop = FALSE]))

out <- list(
  generated_by = "tests/r/reliability.R",
  r_version = R.version.string,
  packages = lapply(c(psych = "psych", multilevel = "multilevel", lme4 = "lme4",
                      jsonlite = "jsonlite"), function(p) as.character(packageVersion(p))),
  seed = seed,
  data = list(group = group, items = lapply(X, function(v) v), noise = noise),
  alpha = alpha_res,
  icc = icc_res,
  reml_score = reml,
  rwg_j = lapply(seq_len(nrow(rj)), function(i)
    list(group = rj$grpid[i], rwg_j = rj$rwg.j[i], gsize = rj$gsize[i])),
  rwg_complete = lapply(rwg_complete, function(d) lapply(seq_len(nrow(d)), function(i)
    list(group = d$grpid[i], rwg = d$rwg[i], gsize = d$gsize[i]))),
  rwg_available = lapply(rwg_available, function(d) lapply(seq_len(nrow(d)), function(i)
    list(group = d$grpid[i], rwg = d$rwg[i], gsize = d$gsize[i])))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE),
           "tests/fixtures/r_reliability.json")
cat("wrote tests/fixtures/r_reliability.json\n")
