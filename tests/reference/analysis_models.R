# Final-analysis model references: ANCOVA (lm + emmeans), MMRM (nlme::gls + emmeans), multiple
# imputation (mice "norm" + pool), proportional odds (MASS::polr, ordinal::clm) and two-arm
# binary comparisons (fisher.test, prop.test, binom.test). Datasets: tests/reference/data/
# (made once by tests/reference/make_analysis_data.py). Debian packages: r-base-core,
# r-cran-nlme, r-cran-emmeans, r-cran-mice, r-cran-mass, r-cran-ordinal, r-cran-jsonlite.
# Run from the project root: Rscript tests/reference/analysis_models.R
suppressMessages({
  library(nlme); library(emmeans); library(mice); library(MASS); library(ordinal)
  library(jsonlite)
})
options(warn = 1)

wide <- read.csv("tests/reference/data/exo_pe_d7.csv", stringsAsFactors = FALSE, na.strings = "NA")
long <- read.csv("tests/reference/data/exo_pe_long.csv", stringsAsFactors = FALSE, na.strings = "NA")
visits <- c("D7", "M1", "M3", "M6", "M12", "M24")
# explicit levels: the reference (first) level must not depend on the locale's collation
as_factors <- function(d) {
  d$arm <- factor(d$arm, levels = c("PBO", "EXO"))
  d$delivery_mode <- factor(d$delivery_mode, levels = c("CS", "VAGINAL"))
  d$pe_severe <- factor(d$pe_severe, levels = c("NOT_SEVERE", "SEVERE"))
  d
}
wide <- as_factors(wide)
long <- as_factors(long)
long$visit <- factor(long$visit, levels = visits)
long$visit_index <- as.integer(long$visit)
long <- long[order(long$id, long$visit_index), ]

coef_rows <- function(tab, ci) {
  lapply(seq_len(nrow(tab)), function(i) list(
    name = rownames(tab)[i], estimate = tab[i, 1], standard_error = tab[i, 2],
    statistic = tab[i, 3], p_value = tab[i, 4], ci_lower = ci[i, 1], ci_upper = ci[i, 2]))
}
emm_rows <- function(s, name_cols) {
  lapply(seq_len(nrow(s)), function(i) {
    lbl <- paste(sapply(name_cols, function(cn) as.character(s[[cn]][i])), collapse = " at ")
    list(name = lbl, estimate = s[[if ("emmean" %in% names(s)) "emmean" else "estimate"]][i],
         standard_error = s$SE[i], df = s$df[i], ci_lower = s$lower.CL[i], ci_upper = s$upper.CL[i],
         statistic = s$t.ratio[i], p_value = s$p.value[i])
  })
}

# ---------------------------------------------------------------- ANCOVA: lm + emmeans
ancova_case <- function(name, formula, data, outcome) {
  fit <- lm(formula, data = data, na.action = na.omit)
  s <- summary(fit)
  emm <- emmeans(fit, "arm")
  con <- contrast(emm, "trt.vs.ctrl", ref = "PBO")
  list(case = name, r_call = paste0("lm(", deparse1(formula), ", na.action = na.omit)"),
       outcome = outcome, n = nobs(fit), residual_df = fit$df.residual, sigma = s$sigma,
       r_squared = s$r.squared, coefficients = coef_rows(coef(s), confint(fit)),
       vcov = unname(vcov(fit)),
       baseline_mean = if ("dct" %in% all.vars(formula)) mean(model.frame(fit)$dct) else NULL,
       emmeans = emm_rows(summary(emm, infer = TRUE), "arm"),
       contrast = emm_rows(summary(con, infer = TRUE), "contrast"))
}
ancova <- list(
  ancova_case("primary_d7", log2fc_d7 ~ arm + dct + delivery_mode + pe_severe, wide, "log2fc_d7"),
  ancova_case("m6_baseline_only", log2fc ~ arm + dct, long[long$visit == "M6", ], "log2fc"),
  ancova_case("d7_strata_no_baseline", log2fc_d7 ~ arm + pe_severe + delivery_mode, wide, "log2fc_d7")
)

# ---------------------------------------------------------------- MMRM: gls + emmeans
# corSymm(form = ~ visit_index | id): pairs a row with Sigma's row by visit, not by position
mmrm_formula <- log2fc ~ arm * visit + dct + delivery_mode + pe_severe
# the formula is written out: emmeans' gls_grad reads the response name from the call
fit_default <- gls(log2fc ~ arm * visit + dct + delivery_mode + pe_severe, data = long,
                   correlation = corSymm(form = ~ visit_index | id),
                   weights = varIdent(form = ~ 1 | visit), method = "REML", na.action = na.omit)
