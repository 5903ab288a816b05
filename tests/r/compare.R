#!/usr/bin/env Rscript
# Reference values for tests/test_compare.py (relcoord.compare).
#
# Generates a seeded two-round dataset of respondent-tie RC scores, fits the
# mixed models relcoord.compare fits, and stores data + lme4 results + Welch
# t-test + Benjamini-Hochberg references in tests/fixtures/r_compare.json.
#
# Run from the repository root:  Rscript tests/r/compare.R
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

set.seed(20240917)
base_units <- sprintf("U%d", 1:8)
networks <- c("N1", "N2")
targets <- c(base_units, networks)
rounds <- c("2024", "2025")
# Follow-up round memberships: U1-U3 in N1, U4-U5 in N2 (N2 from 2025 only,
# U6 was in N1 until 2024 only).
memberships <- data.frame(
  network_id = c("N1", "N1", "N1", "N2", "N2", "N1"),
  unit_id    = c("U1", "U2", "U3", "U4", "U5", "U6"),
  from_round = c("2024", "2024", "2025", "2025", "2025", "2024"),
  to_round   = c("", "", "", "", "", "2024"),
  stringsAsFactors = FALSE)
net_of <- c(U1 = "N1", U2 = "N1", U3 = "N1", U4 = "N2", U5 = "N2",
            U6 = NA, U7 = NA, U8 = NA)

rater_eff <- setNames(rnorm(8, 0, 0.30), base_units)
target_eff <- setNames(rnorm(10, 0, 0.25), targets)
rows <- list()
k <- 0
for (rd in rounds) {
  for (u in base_units) {
    n_resp <- sample(8:12, 1)
    for (j in seq_len(n_resp)) {
      k <- k + 1
      rid <- sprintf("%s-%s-%02d", rd, u, j)
      lenient <- rnorm(1, 0, 0.25)
      for (t in targets) {
        if (runif(1) < 0.06) next  # missing tie
        shares <- as.integer(t %in% base_units && t != u &&
                             !is.na(net_of[u]) && !is.na(net_of[t]) &&
                             net_of[u] == net_of[t])
        rnd <- as.integer(rd == "2025")
        rc <- 3.6 + 0.08 * rnd + rater_eff[[u]] + target_eff[[t]] + lenient +
              0.30 * rnd * shares + rnorm(1, 0, 0.55)
        rows[[length(rows) + 1]] <- data.frame(
          respondent_id = rid, round = rd, rater_unit = u, target_unit = t,
          rc = round(rc, 4), shares_network = shares, stringsAsFactors = FALSE)
      }
    }
  }
}
d <- do.call(rbind, rows)
d$round01 <- as.integer(d$round == "2025")
bb <- d[d$target_unit %in% base_units & d$target_unit != d$rater_unit, ]

fit_info <- function(m) {
  vc <- as.data.frame(VarCorr(m))
  list(
    fixef = as.list(fixef(m)),
    se = as.list(sqrt(diag(as.matrix(vcov(m))))),
    varcomp = setNames(as.list(vc$vcov), ifelse(is.na(vc$var1), vc$grp, vc$grp)),
    reml_criterion = unname(REMLcrit(m)),
    n_obs = nobs(m))
}
ctrl <- lmerControl(optimizer = "bobyqa",
                    optCtrl = list(rhobeg = 2e-1, rhoend = 1e-10, maxfun = 1e5))
m_round <- lmer(rc ~ round01 + (1 | rater_unit) + (1 | target_unit),
                data = d, REML = TRUE, control = ctrl)
m_did <- lmer(rc ~ round01 * shares_network + (1 | rater_unit) + (1 | target_unit),
              data = bb, REML = TRUE, control = ctrl)
m_round_resp <- lmer(rc ~ round01 + (1 | rater_unit) + (1 | target_unit) + (1 | respondent_id),
                     data = d, REML = TRUE, control = ctrl)
m_did_resp <- lmer(rc ~ round01 * shares_network + (1 | rater_unit) + (1 | target_unit) +
                     (1 | respondent_id), data = bb, REML = TRUE, control = ctrl)

# Welch two-sample t (follow-up minus baseline) and BH references.
xa <- round(rnorm(23, 3.6, 0.7), 3)
xb <- round(rnorm(17, 3.9, 0.4), 3)
tt <- t.test(xb, xa, var.equal = FALSE)
pv <- c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216,
        0.222, 0.251, 0.269, 0.275, 0.34, 0.341, 0.384, 0.569, 0.594, 0.696,
        0.762, 0.94, 0.9422, 0.9999, 0.0001, 0.0412)

out <- list(
  generator = "tests/r/compare.R",
  r_version = R.version.string,
  lme4_version = as.character(packageVersion("lme4")),
  rounds = rounds,
  base_units = base_units,
  networks = networks,
  memberships = memberships,
  data = d[, c("respondent_id", "round", "rater_unit", "target_unit", "rc", "shares_network")],
  models = list(
    round = fit_info(m_round),
    network_did = fit_info(m_did),
    round_respondent = fit_info(m_round_resp),
    network_did_respondent = fit_info(m_did_resp)),
  welch = list(x_a = xa, x_b = xb, statistic = unname(tt$statistic),
               df = unname(tt$parameter), p = tt$p.value,
               diff = unname(mean(xb) - mean(xa))),
  bh = list(p = pv, p_adj = p.adjust(pv, method = "BH")))
write_json(out, "tests/fixtures/r_compare.json", digits = NA, auto_unbox = TRUE,
           dataframe = "columns", pretty = FALSE)
cat("wrote tests/fixtures/r_compare.json:", nrow(d), "rows,", nrow(bb), "base-base rows\n")
print(fixef(m_round)); print(fixef(m_did))
