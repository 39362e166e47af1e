# Reference group-sequential designs from rpact, for trialdesk.core.sequential.
# Run: Rscript tests/reference/rpact_designs.R  (writes tests/reference/rpact_designs.json)
# Each design is given in trialdesk's vocabulary (spending / futility codes as the CLI takes
# them) and translated to getDesignGroupSequential() arguments below; the R call is stored
# next to its output. rpact's -6 futility placeholder ("no futility bound") is dropped.
suppressMessages({library(rpact); library(jsonlite)})

specs <- list(
  # classical O'Brien-Fleming and Pocock, one-sided, K = 2..5
  list("OF", 2, NULL, 0.025, 1), list("OF", 3, NULL, 0.025, 1), list("OF", 4, NULL, 0.025, 1),
  list("OF", 5, NULL, 0.025, 1), list("P", 2, NULL, 0.025, 1), list("P", 3, NULL, 0.025, 1),
  list("P", 4, NULL, 0.025, 1), list("P", 5, NULL, 0.025, 1),
  list("OF", 3, c(0.3, 0.7, 1), 0.025, 1), list("P", 4, c(0.2, 0.5, 0.75, 1), 0.05, 1),
  list("WT:0.25", 4, NULL, 0.025, 1), list("WT:0.1", 3, c(0.4, 0.7, 1), 0.025, 1),
  # Haybittle-Peto
  list("HP", 2, NULL, 0.025, 1), list("HP", 4, c(0.25, 0.5, 0.8, 1), 0.025, 1),
  list("HP", 3, NULL, 0.05, 2),
  # alpha-spending families, one-sided, equal and unequal timings
  list("asOF", 2, NULL, 0.025, 1), list("asOF", 3, c(0.3, 0.6, 1), 0.025, 1),
  list("asOF", 4, c(0.25, 0.5, 0.8, 1), 0.025, 1), list("asOF", 5, NULL, 0.025, 1),
  list("asOF", 2, c(37 / 80, 1), 0.025, 1),
  list("asP", 3, NULL, 0.025, 1), list("asP", 4, c(0.2, 0.45, 0.7, 1), 0.05, 1),
  list("asKD:1", 3, NULL, 0.025, 1), list("asKD:2", 4, c(0.3, 0.5, 0.8, 1), 0.025, 1),
  list("asKD:3", 5, NULL, 0.025, 1),
  list("asHSD:-4", 3, NULL, 0.025, 1), list("asHSD:-2", 5, c(0.1, 0.3, 0.5, 0.8, 1), 0.025, 1),
  list("asHSD:1", 2, c(0.6, 1), 0.05, 1),
  # symmetric two-sided
  list("OF", 3, NULL, 0.05, 2), list("P", 4, NULL, 0.05, 2), list("P", 2, NULL, 0.05, 2),
  list("asOF", 2, c(0.5, 1), 0.05, 2), list("asOF", 4, c(0.25, 0.5, 0.8, 1), 0.05, 2),
  list("asP", 3, NULL, 0.05, 2), list("asKD:2", 5, NULL, 0.05, 2),
  list("asHSD:-4", 3, c(0.3, 0.6, 1), 0.05, 2), list("asOF", 5, NULL, 0.01, 2),
  # the one-sided alpha/2 twin of the design above (see test_sequential_vs_rpact.py)
  list("asOF", 5, NULL, 0.005, 1),
  # beta-spending futility, non-binding and binding
  list("asOF", 3, c(0.3, 0.6, 1), 0.025, 1, "bsOF", FALSE),
  list("asOF", 3, NULL, 0.025, 1, "bsOF", TRUE),
  list("asOF", 2, c(0.5, 1), 0.025, 1, "bsOF", FALSE),
  list("asOF", 2, c(0.5, 1), 0.025, 1, "bsOF", TRUE),
  list("asP", 4, NULL, 0.025, 1, "bsP", FALSE), list("asP", 4, c(0.2, 0.5, 0.75, 1), 0.025, 1, "bsP", TRUE),
  list("asKD:3", 2, NULL, 0.025, 1, "bsKD:2", FALSE), list("asKD:2", 3, c(0.4, 0.7, 1), 0.05, 1, "bsKD:3", TRUE),
  list("asHSD:-4", 5, NULL, 0.025, 1, "bsHSD:-2", TRUE), list("asHSD:-2", 4, c(0.3, 0.5, 0.8, 1), 0.025, 1, "bsHSD:-4", FALSE),
  list("asOF", 4, NULL, 0.025, 1, "bsP", FALSE, 0.1)
)

translate <- function(code, prefix) {
  parts <- strsplit(code, ":", fixed = TRUE)[[1]]
  list(type = parts[1], param = if (length(parts) > 1) as.numeric(parts[2]) else NA_real_)
}

run <- function(s) {
  a <- translate(s[[1]])
  args <- list(kMax = s[[2]], alpha = s[[4]], sided = s[[5]], beta = if (length(s) >= 8) s[[8]] else 0.2)
  if (!is.null(s[[3]])) args$informationRates <- s[[3]]
  if (a$type == "WT") { args$typeOfDesign <- "WT"; args$deltaWT <- a$param }
  else { args$typeOfDesign <- a$type; if (!is.na(a$param)) args$gammaA <- a$param }
  futility <- NULL; binding <- FALSE
  if (length(s) >= 6) {
    f <- translate(s[[6]]); futility <- s[[6]]; binding <- s[[7]]
    args$typeBetaSpending <- f$type; args$bindingFutility <- binding
    if (!is.na(f$param)) args$gammaB <- f$param
  }
  d <- do.call(getDesignGroupSequential, args)
  ch <- getDesignCharacteristics(d)
  fb <- d$futilityBounds
  fb <- if (is.null(futility)) NULL else fb
  list(
    spending = s[[1]], k = s[[2]], information_fraction = d$informationRates, alpha = s[[4]],
    sided = s[[5]], beta = args$beta, futility = futility, binding = binding,
    r_call = paste0("getDesignGroupSequential(", paste(names(args), sapply(args, function(x) paste(deparse(x), collapse = "")), sep = "=", collapse = ", "), ")"),
    critical_values = d$criticalValues, futility_bounds = fb, alpha_spent = d$alphaSpent,
    stage_levels = d$stageLevels,
    inflation_factor = ch$inflationFactor, shift = ch$shift, n_fixed = ch$nFixed,
    power = ch$power, rejection_probabilities = ch$rejectionProbabilities,
    futility_probabilities = ch$futilityProbabilities,
    asn_h1 = ch$averageSampleNumber1, asn_h01 = ch$averageSampleNumber01,
    asn_h0 = ch$averageSampleNumber0
  )
}

designs <- lapply(specs, run)
out <- list(generated_by = "tests/reference/rpact_designs.R", R = R.version.string,
            rpact = as.character(packageVersion("rpact")), designs = designs)
write_json(out, "tests/reference/rpact_designs.json", auto_unbox = TRUE, digits = NA,
           pretty = TRUE, null = "null")
cat(length(designs), "designs written\n")
