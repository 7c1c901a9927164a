#include "core/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <unordered_set>

#include <boost/math/distributions/chi_squared.hpp>
#include <boost/math/distributions/non_central_chi_squared.hpp>
#include <boost/math/distributions/normal.hpp>
#include <fmt/format.h>

#include "core/errors.h"
#include "core/rng.h"

namespace recbias {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_same_size(std::size_t a, std::size_t b, const char* what) {
  RECBIAS_CHECK(a == b, fmt::format("{}: inputs of different lengths {} and {}", what, a, b));
}

// Expected counts rescaled to the observed total.
std::vector<double> expected_counts(std::span<const double> observed, std::span<const double> expected,
                                    const char* what) {
  check_same_size(observed.size(), expected.size(), what);
  RECBIAS_CHECK(observed.size() >= 2, fmt::format("{}: needs at least 2 categories", what));
  const double total = std::accumulate(observed.begin(), observed.end(), 0.0);
  const double expected_total = std::accumulate(expected.begin(), expected.end(), 0.0);
  std::vector<double> e(expected.size());
  for (std::size_t i = 0; i < e.size(); ++i) {
    RECBIAS_CHECK(expected[i] > 0, fmt::format("{}: expected frequency {} at category {} must be > 0", what, expected[i], i));
    e[i] = expected[i] / expected_total * total;
  }
  return e;
}

double chi2_upper_tail(double statistic, double df) {
  if (!(statistic > 0)) return 1.0;
  return boost::math::cdf(boost::math::complement(boost::math::chi_squared(df), statistic));
}

double normal_sf(double z) {
  return boost::math::cdf(boost::math::complement(boost::math::normal(0.0, 1.0), z));
}

}  // namespace

double normal_quantile(double p) { return boost::math::quantile(boost::math::normal(0.0, 1.0), p); }

Interval wilson_interval(std::int64_t successes, std::int64_t n, double confidence) {
  RECBIAS_CHECK(successes >= 0 && n >= 0 && successes <= n,
                fmt::format("wilson_interval({}, {}): need 0 <= successes <= n", successes, n));
  if (n == 0) return {0.0, 1.0};
  const double z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(successes) / nn;
  const double z2 = z * z;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z / (1 + z2 / nn) * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  // At p = 0 (1) the lower (upper) end is exactly 0 (1); rounding would leave ~1e-18.
  return {successes == 0 ? 0.0 : std::max(0.0, centre - half), successes == n ? 1.0 : std::min(1.0, centre + half)};
}

Interval wilson_interval_effective(double p_hat, double variance, double n, double confidence) {
  RECBIAS_CHECK(n >= 0 && p_hat >= 0 && p_hat <= 1, fmt::format("wilson_interval_effective({}, {}, {})", p_hat, variance, n));
  if (n <= 0) return {0.0, 1.0};
  double n_eff = n;
  if (variance > 0 && p_hat > 0 && p_hat < 1) n_eff = std::min(n, p_hat * (1 - p_hat) / variance);
  const double z = normal_quantile(1.0 - (1.0 - confidence) / 2.0);
  const double z2 = z * z;
  const double centre = (p_hat + z2 / (2 * n_eff)) / (1 + z2 / n_eff);
  const double half = z / (1 + z2 / n_eff) * std::sqrt(p_hat * (1 - p_hat) / n_eff + z2 / (4 * n_eff * n_eff));
  return {p_hat == 0 ? 0.0 : std::max(0.0, centre - half), p_hat == 1 ? 1.0 : std::min(1.0, centre + half)};
}

