# The final look of the NCT07183384 design (asOF alpha 0.025 one-sided, bsOF non-binding
# futility, power 0.8) after an interim at an observed information fraction, from rpact.
# Run: Rscript tests/reference/final_look.R > tests/reference/final_look.json
suppressMessages({library(rpact); library(jsonlite)})
setLogLevel("DISABLED")
cases <- list(
  list(name = "interim_37_of_78", n1 = c(19, 18), n2 = c(20, 21),
       m1 = c(0.9, 0.3), s1 = c(1.0, 1.1), m2 = c(0.8, 0.2), s2 = c(0.9, 1.0)),
  list(name = "interim_41_of_74_null", n1 = c(21, 20), n2 = c(17, 16),
       m1 = c(0.4, 0.35), s1 = c(1.0, 1.0), m2 = c(0.1, 0.3), s2 = c(1.2, 0.9))
)
out <- list()
for (cs in cases) {
  n_int <- sum(cs$n1); n_fin <- n_int + sum(cs$n2)
  d <- getDesignGroupSequential(kMax = 2, alpha = 0.025, beta = 0.2, sided = 1,
    typeOfDesign = "asOF", typeBetaSpending = "bsOF", bindingFutility = FALSE,
    informationRates = c(n_int / n_fin, 1))
  ds <- getDataset(n1 = c(cs$n1[1], cs$n2[1]), n2 = c(cs$n1[2], cs$n2[2]),
    means1 = c(cs$m1[1], cs$m2[1]), means2 = c(cs$m1[2], cs$m2[2]),
    stDevs1 = c(cs$s1[1], cs$s2[1]), stDevs2 = c(cs$s1[2], cs$s2[2]))
  ar <- getAnalysisResults(d, ds, normalApproximation = TRUE, stage = 2)
  sr <- getStageResults(d, ds, normalApproximation = TRUE, stage = 2)
  # overall (cumulative) mean difference, pooled SD and SE as rpact computes them
  est <- sr$overallMeans1[2] - sr$overallMeans2[2]
  z <- sr$overallTestStatistics[2]
  out[[cs$name]] <- list(
    n_interim = n_int, n_final = n_fin,
    critical_values = d$criticalValues, futility_bounds = d$futilityBounds,
    z_interim = sr$overallTestStatistics[1], z = z, estimate = est, standard_error = est / z,
    final_p_value = getFinalPValue(sr)$pFinal,
    median_unbiased = ar$medianUnbiasedEstimates[2],
    final_ci_lower = ar$finalConfidenceIntervalLowerBounds[2],
    final_ci_upper = ar$finalConfidenceIntervalUpperBounds[2],
    rci_lower = ar$repeatedConfidenceIntervalLowerBounds[2],
    rci_upper = ar$repeatedConfidenceIntervalUpperBounds[2])
}
cat(toJSON(list(generated_by = "tests/reference/final_look.R",
  rpact = as.character(packageVersion("rpact")), cases = out), auto_unbox = TRUE, digits = NA, pretty = TRUE))