cc <- long[!is.na(long$log2fc), ]
mm_cc <- model.matrix(mmrm_formula, cc)
# nlme's optimiser (nlminb on finite differences, default tolerances) stops up to 3e-6
# (absolute) short of the REML maximum in the coefficients. Polish: BFGS on nlme's own profiled
# REML log-likelihood with Richardson-extrapolated gradients (numDeriv), then refit gls starting
# at the polished values (nlminb then stays there). The default fit is kept for the record.
polish <- function(f) {
  st <- f$modelStruct
  cl <- list(Xy = cbind(mm_cc, cc$log2fc), dims = list(N = nrow(cc), p = ncol(mm_cc), REML = 1L),
             logLik = 0, sigma = 0, fixedSigma = FALSE)
  obj <- function(p) -as.numeric(nlme:::logLik.glsStruct(st, p, cl))
  opt <- optim(coef(st), obj, function(p) numDeriv::grad(obj, p), method = "BFGS",
               control = list(reltol = 1e-16, maxit = 1000))
  coef(st) <- opt$par
  list(cor = coef(st$corStruct, unconstrained = FALSE), ratios = coef(st$varStruct, unconstrained = FALSE),
       gradient = max(abs(numDeriv::grad(obj, opt$par))))
}
polished <- polish(fit_default)
fit <- gls(log2fc ~ arm * visit + dct + delivery_mode + pe_severe, data = long,
           correlation = corSymm(value = polished$cor, form = ~ visit_index | id),
           weights = varIdent(value = polished$ratios, form = ~ 1 | visit), method = "REML",
           na.action = na.omit)
stopifnot(logLik(fit) >= logLik(fit_default))
# emmeans and its gradient re-read the data: give them the rows gls used (na.omit), fitted
# again on exactly those rows (same fit; gls_grad crashes on a fit whose data had NA rows)
fit_cc <- update(fit, data = cc)
stopifnot(isTRUE(all.equal(coef(fit), coef(fit_cc), tolerance = 1e-12)))
s <- summary(fit)
ratios <- coef(fit$modelStruct$varStruct, unconstrained = FALSE, allCoef = TRUE)[visits]
sd_by_visit <- fit$sigma * ratios
full_subject <- names(which(table(cc$id) == length(visits)))[1]
corr <- corMatrix(fit$modelStruct$corStruct)[[full_subject]]

emm_err <- emmeans(fit_cc, ~ arm | visit, data = cc, mode = "df.error")
con_err <- contrast(emm_err, "trt.vs.ctrl", ref = "PBO")
set.seed(1)  # appx-satterthwaite perturbs the fit at random
emm_default <- emmeans(fit_cc, ~ arm | visit, data = cc)  # emmeans' own choice of df method
con_default <- contrast(emm_default, "trt.vs.ctrl", ref = "PBO")

# Satterthwaite df = 2 (k'Vk)^2 / (g' A g) with emmeans' own gradient of vcov (gls_grad) and A
# the inverse of an accurate (Richardson) Hessian of nlme's REML log-likelihood in the same
# parameters; nlme's apVar (fdHess, relative steps) is not accurate enough here (below).
glsSt <- fit_cc$modelStruct
conLin <- list(Xy = cbind(mm_cc, cc$log2fc),
               dims = list(N = nrow(cc), p = length(coef(fit)), REML = 1L),
               logLik = 0, sigma = 0, fixedSigma = FALSE)
attr(glsSt, "conLin") <- conLin
attr(glsSt, "fixedSigma") <- FALSE
pars <- c(coef(glsSt), lSigma = log(fit_cc$sigma))
reml_full <- function(p) as.numeric(nlme:::glsApVar.fullGlsLogLik(
  p, glsSt, conLin, conLin$dims, nrow(cc) - length(coef(fit))))
