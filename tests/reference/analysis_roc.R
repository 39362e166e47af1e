# ROC references from pROC for trialdesk.core.analysis.roc.
# Run: Rscript tests/reference/analysis_roc.R   (writes tests/reference/analysis_roc.json)
# Data: tests/reference/data/mir126_diagnostic.csv (synthetic miR-126-3p diagnostic data with
# ties, two paired markers, two cohorts) and small hand-made data sets for edge cases.
suppressMessages({library(pROC); library(jsonlite)})

# jsonlite writes at most 15 significant digits, so data and thresholds are written as strings
# with 17 (every double round-trips, 0.1 + 0.2 included); JSON has no infinity: "Inf", "-Inf".
exact <- function(x) sprintf("%.17g", x)

d <- read.csv("tests/reference/data/mir126_diagnostic.csv", stringsAsFactors = FALSE)
pick <- function(cohort, marker, group) d[d$cohort == cohort & d$group == group, marker]

curve_ref <- function(name, controls, cases, direction = "auto", thresholds = numeric(0)) {
  r <- roc(controls = controls, cases = cases, direction = direction, quiet = TRUE)
  ci95 <- as.numeric(ci.auc(r, method = "delong", conf.level = 0.95))
  ci90 <- as.numeric(ci.auc(r, method = "delong", conf.level = 0.90))
  best <- function(method) {
    b <- coords(r, "best", best.method = method, ret = c("threshold", "specificity", "sensitivity", method),
                transpose = FALSE)
    list(threshold = exact(b$threshold), specificity = b$specificity, sensitivity = b$sensitivity,
         criterion = b[[method]])
  }
  at <- lapply(thresholds, function(t) {
    cc <- coords(r, t, input = "threshold", ret = c("tp", "fn", "tn", "fp", "sensitivity", "specificity"),
                 transpose = FALSE)
    tp <- cc$tp; fn <- cc$fn; tn <- cc$tn; fp <- cc$fp
    ci <- function(x, n, f) as.numeric(f(x, n))
    list(threshold = exact(t), tp = tp, fn = fn, tn = tn, fp = fp,
         sensitivity = cc$sensitivity, specificity = cc$specificity,
         sensitivity_exact = as.numeric(binom.test(tp, tp + fn)$conf.int),
         specificity_exact = as.numeric(binom.test(tn, tn + fp)$conf.int),
         sensitivity_wilson = as.numeric(prop.test(tp, tp + fn, correct = FALSE)$conf.int),
         specificity_wilson = as.numeric(prop.test(tn, tn + fp, correct = FALSE)$conf.int))
  })
  list(name = name, controls = exact(controls), cases = exact(cases), direction_requested = direction,
       direction = r$direction, auc = as.numeric(auc(r)),
       variance = if (length(controls) > 1 && length(cases) > 1) var(r, method = "delong") else NA,
       ci95 = c(ci95[1], ci95[3]), ci90 = c(ci90[1], ci90[3]),
       thresholds = exact(r$thresholds), sensitivities = r$sensitivities, specificities = r$specificities,
       youden = best("youden"), topleft = best("closest.topleft"), at = at,
       r_call = sprintf('roc(controls = <%s controls>, cases = <%s cases>, direction = "%s")',
                        length(controls), length(cases), direction))
}

ctrl_a <- pick("derivation", "mir126_cel39", "control"); case_a <- pick("derivation", "mir126_cel39", "case")
ctrl_b <- pick("derivation", "mir126_mir16", "control"); case_b <- pick("derivation", "mir126_mir16", "case")
ctrl_v <- pick("validation", "mir126_cel39", "control"); case_v <- pick("validation", "mir126_cel39", "case")

curves <- list(
  curve_ref("derivation_cel39", ctrl_a, case_a, thresholds = c(-6.55, -6.0, -7.0, -6.3, -Inf, Inf)),
  curve_ref("derivation_mir16", ctrl_b, case_b, thresholds = c(-6.25, -6.2)),
  curve_ref("validation_cel39", ctrl_v, case_v, thresholds = c(-6.55, -5.75)),
  curve_ref("derivation_cel39_explicit_lt", ctrl_a, case_a, direction = "<", thresholds = c(-6.55)),
  curve_ref("derivation_cel39_explicit_gt", ctrl_a, case_a, direction = ">", thresholds = c(-6.55)),
  # hand-made: three-way Youden tie (se + sp = 1.6 at 3.5, 5.5 and 7.5)
  curve_ref("youden_ties", c(1, 2, 3, 5, 7), c(4, 6, 8, 9, 10), thresholds = c(5.5, 5)),
  # equal medians: "auto" gives "<"
  curve_ref("equal_medians", c(1, 2, 3), c(0, 2, 4)),
  # perfect separation: AUC 1, variance 0
  curve_ref("perfect", c(1, 2, 3, 4, 5), c(6, 7, 8, 9, 10), thresholds = c(5.5)),
  # every value equal: AUC 0.5
  curve_ref("all_tied", c(2, 2, 2), c(2, 2, 2, 2), thresholds = c(2)),
  # near-numeric ties: the midpoint of 0.3 and 0.1 + 0.2 rounds onto an observed value
  curve_ref("near_ties_lt", c(0.3, 1, 2), c(0.1 + 0.2, 1.5, 3), direction = "<"),
  curve_ref("near_ties_gt", c(0.3, 1, 2), c(0.1 + 0.2, 1.5, 3), direction = ">"),
  # huge values: midpoints computed as a/2 + b/2 to avoid overflow
  curve_ref("huge", c(1e308, 1.2e308, 1.5e308), c(1.4e308, 1.7e308, 1.75e308))
)

test_ref <- function(name, r1, r2, paired, alternative = "two.sided") {
  t <- roc.test(r1, r2, method = "delong", paired = paired, alternative = alternative)
  list(name = name, paired = paired, alternative = alternative,
       statistic = as.numeric(t$statistic), df = if (paired) NA else as.numeric(t$parameter),
       p_value = t$p.value, auc = as.numeric(t$estimate),
       conf_int = if (paired) as.numeric(t$conf.int) else NA)
}
ra <- roc(controls = ctrl_a, cases = case_a, quiet = TRUE)
rb <- roc(controls = ctrl_b, cases = case_b, quiet = TRUE)
rv <- roc(controls = ctrl_v, cases = case_v, quiet = TRUE)
r_small1 <- roc(controls = c(1, 2, 3, 3, 4), cases = c(3, 4, 5, 6, 3.5), quiet = TRUE)
r_small2 <- roc(controls = c(1, 2.5, 3, 3, 4.2), cases = c(3, 4, 5.5, 6, 2), quiet = TRUE)
tests <- list(
  test_ref("paired_cel39_vs_mir16", ra, rb, TRUE),
  test_ref("paired_cel39_vs_mir16_greater", ra, rb, TRUE, "greater"),
  test_ref("paired_mir16_vs_cel39_less", rb, ra, TRUE, "less"),
  test_ref("paired_small", r_small1, r_small2, TRUE),
  test_ref("unpaired_derivation_vs_validation", ra, rv, FALSE),
  test_ref("unpaired_derivation_vs_validation_less", ra, rv, FALSE, "less"),
  test_ref("unpaired_small", r_small1, r_small2, FALSE)
)

write_json(list(generated_by = "tests/reference/analysis_roc.R", R = R.version.string,
                pROC = as.character(packageVersion("pROC")), curves = curves, tests = tests),
           "tests/reference/analysis_roc.json", auto_unbox = TRUE, digits = NA, pretty = TRUE,
           na = "null")
cat(length(curves), "curves and", length(tests), "tests written\n")
