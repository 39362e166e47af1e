# Interim-analysis references from rpact: overall z, repeated CIs, stage-wise ordering final
# p-value and conditional power, for two designs and one two-group means dataset
# (normal approximation). Run: Rscript tests/reference/rpact_interim.R
suppressMessages({library(rpact); library(jsonlite)})
ds <- getDataset(n1 = c(20, 20, 20), n2 = c(20, 20, 20),
                 means1 = c(1.0, 1.1, 1.05), means2 = c(0.4, 0.5, 0.45),
                 stDevs1 = c(1, 1.1, 1), stDevs2 = c(1, 0.9, 1))
cases <- list()
designs <- list(
  one_sided = list(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "asOF", informationRates = c(0.35, 0.7, 1)),
  two_sided = list(kMax = 3, alpha = 0.05, sided = 2, typeOfDesign = "asP", informationRates = c(0.35, 0.7, 1))
)
for (name in names(designs)) {
  d <- do.call(getDesignGroupSequential, designs[[name]])
  for (stage in c(1, 2)) {
    sr <- getStageResults(d, ds, stage = stage, normalApproximation = TRUE)
    # planned totals proportional to the design fractions: n_max = 80 / 0.7 = 800 / 7
    n_planned <- if (stage == 1) c(40, 240 / 7) else 240 / 7
    ar <- getAnalysisResults(d, ds, normalApproximation = TRUE, stage = stage,
                             nPlanned = n_planned, thetaH1 = 0.5, assumedStDev = 1)
    sd_pooled <- sr$overallStDevs[stage]
    n_per_group <- 20 * stage
    cases[[length(cases) + 1]] <- list(
      design = name, spending = designs[[name]]$typeOfDesign, alpha = designs[[name]]$alpha,
      sided = designs[[name]]$sided, information_fraction = designs[[name]]$informationRates,
      stage = stage, critical_values = d$criticalValues,
      z = sr$overallTestStatistics[stage], estimate = sr$effectSizes[stage],
      standard_error = sd_pooled * sqrt(2 / n_per_group),
      rci_lower = ar$repeatedConfidenceIntervalLowerBounds[stage],
      rci_upper = ar$repeatedConfidenceIntervalUpperBounds[stage],
      conditional_power = ar$conditionalPower[3],
      # rpact: theta sqrt(n_planned / 4) / sd is the drift over the remaining looks
      theta = 0.5, sd = 1, n_planned_total = n_planned,
      final_p_value = if (stage == 2 && name == "one_sided") getFinalPValue(sr)$pFinal else NA,
      median_unbiased = ar$medianUnbiasedEstimates[stage],
      final_ci_lower = ar$finalConfidenceIntervalLowerBounds[stage],
      final_ci_upper = ar$finalConfidenceIntervalUpperBounds[stage],
      r_call = paste0("getAnalysisResults(getDesignGroupSequential(", deparse(designs[[name]]),
                      "), ds, normalApproximation=TRUE, stage=", stage, ", nPlanned=", deparse(n_planned),
                      ", thetaH1=0.5, assumedStDev=1)")
    )
  }
}
write_json(list(generated_by = "tests/reference/rpact_interim.R",
                rpact = as.character(packageVersion("rpact")), cases = cases),
           "tests/reference/rpact_interim.json", auto_unbox = TRUE, digits = NA, pretty = TRUE,
           na = "null")