A_accurate <- solve(-numDeriv::hessian(reml_full, pars))
G <- emmeans:::gls_grad(fit_cc, fit_cc$call, cc, vcov(fit_cc))
satterthwaite <- function(grid) {
  L <- grid@linfct
  V <- vcov(fit)
  est <- drop(L %*% coef(fit))
  se <- sqrt(rowSums((L %*% V) * L))
  df <- apply(L, 1, function(k) {
    g <- sapply(G, function(M) sum(k * (M %*% k)))
    2 * sum(k * (V %*% k))^2 / sum(g * (A_accurate %*% g))
  })
  q <- qt(0.975, df)
  lbl <- apply(grid@grid[, setdiff(names(grid@grid), ".wgt."), drop = FALSE], 1,
               function(r) paste(trimws(r), collapse = " at "))
  lapply(seq_along(est), function(i) list(
    name = lbl[i], estimate = est[i], standard_error = se[i], df = df[i],
    ci_lower = est[i] - q[i] * se[i], ci_upper = est[i] + q[i] * se[i],
    statistic = est[i] / se[i], p_value = 2 * pt(-abs(est[i] / se[i]), df[i])))
}
fit_by_position <- update(fit, correlation = corSymm(form = ~ 1 | id))
mmrm <- list(
  r_call = paste("gls(log2fc ~ arm * visit + dct + delivery_mode + pe_severe, data = long,",
                 "correlation = corSymm(form = ~ visit_index | id),",
                 "weights = varIdent(form = ~ 1 | visit), method = 'REML', na.action = na.omit)",
                 "refitted from the REML maximum polished with numDeriv gradients"),
  polish_gradient = polished$gradient,
  n_observations = fit$dims$N, n_subjects = length(unique(cc$id)), p = fit$dims$p,
  n_covariance_parameters = length(unlist(fit$modelStruct)),
  log_likelihood = as.numeric(logLik(fit)), sigma = fit$sigma,
  variance_ratios = unname(ratios / ratios[1]), sd_by_visit = unname(sd_by_visit),
  correlation = unname(corr),
  # intervals() uses t on N - p as summary(gls); confint() would be confint.default (normal)
  fixed_effects = coef_rows(s$tTable, intervals(fit, which = "coef")$coef[, c("lower", "upper")]),
  vcov = unname(vcov(fit)),
  baseline_mean = mean(cc$dct),
  df_error = list(
    df = fit$dims$N - fit$dims$p - length(unlist(fit$modelStruct)),
    emmeans = emm_rows(summary(emm_err, infer = TRUE), c("arm", "visit")),
    contrasts = emm_rows(summary(con_err, infer = TRUE), c("contrast", "visit"))),
  satterthwaite = list(
    emmeans = satterthwaite(emm_err), contrasts = satterthwaite(con_err)),
  emmeans_default = list(
    mode = attr(summary(con_default), "mesg")[grep("Degrees-of-freedom", attr(summary(con_default), "mesg"))],
    contrasts = emm_rows(summary(con_default, infer = TRUE), c("contrast", "visit")),
    apVar_var_log_sigma = fit$apVar["lSigma", "lSigma"],
    accurate_var_log_sigma = A_accurate[nrow(A_accurate), ncol(A_accurate)]),
  nlme_default_control = list(
    log_likelihood = as.numeric(logLik(fit_default)),
    coefficients = unname(coef(fit_default)),
    standard_errors = unname(sqrt(diag(vcov(fit_default))))),
  by_position = list(
    note = "corSymm(form = ~ 1 | id): pairs rows by position; wrong when a visit is missed in between",
    log_likelihood = as.numeric(logLik(fit_by_position)),
    armEXO = unname(coef(fit_by_position)["armEXO"]))
)

# ---------------------------------------------------------------- multiple imputation: mice
mi_data <- wide[, c("log2fc_d7", "arm", "dct", "delivery_mode", "pe_severe")]
mi_method <- c(log2fc_d7 = "norm", arm = "", dct = "", delivery_mode = "", pe_severe = "")
pool_case <- function(m, seed) {
  imp <- mice(mi_data, m = m, method = mi_method, maxit = 1, seed = seed, printFlag = FALSE)
  fits <- with(imp, lm(log2fc_d7 ~ arm + dct + delivery_mode + pe_severe))
  per <- lapply(fits$analyses, function(f) summary(f)$coefficients[, 1:2])
  pooled <- summary(pool(fits), type = "all", conf.int = TRUE)
  list(m = m, seed = seed,
       r_call = paste0("pool(with(mice(data, m = ", m, ", method = 'norm' for log2fc_d7, maxit = 1, seed = ",
                       seed, "), lm(log2fc_d7 ~ arm + dct + delivery_mode + pe_severe)))"),
       terms = rownames(per[[1]]),
       estimates = t(sapply(per, function(x) x[, 1])),
       variances = t(sapply(per, function(x) x[, 2]^2)),
       dfcom = pooled$dfcom[1],
       pooled = lapply(seq_len(nrow(pooled)), function(i) list(
         name = as.character(pooled$term[i]), estimate = pooled$estimate[i],
         standard_error = pooled$std.error[i], statistic = pooled$statistic[i], df = pooled$df[i],
         p_value = pooled$p.value[i], ci_lower = pooled[["2.5 %"]][i],
         ci_upper = pooled[["97.5 %"]][i], riv = pooled$riv[i], lambda = pooled$lambda[i],
         fmi = pooled$fmi[i], ubar = pooled$ubar[i], b = pooled$b[i], t = pooled$t[i])))
}
small <- pool_case(5, 20260113)
big <- pool_case(1000, 13)
big$estimates <- NULL  # 1000 x 5: the pooled values are what the Monte Carlo test compares
big$variances <- NULL
imputation <- list(pool_fixed_inputs = small, monte_carlo = big,
                   n_missing = sum(is.na(mi_data$log2fc_d7)))

