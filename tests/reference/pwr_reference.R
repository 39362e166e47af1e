# Reference values for trialdesk.core.design.power, from R's pwr package and base R.
# Run: Rscript tests/reference/pwr_reference.R  (writes tests/reference/pwr_reference.json)
# pwr's own solvers stop at uniroot's default tolerance (.Machine$double.eps^0.25, ~1e-4), so
# roots are found here with uniroot(tol = 1e-12) on pwr's exact power functions; pwr's own
# (looser) root is kept as `pwr_root` for information.
suppressMessages({library(pwr); library(jsonlite)})
tol <- 1e-12
root <- function(f, lo, hi) uniroot(f, c(lo, hi), tol = tol)$root
cases <- list()
add <- function(kind, inputs, solved_for, value, source) {
  cases[[length(cases) + 1]] <<- list(kind = kind, inputs = inputs, solved_for = solved_for,
                                      value = value, source = source)
}
alts <- c("1" = "greater", "2" = "two.sided")
for (s in c(1, 2)) {
  for (d in c(0.3, 0.67, 1.2)) {
    a <- alts[[as.character(s)]]
    n <- root(function(n) pwr.t.test(n = n, d = d, sig.level = 0.05, alternative = a)$power - 0.8, 2, 1e4)
    add("means_t", list(effect = d, power = 0.8, alpha = 0.05, sided = s), "n_per_group", n,
        sprintf("pwr.t.test(d=%g, power=0.8, sig.level=0.05, alternative='%s')$n", d, alts[[as.character(s)]]))
  }
  for (n in c(10, 36, 100)) {
    a <- alts[[as.character(s)]]
    d <- root(function(d) pwr.t.test(n = n, d = d, sig.level = 0.05, alternative = a)$power - 0.8, 1e-3, 10)
    add("means_t", list(n_per_group = n, power = 0.8, alpha = 0.05, sided = s), "effect", d,
        sprintf("pwr.t.test(n=%g, power=0.8, sig.level=0.05, alternative='%s')$d", n, alts[[as.character(s)]]))
    r <- pwr.t.test(n = n, d = 0.67, sig.level = 0.05, alternative = alts[[as.character(s)]])
    add("means_t", list(n_per_group = n, effect = 0.67, alpha = 0.05, sided = s), "power", r$power,
        sprintf("pwr.t.test(n=%g, d=0.67, sig.level=0.05, alternative='%s')$power", n, alts[[as.character(s)]]))
  }
  a <- alts[[as.character(s)]]
  sl <- root(function(x) pwr.t.test(n = 36, d = 0.67, sig.level = x, alternative = a)$power - 0.8, 1e-6, 0.5)
  add("means_t", list(n_per_group = 36, effect = 0.67, power = 0.8, sided = s), "alpha", sl,
      "pwr.t.test(n=36, d=0.67, power=0.8, sig.level=NULL)")
  r <- pwr.t2n.test(n1 = 30, n2 = 60, d = 0.5, sig.level = 0.05, alternative = alts[[as.character(s)]])
  add("means_t", list(n_per_group = 30, ratio = 2, effect = 0.5, alpha = 0.05, sided = s), "power", r$power,
      "pwr.t2n.test(n1=30, n2=60, d=0.5, sig.level=0.05)$power")
  # two proportions, arcsine (Cohen's h)
  h <- ES.h(0.45, 0.25)
  n <- root(function(n) pwr.2p.test(h = h, n = n, sig.level = 0.05, alternative = a)$power - 0.8, 2, 1e4)
  add("prop_arcsine", list(p1 = 0.25, p2 = 0.45, power = 0.8, alpha = 0.05, sided = s), "n_per_group", n,
      "pwr.2p.test(h=ES.h(0.45,0.25), power=0.8, sig.level=0.05)$n")
  r <- pwr.2p2n.test(h = h, n1 = 40, n2 = 80, sig.level = 0.05, alternative = alts[[as.character(s)]])
  add("prop_arcsine", list(p1 = 0.25, p2 = 0.45, n_per_group = 40, ratio = 2, alpha = 0.05, sided = s), "power", r$power,
      "pwr.2p2n.test(h=ES.h(0.45,0.25), n1=40, n2=80, sig.level=0.05)$power")
  # two proportions, normal approximation (power.prop.test, strict counts both tails)
  r <- power.prop.test(p1 = 0.25, p2 = 0.45, power = 0.8, sig.level = 0.05, alternative = c("one.sided", "two.sided")[s], strict = TRUE, tol = tol)
  add("prop_normal", list(p1 = 0.25, p2 = 0.45, power = 0.8, alpha = 0.05, sided = s), "n_per_group", r$n,
      "power.prop.test(p1=0.25, p2=0.45, power=0.8, sig.level=0.05, strict=TRUE)$n")
  # two-sample z test, both tails: hand formula in base R
  for (n in c(20, 50)) {
    ncp <- 0.5 * sqrt(n / 2); z <- qnorm(0.05 / s, lower.tail = FALSE)
    p <- pnorm(z - ncp, lower.tail = FALSE) + (s == 2) * pnorm(-z - ncp)
    add("means_z", list(n_per_group = n, effect = 0.5, alpha = 0.05, sided = s), "power", p,
        "pnorm(qnorm(alpha/s, lower=FALSE) - d*sqrt(n/2), lower=FALSE) + lower tail if two-sided")
  }
  # ANCOVA: noncentral t with d / sqrt(1 - rho^2) and df = 2n - 3 (one covariate)
  for (rho in c(0.3, 0.6)) {
    n <- 30; df <- 2 * n - 3; ncp <- 0.5 / sqrt(1 - rho^2) * sqrt(n / 2)
    q <- qt(0.05 / s, df, lower.tail = FALSE)
    p <- pt(q, df, ncp, lower.tail = FALSE) + (s == 2) * pt(-q, df, ncp)
    add("means_t", list(n_per_group = n, effect = 0.5, correlation = rho, alpha = 0.05, sided = s), "power", p,
        "pt(qt(alpha/s, 2n-3, lower=FALSE), 2n-3, ncp=d/sqrt(1-rho^2)*sqrt(n/2), lower=FALSE) + lower tail")
  }
}
out <- list(generated_by = "tests/reference/pwr_reference.R", R = R.version.string,
            pwr = as.character(packageVersion("pwr")), cases = cases)
write_json(out, "tests/reference/pwr_reference.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
