# Group-sequential power and sample size for two means from rpact, for
# trialdesk.core.sequential.means. Run: Rscript tests/reference/rpact_means.R
# (writes tests/reference/rpact_means.json). rpact's t-based default (normalApproximation =
# FALSE) unless a case says otherwise. rpact solves the fixed-design t equation with
# uniroot(tol = 1e-4); "n_fixed_exact" is the same equation solved here to 1e-12. rpact rounds
# futility bounds on the effect scale to 8 decimals.
suppressMessages({library(rpact); library(jsonlite)})

designs <- list(
  # the protocol's monitored design: two-sided 0.05 run as one-sided 0.025 towards benefit,
  # asOF efficacy, non-binding bsOF futility, one interim at 50 %
  protocol = list(kMax = 2, alpha = 0.025, sided = 1, beta = 0.2, typeOfDesign = "asOF",
                  typeBetaSpending = "bsOF", bindingFutility = FALSE, informationRates = c(0.5, 1)),
  # the same without futility, symmetric two-sided 0.05
  protocol_two_sided = list(kMax = 2, alpha = 0.05, sided = 2, beta = 0.2, typeOfDesign = "asOF",
                            informationRates = c(0.5, 1)),
  pocock3 = list(kMax = 3, alpha = 0.025, sided = 1, beta = 0.2, typeOfDesign = "P"),
  asp3_two_sided = list(kMax = 3, alpha = 0.05, sided = 2, beta = 0.1, typeOfDesign = "asP",
                        informationRates = c(0.3, 0.6, 1)),
  binding3 = list(kMax = 3, alpha = 0.025, sided = 1, beta = 0.2, typeOfDesign = "asOF",
                  typeBetaSpending = "bsOF", bindingFutility = TRUE, informationRates = c(0.4, 0.7, 1))
)

power_cases <- list(
  list(design = "protocol", alternative = c(0, 0.2, 0.4, 0.5, 0.6, 0.67, 0.8, 1), stDev = 1, maxNumberOfSubjects = 80),
  list(design = "protocol", alternative = c(0, 0.5, 0.67, 0.8), stDev = 1, maxNumberOfSubjects = 72),
  list(design = "protocol", alternative = c(0, 0.67), stDev = 1, maxNumberOfSubjects = 80, normalApproximation = TRUE),
  list(design = "protocol", alternative = c(-0.67, -0.3), stDev = 1, maxNumberOfSubjects = 80, directionUpper = FALSE),
  list(design = "protocol_two_sided", alternative = c(-0.67, 0, 0.3, 0.67), stDev = 1, maxNumberOfSubjects = 80),
  list(design = "pocock3", alternative = c(0, 0.4, 0.6), stDev = 1, maxNumberOfSubjects = 90),
  list(design = "pocock3", alternative = c(0.8, 1.2), stDev = 2, maxNumberOfSubjects = 90, allocationRatioPlanned = 2),
  list(design = "asp3_two_sided", alternative = c(0, 0.5, 1), stDev = 1, maxNumberOfSubjects = 60),
  list(design = "asp3_two_sided", alternative = c(1, 2), stDev = 1, maxNumberOfSubjects = 12),
  # 2.4 subjects (0.4 df) at the first look: rpact gives NA for its t critical value
  list(design = "asp3_two_sided", alternative = 2, stDev = 1, maxNumberOfSubjects = 8),
  list(design = "binding3", alternative = c(-0.3, 0, 0.1), stDev = 1, maxNumberOfSubjects = 300, thetaH0 = -0.3)
)
sample_size_cases <- list(
  list(design = "protocol", alternative = c(0.5, 0.67, 0.8), stDev = 1),
  list(design = "protocol", alternative = 0.67, stDev = 1, normalApproximation = TRUE),
  list(design = "protocol_two_sided", alternative = c(0.67, -0.5), stDev = 1),
  list(design = "pocock3", alternative = 0.6, stDev = 1),
  list(design = "pocock3", alternative = 1.2, stDev = 2, allocationRatioPlanned = 2),
  list(design = "asp3_two_sided", alternative = 1.5, stDev = 1),
  list(design = "binding3", alternative = 0.1, stDev = 1, thetaH0 = -0.3)
)

na_null <- function(x) if (is.null(x)) NULL else x
# column i of a stage x alternative matrix that rpact may store as a vector (one stage) or with
# one column only (the boundaries of getPowerMeans do not depend on the alternative)
col <- function(m, i, rows) {
  if (is.null(m) || length(m) == 0 || rows == 0) return(NULL)
  m <- matrix(m, nrow = rows)
  as.numeric(m[, min(i, ncol(m))])
}