TestResult rao_scott_gof(std::span<const double> estimate, std::span<const double> covariance, double n,
                         std::span<const double> expected, double* design_effect, double* scale) {
  const std::size_t k = estimate.size();
  RECBIAS_CHECK(k >= 2 && expected.size() == k && covariance.size() == k * k, "rao_scott_gof: shapes do not match");
  double x2 = 0;
  for (std::size_t j = 0; j < k; ++j) {
    RECBIAS_CHECK(expected[j] > 0, "rao_scott_gof: expected proportions must be > 0");
    x2 += n * (estimate[j] - expected[j]) * (estimate[j] - expected[j]) / expected[j];
  }
  // D = n diag(1/e) V; trace(D) and trace(D^2) = sum_jk D_jk D_kj.
  double tr = 0, tr2 = 0;
  for (std::size_t j = 0; j < k; ++j) {
    tr += n * covariance[j * k + j] / expected[j];
    for (std::size_t i = 0; i < k; ++i) tr2 += (n * covariance[j * k + i] / expected[j]) * (n * covariance[i * k + j] / expected[i]);
  }
  const double m = static_cast<double>(k - 1);
  const double mean_delta = tr / m;
  if (design_effect) *design_effect = mean_delta;
  TestResult r{"Rao-Scott chi-square (second order)", 0, m, 1.0};
  if (!(mean_delta > 1e-300)) {
    // No sampling variance at all: the estimate is exact.
    r.p_value = x2 > 1e-12 ? 0.0 : 1.0;
    r.statistic = x2 > 1e-12 ? std::numeric_limits<double>::infinity() : 0.0;
    if (scale) *scale = 0;
    return r;
  }
  const double a2 = std::max(0.0, (tr2 / m) / (mean_delta * mean_delta) - 1.0);
  const double c = mean_delta * (1 + a2);
  r.df = m / (1 + a2);
  r.statistic = x2 / c;
  r.p_value = boost::math::cdf(boost::math::complement(boost::math::chi_squared(r.df), r.statistic));
  if (scale) *scale = c;
  return r;
}

TestResult chi_square_gof(std::span<const double> observed, std::span<const double> expected) {
  const auto e = expected_counts(observed, expected, "chi_square_gof");
  double x2 = 0;
  for (std::size_t i = 0; i < e.size(); ++i) x2 += (observed[i] - e[i]) * (observed[i] - e[i]) / e[i];
  const double df = static_cast<double>(e.size() - 1);
  return {"chi-square GOF", x2, df, chi2_upper_tail(x2, df)};
}

TestResult g_test(std::span<const double> observed, std::span<const double> expected) {
  const auto e = expected_counts(observed, expected, "g_test");
  double g = 0;
  for (std::size_t i = 0; i < e.size(); ++i)
    if (observed[i] > 0) g += observed[i] * std::log(observed[i] / e[i]);
  g *= 2;
  const double df = static_cast<double>(e.size() - 1);
  return {"G-test", g, df, chi2_upper_tail(g, df)};
}

TestResult chi_square_independence(const std::vector<std::vector<double>>& input) {
  // Drop empty rows and columns: they carry no information and would divide by zero.
  std::vector<std::vector<double>> table;
  for (const auto& row : input) {
    double sum = 0;
    for (double v : row) sum += v;
    if (sum > 0) table.push_back(row);
  }
  if (table.size() < 2) return {"chi-square independence", 0, 0, 1.0};
  const std::size_t cols = table[0].size();
  std::vector<std::size_t> keep;
  for (std::size_t c = 0; c < cols; ++c) {
    double sum = 0;
    for (const auto& row : table) sum += row.at(c);
    if (sum > 0) keep.push_back(c);
  }
  if (keep.size() < 2) return {"chi-square independence", 0, 0, 1.0};
  std::vector<double> row_sum(table.size(), 0), col_sum(keep.size(), 0);
  double total = 0;
  for (std::size_t r = 0; r < table.size(); ++r)
    for (std::size_t c = 0; c < keep.size(); ++c) {
      row_sum[r] += table[r][keep[c]];
      col_sum[c] += table[r][keep[c]];
      total += table[r][keep[c]];
    }
  double x2 = 0;
  for (std::size_t r = 0; r < table.size(); ++r)
    for (std::size_t c = 0; c < keep.size(); ++c) {
      const double e = row_sum[r] * col_sum[c] / total;
      x2 += (table[r][keep[c]] - e) * (table[r][keep[c]] - e) / e;
    }
  const double df = static_cast<double>((table.size() - 1) * (keep.size() - 1));
  return {"chi-square independence", x2, df, chi2_upper_tail(x2, df)};
}

double chi_square_power(double df, double lambda, double alpha) {
  const double critical = boost::math::quantile(boost::math::complement(boost::math::chi_squared(df), alpha));
  if (lambda <= 0) return alpha;
  return boost::math::cdf(boost::math::complement(boost::math::non_central_chi_squared(df, lambda), critical));
}

