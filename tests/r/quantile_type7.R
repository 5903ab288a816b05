# Fixture for tests/test_benchmark.py: R quantile(x, type = 7) on a few vectors.
# Regenerate: Rscript tests/r/quantile_type7.R > tests/fixtures/r_quantile_type7.json (CI never needs R).
sets <- list(
  a = c(3.2, 3.9, 3.5, 4.1, 3.7),
  b = c(3.61, 3.12, 4.02, 3.88, 3.45, 3.45, 3.99),
  c = c(2.5, 4.75, 3.3333, 3.9, 4.2, 3.05, 3.6, 3.6, 4.4, 3.1, 2.95, 3.72, 3.81, 4.05),
  d = c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100) / 25
)
cat("{\n")
nm <- names(sets)
for (i in seq_along(sets)) {
  x <- sets[[i]]
  q <- quantile(x, c(.1, .25, .5, .75, .9), type = 7, names = FALSE)
  cat(sprintf('  "%s": {"x": [%s], "q": [%s]}%s\n', nm[i], paste(sprintf("%.17g", x), collapse = ", "),
              paste(sprintf("%.17g", q), collapse = ", "), ","))
}
cat(sprintf('  "r_version": "%s"\n}\n', R.version.string))
