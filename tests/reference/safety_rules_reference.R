# The protocol's live safety rules (protocols/nct07183384.yaml, safety_rules), checked after
# every participant (n = 1..40 in the monitored arm), computed in base R independently of
# trialdesk: the count that fires each rule at each n, the exact probability that the rule
# fires by n = 40 at true related-SAE rates, and the Bayesian rule's posterior mean and 90 %
# equal-tailed interval at n = 40 for every count. Run: Rscript tests/reference/safety_rules_reference.R
suppressMessages(library(jsonlite))

n_max <- 40
rates <- c(0.007, 0.05, 0.10, 0.20, 0.30)

# related_sae_count: stop at >= events while n <= n_max of the step
steps <- data.frame(n_max = c(2, 5, 10, 15, 21, 27, 33, 40), events = c(2, 3, 4, 5, 6, 7, 8, 9))
count_stop <- sapply(1:n_max, function(n) steps$events[which(n <= steps$n_max)[1]])

# related_sae_bayes: Beta(a, b) prior with mean 0.007 and weight 10; fires when
# P(rate > 0.10 | x of n) > 0.90, from n = 3 on
a <- 0.007 * 10; b <- (1 - 0.007) * 10
bayes_stop <- sapply(1:n_max, function(n) {
  if (n < 3) return(NA)
  x <- 0:n; hit <- which(pbeta(0.10, a + x, b + n - x, lower.tail = FALSE) > 0.90)
  if (length(hit)) x[hit[1]] else NA
})

# one participant at a time: the count distribution among the not-yet-stopped paths
fire_by_end <- function(stop, p) {
  dist <- c(1); stopped <- 0
  for (n in seq_along(stop)) {
    dist <- c(dist * (1 - p), 0) + c(0, dist * p)
    c_n <- stop[n]
    if (!is.na(c_n) && c_n + 1 <= length(dist)) {
      stopped <- stopped + sum(dist[(c_n + 1):length(dist)])
      dist[(c_n + 1):length(dist)] <- 0
    }
  }
  stopped
}

posterior <- lapply(0:9, function(x) list(
  events = x, n = n_max,
  mean = (a + x) / (a + b + n_max),
  lower = qbeta(0.05, a + x, b + n_max - x),
  upper = qbeta(0.95, a + x, b + n_max - x),
  p_exceeds = pbeta(0.10, a + x, b + n_max - x, lower.tail = FALSE)
))

out <- list(
  generated_by = "tests/reference/safety_rules_reference.R",
  R = R.version.string,
  rates = rates,
  related_sae_count = list(stop_counts = count_stop,
    probability_fire = sapply(rates, function(p) fire_by_end(count_stop, p))),
  related_sae_bayes = list(stop_counts = bayes_stop,
    probability_fire = sapply(rates, function(p) fire_by_end(bayes_stop, p)),
    posterior_at_n_max = posterior)
)
write_json(out, "tests/reference/safety_rules_reference.json", auto_unbox = TRUE, digits = NA,
           pretty = TRUE, na = "null")