double kendall_tau_b(std::span<const double> x, std::span<const double> y) {
  check_same_size(x.size(), y.size(), "kendall_tau_b");
  const std::size_t n = x.size();
  // n_c - n_d over all pairs, and the pairs tied in x (n_1) or in y (n_2).
  // Branch-free, so the inner loop vectorises: a pair's sign product is 0
  // when either difference is 0, and a NaN difference counts as negative.
  auto sign = [](double d) { return static_cast<std::int64_t>(d > 0) - static_cast<std::int64_t>(!(d >= 0)); };
  std::int64_t concordant_minus_discordant = 0, tied_x = 0, tied_y = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double xi = x[i], yi = y[i];
    for (std::size_t j = i + 1; j < n; ++j) {
      const double dx = xi - x[j], dy = yi - y[j];
      tied_x += dx == 0;
      tied_y += dy == 0;
      concordant_minus_discordant += sign(dx) * sign(dy);
    }
  }
  return kendall_tau_b_from_counts(n, concordant_minus_discordant, tied_x, tied_y);
}

double kendall_tau_b_from_counts(std::size_t n, std::int64_t concordant_minus_discordant, std::int64_t tied_x, std::int64_t tied_y) {
  const double n0 = static_cast<double>(n) * static_cast<double>(n - 1) / 2;
  const double denominator = std::sqrt((n0 - static_cast<double>(tied_x)) * (n0 - static_cast<double>(tied_y)));
  if (n < 2 || denominator == 0) return kNaN;
  return static_cast<double>(concordant_minus_discordant) / denominator;
}

std::vector<double> average_ranks(std::span<const double> values) {
  std::vector<std::size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
    for (std::size_t t = i; t <= j; ++t) ranks[order[t]] = rank;
    i = j + 1;
  }
  return ranks;
}

double spearman_rho(std::span<const double> x, std::span<const double> y) {
  check_same_size(x.size(), y.size(), "spearman_rho");
  if (x.size() < 2) return kNaN;
  const auto rx = average_ranks(x), ry = average_ranks(y);
  const double n = static_cast<double>(x.size());
  const double mean = (n + 1) / 2;  // mean of ranks 1..n, with or without ties
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) * (rx[i] - mean);
    syy += (ry[i] - mean) * (ry[i] - mean);
  }
  if (sxx == 0 || syy == 0) return kNaN;
  return sxy / std::sqrt(sxx * syy);
}

double rbo_ext(std::span<const int> s_in, std::span<const int> l_in, double p) {
  RECBIAS_CHECK(p > 0 && p < 1, fmt::format("rbo_ext: persistence p = {} must be in (0, 1)", p));
  // S is the shorter list, L the longer (eq. 32 is stated that way).
  std::span<const int> s = s_in.size() <= l_in.size() ? s_in : l_in;
  std::span<const int> l = s_in.size() <= l_in.size() ? l_in : s_in;
  for (auto list : {s, l}) {
    std::unordered_set<int> seen;
    for (int id : list)
      if (!seen.insert(id).second) throw BadInput(fmt::format("rbo_ext: id {} appears twice in one ranking", id));
  }
  if (l.empty()) return 1.0;
  if (s.empty()) return 0.0;
  const std::size_t s_len = s.size(), l_len = l.size();
  std::unordered_set<int> seen_s, seen_l;
  double overlap = 0;          // X_d: |S_{:d} ∩ L_{:d}| (S stops growing after s_len)
  double sum = 0;              // sum_{d=1}^{l} X_d/d p^d
  double tail = 0;             // sum_{d=s+1}^{l} X_s (d - s)/(s d) p^d
  double x_s = 0;
  double p_d = 1;
  for (std::size_t d = 1; d <= l_len; ++d) {
    p_d *= p;
    const int from_l = l[d - 1];
    if (d <= s_len) {
      const int from_s = s[d - 1];
      if (from_s == from_l) {
        overlap += 1;
      } else {
        if (seen_l.count(from_s)) overlap += 1;
        if (seen_s.count(from_l)) overlap += 1;
      }
      seen_s.insert(from_s);
    } else if (seen_s.count(from_l)) {
      overlap += 1;
    }
    seen_l.insert(from_l);
    if (d == s_len) x_s = overlap;
    sum += overlap / static_cast<double>(d) * p_d;
    if (d > s_len) {
      const double dd = static_cast<double>(d), ss = static_cast<double>(s_len);
      tail += x_s * (dd - ss) / (ss * dd) * p_d;
    }
  }
  const double x_l = overlap;
  const double ll = static_cast<double>(l_len), ss = static_cast<double>(s_len);
  return (1 - p) / p * (sum + tail) + ((x_l - x_s) / ll + x_s / ss) * p_d;
}