exact_n_fixed <- function(d, alt, sd, r, thetaH0) {
  f <- function(n2) stats::pt(stats::qt(1 - d$alpha / d$sided, max(0.001, n2 * (1 + r) - 2)),
                              max(0.001, n2 * (1 + r) - 2),
                              sqrt(n2) * sqrt(r / (1 + r)) * abs(alt - thetaH0) / sd) - d$beta
  uniroot(f, c(0.001, 1e5), tol = 1e-12)$root * (1 + r)
}

call_string <- function(fn, case) paste0(fn, "(", paste(names(case), sapply(case, function(x) paste(deparse(x), collapse = "")), sep = " = ", collapse = ", "), ")")

power_out <- list()
for (case in power_cases) {
  d <- do.call(getDesignGroupSequential, designs[[case$design]])
  args <- case; args$design <- d
  p <- do.call(getPowerMeans, args)
  k <- d$kMax
  sided2 <- d$sided == 2
  for (i in seq_along(case$alternative)) {
    power_out[[length(power_out) + 1]] <- list(
      design = case$design, design_args = designs[[case$design]],
      alternative = case$alternative[i], sd = case$stDev, max_n = case$maxNumberOfSubjects,
      theta_h0 = if (is.null(case$thetaH0)) 0 else case$thetaH0,
      allocation_ratio = if (is.null(case$allocationRatioPlanned)) 1 else case$allocationRatioPlanned,
      normal_approximation = isTRUE(case$normalApproximation),
      direction_upper = if (is.null(case$directionUpper)) TRUE else case$directionUpper,
      critical_values = d$criticalValues,
      power = p$overallReject[i], reject_per_stage = col(p$rejectPerStage, i, k),
      futility_per_stage = col(p$futilityPerStage, i, k - 1), futility_stop = na_null(p$futilityStop[i]),
      early_stop = p$earlyStop[i], expected_n = p$expectedNumberOfSubjects[i],
      n_cumulative = as.numeric(p$numberOfSubjects),
      critical_effect_upper = if (sided2) col(p$criticalValuesEffectScaleUpper, 1, k) else col(p$criticalValuesEffectScale, 1, k),
      critical_effect_lower = if (sided2) col(p$criticalValuesEffectScaleLower, 1, k) else NULL,
      futility_effect = if (!is.null(d$typeBetaSpending) && d$typeBetaSpending != "none") col(p$futilityBoundsEffectScale, 1, k - 1) else NULL,
      r_call = call_string("getPowerMeans", case)
    )
  }
}

ss_out <- list()
for (case in sample_size_cases) {
  d <- do.call(getDesignGroupSequential, designs[[case$design]])
  args <- case; args$design <- d
  s <- do.call(getSampleSizeMeans, args)
  k <- d$kMax
  sided2 <- d$sided == 2
  r <- if (is.null(case$allocationRatioPlanned)) 1 else case$allocationRatioPlanned
  h0 <- if (is.null(case$thetaH0)) 0 else case$thetaH0
  for (i in seq_along(case$alternative)) {
    ss_out[[length(ss_out) + 1]] <- list(
      design = case$design, design_args = designs[[case$design]],
      alternative = case$alternative[i], sd = case$stDev, theta_h0 = h0, allocation_ratio = r,
      normal_approximation = isTRUE(case$normalApproximation),
      n_fixed = s$nFixed[i],
      n_fixed_exact = if (isTRUE(case$normalApproximation)) s$nFixed[i] else exact_n_fixed(d, case$alternative[i], case$stDev, r, h0),
      max_n = s$maxNumberOfSubjects[i], n_cumulative = col(s$numberOfSubjects, i, k),
      n_cumulative_group1 = col(s$numberOfSubjects1, i, k),
      expected_n_h0 = s$expectedNumberOfSubjectsH0[i], expected_n_h01 = s$expectedNumberOfSubjectsH01[i],
      expected_n_h1 = s$expectedNumberOfSubjectsH1[i],
      reject_per_stage = col(s$rejectPerStage, i, k), futility_per_stage = col(s$futilityPerStage, i, k - 1),
      critical_effect_upper = if (sided2) col(s$criticalValuesEffectScaleUpper, i, k) else col(s$criticalValuesEffectScale, i, k),
      critical_effect_lower = if (sided2) col(s$criticalValuesEffectScaleLower, i, k) else NULL,
      futility_effect = if (!is.null(d$typeBetaSpending) && d$typeBetaSpending != "none") col(s$futilityBoundsEffectScale, i, k - 1) else NULL,
      r_call = call_string("getSampleSizeMeans", case)
    )
  }
}

write_json(list(generated_by = "tests/reference/rpact_means.R", R = R.version.string,
                rpact = as.character(packageVersion("rpact")), power = power_out,
                sample_size = ss_out),
           "tests/reference/rpact_means.json", auto_unbox = TRUE, digits = NA, pretty = TRUE,
           na = "null", null = "null")
cat(length(power_out), "power and", length(ss_out), "sample-size references written\n")