# ---------------------------------------------------------------- proportional odds
wide$edema <- factor(wide$edema_d7, levels = 0:3, ordered = TRUE)
po_formula <- edema ~ arm + dct + delivery_mode + pe_severe
po_polr <- polr(po_formula, data = wide, Hess = TRUE)
po_polr_tight <- polr(po_formula, data = wide, Hess = TRUE, control = list(reltol = 1e-14))
po_clm <- clm(po_formula, data = wide, control = clm.control(gradTol = 1e-12))
polr_rows <- function(f) {
  v <- vcov(f)
  b <- c(f$zeta, coef(f))
  se <- sqrt(diag(v))[names(b)]
  lapply(seq_along(b), function(i) list(name = names(b)[i], estimate = unname(b[i]),
                                        standard_error = unname(se[i])))
}
clm_tab <- coef(summary(po_clm))
clm_ci <- confint.default(po_clm)
ordinal_ref <- list(
  r_call = "clm(factor(edema_d7, ordered) ~ arm + dct + delivery_mode + pe_severe); polr(..., Hess = TRUE)",
  n = nobs(po_clm), log_likelihood = as.numeric(logLik(po_clm)), aic = AIC(po_clm),
  clm = coef_rows(clm_tab, clm_ci),
  clm_vcov = unname(vcov(po_clm)),
  odds_ratios = lapply(names(coef(po_polr)), function(nm) list(
    name = nm, odds_ratio = exp(coef(po_clm)[[nm]]), ci_lower = exp(clm_ci[nm, 1]),
    ci_upper = exp(clm_ci[nm, 2]))),
  polr = list(log_likelihood = as.numeric(logLik(po_polr)), coefficients = polr_rows(po_polr)),
  polr_tight = list(log_likelihood = as.numeric(logLik(po_polr_tight)),
                    coefficients = polr_rows(po_polr_tight))
)