TestResult paired_permutation_test(std::span<const double> x, std::span<const double> y, std::uint64_t seed,
                                   int resamples, int exact_max_n) {
  check_same_size(x.size(), y.size(), "paired_permutation_test");
  RECBIAS_CHECK(exact_max_n <= 30, "paired_permutation_test: exact_max_n above 30 would enumerate > 1e9 patterns");
  const std::size_t n = x.size();
  if (n == 0) return {"paired permutation", 0, 0, 1.0};
  std::vector<double> d(n);
  for (std::size_t i = 0; i < n; ++i) d[i] = x[i] - y[i];
  const double nn = static_cast<double>(n);
  double observed = 0;
  for (double v : d) observed += v;
  observed /= nn;
  // SciPy's tolerance for "equal to the observed statistic" (100 ulp, relative).
  const double gamma = std::abs(observed) * 100 * std::numeric_limits<double>::epsilon();
  double less = 0, greater = 0, total = 0, adjustment = 0;
  auto count = [&](double statistic) {
    if (statistic <= observed + gamma) less += 1;
    if (statistic >= observed - gamma) greater += 1;
    total += 1;
  };
  if (static_cast<int>(n) <= exact_max_n) {
    const std::uint64_t patterns = std::uint64_t{1} << n;
    for (std::uint64_t mask = 0; mask < patterns; ++mask) {
      double sum = 0;
      for (std::size_t i = 0; i < n; ++i) sum += ((mask >> i) & 1) ? -d[i] : d[i];
      count(sum / nn);
    }
  } else {
    Rng rng(seed);
    for (int r = 0; r < resamples; ++r) {
      double sum = 0;
      for (std::size_t i = 0; i < n; ++i) sum += (rng.next_u64() >> 63) ? -d[i] : d[i];
      count(sum / nn);
    }
    adjustment = 1;  // the observed pattern counts as one of the resamples
  }
  const double p_less = (less + adjustment) / (total + adjustment);
  const double p_greater = (greater + adjustment) / (total + adjustment);
  return {"paired permutation", observed, 0, std::min(1.0, 2 * std::min(p_less, p_greater))};
}

namespace {

// The signed-rank sums of x - y (zeros dropped), the tie term and, for the
// exact distribution, the number of subsets of {1..n} by rank sum.
struct SignedRanks {
  std::size_t n = 0;
  double r_plus = 0, r_minus = 0, tie_term = 0;
  bool has_ties = false;
  bool exact() const { return n <= 50 && !has_ties; }
  std::vector<double> ways() const {  // ways[s] = #subsets with rank sum s; counts <= 2^50, exact in a double
    const std::size_t max_sum = n * (n + 1) / 2;
    std::vector<double> w(max_sum + 1, 0.0);
    w[0] = 1;
    for (std::size_t rank = 1; rank <= n; ++rank)
      for (std::size_t s = max_sum; s >= rank; --s) w[s] += w[s - rank];
    return w;
  }
  double mean() const { return static_cast<double>(n) * (static_cast<double>(n) + 1) / 4; }
  double sd() const {
    const double nn = static_cast<double>(n);
    return std::sqrt(nn * (nn + 1) * (2 * nn + 1) / 24 - tie_term / 48);
  }
};

SignedRanks signed_ranks(std::span<const double> x, std::span<const double> y) {
  check_same_size(x.size(), y.size(), "wilcoxon_signed_rank");
  std::vector<double> d, abs_d;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double diff = x[i] - y[i];
    if (diff != 0) {
      d.push_back(diff);
      abs_d.push_back(std::abs(diff));
    }
  }
  SignedRanks out;
  out.n = d.size();
  if (out.n == 0) return out;
  const auto ranks = average_ranks(abs_d);
  for (std::size_t i = 0; i < out.n; ++i) (d[i] > 0 ? out.r_plus : out.r_minus) += ranks[i];
  // Tie groups of |d| (sizes), for the exact/approximate choice and the variance.
  std::sort(abs_d.begin(), abs_d.end());
  for (std::size_t i = 0; i < out.n;) {
    std::size_t j = i;
    while (j + 1 < out.n && abs_d[j + 1] == abs_d[i]) ++j;
    const double size = static_cast<double>(j - i + 1);
    if (size > 1) out.has_ties = true;
    out.tie_term += size * size * size - size;
    i = j + 1;
  }
  return out;
}

}  // namespace

