# Safety-monitoring references computed in base R, independently of trialdesk:
# posterior tail probabilities (pbeta), the beta-binomial stopping counts, the exact-binomial
# Pocock-type boundary (Ivanova, Qaqish & Schell 2005) and the operating characteristics by
# brute-force convolution with dbinom. Run: Rscript tests/reference/safety_reference.R
suppressMessages(library(jsonlite))

prior_mean <- 0.007; prior_n <- 10
a <- prior_mean * prior_n; b <- (1 - prior_mean) * prior_n
checkpoints <- seq(5, 40, by = 5)
threshold <- 0.05; gamma <- 0.8

posterior <- list()
for (n in c(5, 10, 20, 40)) for (x in 0:4) {
  posterior[[length(posterior) + 1]] <- list(n = n, events = x,
    value = pbeta(threshold, a + x, b + n - x, lower.tail = FALSE))
}
bayes_counts <- sapply(checkpoints, function(n) {
  x <- 0:n; hit <- which(pbeta(threshold, a + x, b + n - x, lower.tail = FALSE) > gamma)
  if (length(hit)) x[hit[1]] else n + 1
})

stop_probs <- function(ns, counts, p) {
  dist <- 1; prev <- 0; out <- numeric(length(ns))
  for (j in seq_along(ns)) {
    m <- ns[j] - prev
    new <- numeric(length(dist) + m)
    for (i in seq_along(dist)) new[i:(i + m)] <- new[i:(i + m)] + dist[i] * dbinom(0:m, m, p)
    dist <- new
    cj <- counts[j]
    if (cj <= ns[j]) { out[j] <- sum(dist[(cj + 1):length(dist)]); dist[(cj + 1):length(dist)] <- 0 }
    prev <- ns[j]
  }
  out
}
tail_counts <- function(ns, p, level) sapply(ns, function(n) {
  x <- 0:n; hit <- which(pbinom(x - 1, n, p, lower.tail = FALSE) <= level)
  if (length(hit)) x[hit[1]] else n + 1
})
pocock <- function(ns, p0, alpha) {
  # every attainable nominal level is a binomial tail probability: scan them exactly
  levels <- sort(unique(unlist(lapply(ns, function(n) pbinom((0:n) - 1, n, p0, lower.tail = FALSE)))))
  levels <- levels[levels <= alpha]
  best <- 0
  for (lv in levels) if (sum(stop_probs(ns, tail_counts(ns, p0, lv), p0)) <= alpha) best <- lv
  list(level = best, counts = tail_counts(ns, p0, best))
}
rates <- c(0.007, 0.02, 0.05, 0.1, 0.2)
oc <- function(counts) lapply(rates, function(p) {
  s <- stop_probs(checkpoints, counts, p)
  list(rate = p, stop_by_checkpoint = s, probability_stop = sum(s),
       expected_n = sum(checkpoints * s) + max(checkpoints) * (1 - sum(s)))
})
poc_a <- pocock(checkpoints, 0.007, 0.05)
poc_b <- pocock(1:30, 0.1, 0.1)
out <- list(
  generated_by = "tests/reference/safety_reference.R", R = R.version.string,
  prior_mean = prior_mean, prior_sample_size = prior_n, threshold = threshold,
  posterior_probability = gamma, checkpoints = checkpoints, posterior = posterior,
  bayesian_stop_counts = bayes_counts, bayesian_oc = oc(bayes_counts),
  pocock = list(list(checkpoints = checkpoints, p0 = 0.007, alpha = 0.05, nominal_level = poc_a$level,
                     stop_counts = poc_a$counts, oc = oc(poc_a$counts)),
                list(checkpoints = 1:30, p0 = 0.1, alpha = 0.1, nominal_level = poc_b$level,
                     stop_counts = poc_b$counts))
)
write_json(out, "tests/reference/safety_reference.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
