#include "mitigations/fair_topk.h"

#include <algorithm>
#include <cmath>

#include <boost/math/distributions/binomial.hpp>
#include <fmt/format.h>

#include "core/errors.h"

namespace recbias {

std::vector<int> fair_minimum_counts(int k, double p, double alpha) {
  if (k < 1) throw BadInput(fmt::format("fair top-k: k = {}: expected at least 1", k));
  if (!(p > 0 && p < 1)) throw BadInput(fmt::format("fair top-k: p = {}: expected a protected share in (0, 1)", p));
  if (!(alpha > 0 && alpha < 1)) throw BadInput(fmt::format("fair top-k: alpha = {}: expected a level in (0, 1)", alpha));
  std::vector<int> table;
  for (int i = 1; i <= k; ++i) {
    const boost::math::binomial_distribution<double> dist(i, p);
    // Smallest x with CDF(x) >= alpha (scipy.stats.binom.ppf).
    int x = 0;
    while (x < i && boost::math::cdf(dist, x) < alpha) ++x;
    table.push_back(x);
  }
  return table;
}

double fair_failure_probability(const std::vector<int>& table, double p) {
  // prob[c] = probability of c protected items so far without a violation.
  std::vector<double> prob{1.0};
  for (std::size_t i = 0; i < table.size(); ++i) {
    std::vector<double> next(prob.size() + 1, 0.0);
    for (std::size_t c = 0; c < prob.size(); ++c) {
      next[c] += prob[c] * (1 - p);
      next[c + 1] += prob[c] * p;
    }
    for (std::size_t c = 0; c < next.size(); ++c)
      if (static_cast<int>(c) < table[i]) next[c] = 0;  // violated: leaves the "still fair" mass
    prob = std::move(next);
  }
  double survive = 0;
  for (double x : prob) survive += x;
  return 1 - survive;
}

double fair_adjusted_alpha(int k, double p, double alpha) {
  double lo = 0, hi = alpha;
  if (fair_failure_probability(fair_minimum_counts(k, p, alpha), p) <= alpha) return alpha;
  for (int iteration = 0; iteration < 60 && hi - lo > 1e-6 * alpha; ++iteration) {
    const double mid = (lo + hi) / 2;
    if (mid <= 0) break;
    if (fair_failure_probability(fair_minimum_counts(k, p, mid), p) <= alpha) lo = mid;
    else hi = mid;
  }
  return lo > 0 ? lo : hi;
}

}  // namespace recbias