TestResult wilcoxon_signed_rank(std::span<const double> x, std::span<const double> y) {
  const auto sr = signed_ranks(x, y);
  if (sr.n == 0) return {"Wilcoxon signed-rank", 0, 0, 1.0};
  const double t = std::min(sr.r_plus, sr.r_minus);
  if (sr.exact()) {
    const auto ways = sr.ways();
    const double all = std::ldexp(1.0, static_cast<int>(sr.n));
    const auto t_int = static_cast<std::size_t>(std::llround(t));
    double lower = 0;
    for (std::size_t s = 0; s <= t_int; ++s) lower += ways[s];
    return {"Wilcoxon signed-rank (exact)", t, 0, std::min(1.0, 2 * lower / all)};
  }
  double diff = t - sr.mean();
  if (diff != 0) diff -= 0.5 * (diff > 0 ? 1 : -1);
  const double sd = sr.sd();
  const double z = sd > 0 ? diff / sd : 0;
  return {"Wilcoxon signed-rank (normal approx.)", t, 0, std::min(1.0, 2 * normal_sf(std::abs(z)))};
}

TestResult wilcoxon_signed_rank_greater(std::span<const double> x, std::span<const double> y) {
  const auto sr = signed_ranks(x, y);
  if (sr.n == 0) return {"Wilcoxon signed-rank, one-sided", 0, 0, 1.0};
  if (sr.exact()) {
    const auto ways = sr.ways();
    const double all = std::ldexp(1.0, static_cast<int>(sr.n));
    const auto r = static_cast<std::size_t>(std::llround(sr.r_plus));
    double upper = 0;
    for (std::size_t s = r; s < ways.size(); ++s) upper += ways[s];
    return {"Wilcoxon signed-rank, one-sided (exact)", sr.r_plus, 0, std::min(1.0, upper / all)};
  }
  double diff = sr.r_plus - sr.mean();
  if (diff != 0) diff -= 0.5 * (diff > 0 ? 1 : -1);
  const double sd = sr.sd();
  const double z = sd > 0 ? diff / sd : 0;
  return {"Wilcoxon signed-rank, one-sided (normal approx.)", sr.r_plus, 0, std::min(1.0, normal_sf(z))};
}

std::vector<double> holm_adjust(std::span<const double> p) {
  const std::size_t m = p.size();
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return p[a] < p[b]; });
  std::vector<double> adjusted(m);
  double running = 0;
  for (std::size_t i = 0; i < m; ++i) {
    running = std::max(running, std::min(1.0, static_cast<double>(m - i) * p[order[i]]));
    adjusted[order[i]] = running;
  }
  return adjusted;
}

std::vector<double> benjamini_hochberg_adjust(std::span<const double> p) {
  const std::size_t m = p.size();
  std::vector<std::size_t> order(m);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return p[a] < p[b]; });
  std::vector<double> adjusted(m);
  double running = 1.0;
  for (std::size_t i = m; i-- > 0;) {
    running = std::min(running, static_cast<double>(m) / static_cast<double>(i + 1) * p[order[i]]);
    adjusted[order[i]] = std::min(1.0, running);
  }
  return adjusted;
}

double percentile(std::vector<double> values, double q) {
  RECBIAS_CHECK(q >= 0 && q <= 1, fmt::format("percentile q = {} outside [0, 1]", q));
  if (values.empty()) return kNaN;
  std::sort(values.begin(), values.end());
  return percentile_sorted(values, q);
}

double percentile_sorted(std::span<const double> sorted, double q) {
  RECBIAS_CHECK(!sorted.empty() && q >= 0 && q <= 1, fmt::format("percentile_sorted: q = {} of {} values", q, sorted.size()));
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + (sorted[above] - sorted[below]) * fraction;
}

Interval recentred_interval(double t, const std::vector<double>& replicates, double confidence, double lo, double hi) {
  if (replicates.size() < 2 || !std::isfinite(t)) return {kNaN, kNaN};
  const double tail = (1 - confidence) / 2;
  const double m = percentile(replicates, 0.5);
  return {std::max(lo, t - (m - percentile(replicates, tail))), std::min(hi, t + (percentile(replicates, 1 - tail) - m))};
}

}  // namespace recbias