# ---------------------------------------------------------------- binary: two arms
# fisher.test's conditional MLE and exact CI, its own code with uniroot(tol = 1e-13): R's
# default tolerance (about 1.2e-4) is the accuracy of fisher.test's printed values
fisher_precise <- function(tab, conf.level = 0.95) {
  m <- sum(tab[, 1L]); n <- sum(tab[, 2L]); k <- sum(tab[1L, ]); x <- tab[1L, 1L]
  lo <- max(0L, k - n); hi <- min(k, m); support <- lo:hi
  logdc <- dhyper(support, m, n, k, log = TRUE)
  dnhyper <- function(ncp) { d <- logdc + log(ncp) * support; d <- exp(d - max(d)); d / sum(d) }
  mnhyper <- function(ncp) { if (ncp == 0) return(lo); if (ncp == Inf) return(hi); sum(support * dnhyper(ncp)) }
  pnhyper <- function(q, ncp = 1, upper.tail = FALSE) {
    if (ncp == 1) return(if (upper.tail) phyper(x - 1, m, n, k, lower.tail = FALSE) else phyper(x, m, n, k))
    if (ncp == 0) return(as.numeric(if (upper.tail) q <= lo else q >= lo))
    if (ncp == Inf) return(as.numeric(if (upper.tail) q <= hi else q >= hi))
    sum(dnhyper(ncp)[if (upper.tail) support >= q else support <= q])
  }
  tol <- 1e-13
  mle <- if (x == lo) 0 else if (x == hi) Inf else {
    mu <- mnhyper(1)
    if (mu > x) uniroot(function(t) mnhyper(t) - x, c(0, 1), tol = tol)$root
    else if (mu < x) 1 / uniroot(function(t) mnhyper(1 / t) - x, c(.Machine$double.eps, 1), tol = tol)$root
    else 1
  }
  alpha <- (1 - conf.level) / 2
  upper <- if (x == hi) Inf else {
    p <- pnhyper(x, 1)
    if (p < alpha) uniroot(function(t) pnhyper(x, t) - alpha, c(0, 1), tol = tol)$root
    else if (p > alpha) 1 / uniroot(function(t) pnhyper(x, 1 / t) - alpha, c(.Machine$double.eps, 1), tol = tol)$root
    else 1
  }
  lower <- if (x == lo) 0 else {
    p <- pnhyper(x, 1, upper.tail = TRUE)
    if (p > alpha) uniroot(function(t) pnhyper(x, t, upper.tail = TRUE) - alpha, c(0, 1), tol = tol)$root
    else if (p < alpha) 1 / uniroot(function(t) pnhyper(x, 1 / t, upper.tail = TRUE) - alpha, c(.Machine$double.eps, 1), tol = tol)$root
    else 1
  }
  list(estimate = mle, ci = c(lower, upper))
}
binary_case <- function(name, x1, n1, x2, n2) {
  tab <- matrix(c(x1, x2, n1 - x1, n2 - x2), nrow = 2)  # rows treatment, control
  ft <- fisher.test(tab)
  fp <- fisher_precise(tab)
  wilson <- function(x, n) as.numeric(prop.test(x, n, correct = FALSE)$conf.int)
  cp <- function(x, n) as.numeric(binom.test(x, n)$conf.int)
  chi <- suppressWarnings(prop.test(c(x1, x2), c(n1, n2), correct = FALSE))
  chi_c <- suppressWarnings(prop.test(c(x1, x2), c(n1, n2), correct = TRUE))
  p1 <- x1 / n1; p2 <- x2 / n2; z <- qnorm(0.975)
  w1 <- wilson(x1, n1); w2 <- wilson(x2, n2)
  rr <- if (x1 > 0 && x2 > 0) {
    se <- sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2); exp(log(p1 / p2) + c(-1, 1) * z * se)
  } else NULL
  cells <- c(x1, n1 - x1, x2, n2 - x2)
  or <- if (all(cells > 0)) {
    est <- x1 * (n2 - x2) / ((n1 - x1) * x2); exp(log(est) + c(-1, 1) * z * sqrt(sum(1 / cells)))
  } else NULL
  list(case = name, x1 = x1, n1 = n1, x2 = x2, n2 = n2,
       fisher_p = ft$p.value, fisher_or = unname(ft$estimate), fisher_ci = as.numeric(ft$conf.int),
       fisher_or_precise = fp$estimate, fisher_ci_precise = fp$ci,
       clopper_pearson = list(cp(x1, n1), cp(x2, n2)), wilson = list(w1, w2),
       chi_square = unname(chi$statistic), chi_square_p = chi$p.value,
       chi_square_corrected = unname(chi_c$statistic), chi_square_corrected_p = chi_c$p.value,
       rd_wald = as.numeric(chi$conf.int), rd_wald_corrected = as.numeric(chi_c$conf.int),
       rd_newcombe = c(p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2),
                       p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2)),
       rr_ci = rr, or_ci = or)
}
sae <- table(wide$arm, wide$sae)
binary <- list(
  binary_case("sae_exo_vs_pbo", sae["EXO", "yes"], sum(sae["EXO", ]), sae["PBO", "yes"], sum(sae["PBO", ])),
  binary_case("newcombe_1998_a", 56, 70, 48, 80),
  binary_case("newcombe_1998_b", 9, 10, 3, 10),
  binary_case("zero_control", 5, 56, 0, 29),
  binary_case("zero_treatment", 0, 40, 4, 40),
  binary_case("small_counts", 2, 12, 7, 11)
)

write_json(list(
  generated_by = "tests/reference/analysis_models.R",
  versions = lapply(c(R = "base", nlme = "nlme", emmeans = "emmeans", mice = "mice", MASS = "MASS",
                      ordinal = "ordinal"), function(p) as.character(packageVersion(p))),
  ancova = ancova, mmrm = mmrm, imputation = imputation, ordinal = ordinal_ref, binary = binary),
  "tests/reference/analysis_models.json", auto_unbox = TRUE, digits = NA, pretty = TRUE,
  na = "string", null = "null")  # Inf as "Inf" (an exact CI limit), not null
cat("wrote tests/reference/analysis_models.json\n")
