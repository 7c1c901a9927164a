#include "audits/tvd_inversion.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/rng.h"
#include "core/stats.h"

namespace recbias {
namespace {

double sum_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

double half_l1(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::abs(x);
  return s / 2;
}

// e_j(nu, lambda): x_j = d_j - nu w_j, soft-thresholded at lambda w_j
// (lambda >= 0: towards 0) or pushed away from 0 by |lambda| w_j (lambda < 0).
void shifted(std::span<const double> d, std::span<const double> w, double nu, double lambda, std::vector<double>& e) {
  for (std::size_t j = 0; j < d.size(); ++j) {
    const double x = d[j] - nu * w[j];
    if (lambda >= 0)
      e[j] = std::copysign(std::max(std::abs(x) - lambda * w[j], 0.0), x);
    else
      e[j] = x + (x >= 0 ? -lambda : lambda) * w[j];
  }
}

// The x in [lo, hi] where a decreasing function crosses 0, given f(lo) > 0 >= f(hi):
// regula falsi with the Illinois modification, and a bisection step whenever
// the bracket has not halved in three steps; stops when hi - lo <= tolerance.
template <typename F>
double crossing(F f, double lo, double hi, double f_lo, double f_hi, double tolerance) {
  double width = hi - lo;
  int side = 0, since_halved = 0;
  for (int i = 0; i < 200 && hi - lo > tolerance; ++i) {
    double x = since_halved >= 3 || !(f_lo > f_hi) ? (lo + hi) / 2 : lo + (hi - lo) * f_lo / (f_lo - f_hi);
    if (!(x > lo && x < hi)) x = (lo + hi) / 2;
    const double fx = f(x);
    if (fx > 0) {
      lo = x, f_lo = fx;
      if (side == -1) f_hi /= 2;
      side = -1;
    } else {
      hi = x, f_hi = fx;
      if (side == 1) f_lo /= 2;
      side = 1;
    }
    if (hi - lo <= width / 2) {
      width = hi - lo;
      since_halved = 0;
    } else {
      ++since_halved;
    }
  }
  return (lo + hi) / 2;
}

// The root of a decreasing function over a bracket grown from [centre - width,
// centre + width] by doubling the width.
template <typename F>
double decreasing_root(F f, double centre, double width, double tolerance) {
  double lo = centre - width, hi = centre + width, f_lo = f(lo), f_hi = f(hi);
  for (int i = 0; i < 1100 && f_hi > 0; ++i) {
    lo = hi, f_lo = f_hi;
    f_hi = f(hi = centre + (width *= 2));
  }
  for (int i = 0; i < 1100 && f_lo < 0; ++i) {
    hi = lo, f_hi = f_lo;
    f_lo = f(lo = centre - (width *= 2));
  }
  if (f_lo <= 0) return lo;  // f(lo) = 0 exactly (or no sign change)
  if (f_hi > 0) return hi;
  return crossing(f, lo, hi, f_lo, f_hi, tolerance);
}

// For a given lambda, the e(nu, lambda) whose sum is `target`, searched from
// the previous call's nu (it moves little between the outer steps); the
// residual the discontinuity (lambda < 0) leaves is spread over the free
// coordinates by weight.
void solve_nu(std::span<const double> d, std::span<const double> w, double lambda, double target, double scale, double tolerance,
              double& nu, std::vector<double>& e) {
  nu = decreasing_root(
      [&](double v) {
        shifted(d, w, v, lambda, e);
        return sum_of(e) - target;
      },
      nu, 1e-3 * (scale + std::abs(lambda)), tolerance);
  shifted(d, w, nu, lambda, e);
  double total_w = 0;
  for (double x : w) total_w += x;
  const double residual = sum_of(e) - target;
  if (total_w > 0)
    for (std::size_t j = 0; j < e.size(); ++j) e[j] -= residual * w[j] / total_w;
}

// Cholesky factor (row-major, lower) of a positive semi-definite matrix;
// pivots below a relative tolerance (the sum-to-one direction) give zero columns.
std::vector<double> cholesky_psd(std::span<const double> v, std::size_t k) {
  std::vector<double> l(k * k, 0.0);
  double top = 0;
  for (std::size_t j = 0; j < k; ++j) top = std::max(top, v[j * k + j]);
  const double tolerance = 1e-12 * top;
  for (std::size_t j = 0; j < k; ++j) {
    double pivot = v[j * k + j];
    for (std::size_t m = 0; m < j; ++m) pivot -= l[j * k + m] * l[j * k + m];
    if (!(pivot > tolerance)) continue;
    const double root = std::sqrt(pivot);
    l[j * k + j] = root;
    for (std::size_t i = j + 1; i < k; ++i) {
      double x = v[i * k + j];
      for (std::size_t m = 0; m < j; ++m) x -= l[i * k + m] * l[j * k + m];
      l[i * k + j] = x / root;
    }
  }
  return l;
}

// The p-quantile of sorted draws (core's percentile), -inf at p <= 0: a tail
// with no miss probability never excludes a t.
double quantile_sorted(const std::vector<double>& sorted, double p) {
  if (p <= 0) return -std::numeric_limits<double>::infinity();
  return percentile_sorted(sorted, std::min(p, 1.0));
}

}  // namespace

const std::map<std::string, TvdInterval>& tvd_interval_names() {
  static const std::map<std::string, TvdInterval> names = {{"moment", TvdInterval::kMoment}, {"inversion", TvdInterval::kInversion}};
  return names;
}

std::string tvd_interval_name(TvdInterval method) {
  for (const auto& [name, m] : tvd_interval_names())
    if (m == method) return name;
  return "moment";
}

std::vector<double> nearest_with_tvd(std::span<const double> d, std::span<const double> w, double t) {
  std::vector<double> e(d.size());
  double target = 0, scale = 0;
  for (std::size_t j = 0; j < d.size(); ++j) {
    target += d[j];
    if (w[j] > 0) scale = std::max(scale, std::abs(d[j]) / w[j]);
  }
  scale = std::max(scale, 1.0);
  // nu and lambda move e by w_j per unit: resolve them to 1e-11 in e.
  double top_w = 0;
  for (double x : w) top_w = std::max(top_w, x);
  const double tolerance = top_w > 0 ? 1e-11 / top_w : 1e-11;
  // 1/2 sum |e(lambda)| decreases in lambda; e(0) = d.
  double nu = 0;
  const double lambda = decreasing_root(
      [&](double l) {
        solve_nu(d, w, l, target, scale, tolerance, nu, e);
        return half_l1(e) - t;
      },
      0.0, scale, tolerance);
  solve_nu(d, w, lambda, target, scale, tolerance, nu, e);
  if (std::abs(half_l1(e) - t) <= 1e-9 + 1e-6 * t) return e;
  // The outward push could not reach t (ties at 0 give every coordinate the
  // same sign, e.g. rates exactly uniform): stretch the data's own deviations,
  // or, when there are none, take the least-favourable shape (the first half
  // of the positions up, the rest down, by equal amounts).
  const double h = half_l1(std::vector<double>(d.begin(), d.end()));
  if (h > 0) {
    for (std::size_t j = 0; j < e.size(); ++j) e[j] = d[j] * t / h;
    return e;
  }
  const std::size_t up = std::max<std::size_t>(1, e.size() / 2), down = e.size() - up;
  for (std::size_t j = 0; j < e.size(); ++j) e[j] = j < up ? t / static_cast<double>(up) : -t / static_cast<double>(down);
  return e;
}

namespace {

// What every inversion at the same data shares: the deviations d, the weights
// V_jj, the common draws Z ~ N(0, V), the test's critical value, and the
// statistic's distribution at each t (`at`).
class Calibration {
 public:
  Calibration(std::span<const double> rates, std::span<const double> covariance, const TvdInversionOptions& options)
      : k_(rates.size()), alpha_(1 - options.confidence), d_(k_), w_(k_) {
    for (std::size_t j = 0; j < k_; ++j) {
      d_[j] = rates[j] - 1.0 / static_cast<double>(k_);
      w_[j] = std::max(0.0, covariance[j * k_ + j]);
      any_variance_ = any_variance_ || w_[j] > 0;
    }
    observed_ = half_l1(d_);
    if (!any_variance_) return;
    // Common draws Z ~ N(0, V) for every t.
    const auto l = cholesky_psd(covariance, k_);
    m_ = static_cast<std::size_t>(std::max(options.draws, 20));
    z_.resize(m_ * k_);
    Rng rng(options.seed);
    std::vector<double> g(k_);
    for (std::size_t r = 0; r < m_; ++r) {
      for (auto& x : g) x = rng.normal();
      for (std::size_t i = 0; i < k_; ++i) {
        double x = 0;
        for (std::size_t c = 0; c <= i; ++c) x += l[i * k_ + c] * g[c];
        z_[r * k_ + i] = x;
      }
    }
    // Pearson's statistic sum_j (Z_j)^2 under no bias: the test's critical value.
    std::vector<double> null_pearson(m_);
    for (std::size_t r = 0; r < m_; ++r) {
      double q = 0;
      for (std::size_t j = 0; j < k_; ++j) q += z_[r * k_ + j] * z_[r * k_ + j];
      null_pearson[r] = q;
    }
    std::sort(null_pearson.begin(), null_pearson.end());
    critical_ = quantile_sorted(null_pearson, 1 - options.test_level);
    // The search range: far beyond the observed value plus its noise, within the possible.
    double noise = 0;
    for (double x : w_) noise += std::sqrt(x);
    t_max_ = std::min(1 - 1.0 / static_cast<double>(k_), observed_ + 5 * noise);
  }

  bool any_variance() const { return any_variance_; }
  double observed() const { return observed_; }
  double t_max() const { return t_max_; }

  struct At {
    std::vector<double> sorted;  // the plug-in TVD over the draws at s~_t
    double alpha_upper = 0;      // the miss probability in the upper tail at t
  };
  At at(double t) const {
    At out;
    const std::size_t rejected = plugins_at(t, out.sorted);
    std::sort(out.sorted.begin(), out.sorted.end());
    const double power = static_cast<double>(rejected) / static_cast<double>(m_);
    out.alpha_upper = std::clamp(alpha_ / 2 + (alpha_ / 2) * (1 - power) / (1 - alpha_), alpha_ / 2, alpha_);
    return out;
  }
  double alpha() const { return alpha_; }

  // quantile_sorted(at(t).sorted, 0.5), by selection instead of a sort.
  double median_at(double t) const {
    std::vector<double> tvd;
    plugins_at(t, tvd);
    // percentile_sorted's interpolation between the order statistics
    // floor(position) and the one after it.
    const double position = 0.5 * static_cast<double>(m_ - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const auto below_at = tvd.begin() + static_cast<std::ptrdiff_t>(below);
    std::nth_element(tvd.begin(), below_at, tvd.end());
    const double low = *below_at;
    const double high = below + 1 < m_ ? *std::min_element(below_at + 1, tvd.end()) : low;
    return low + (high - low) * (position - static_cast<double>(below));
  }

  // The plug-in TVD of s~_t + Z over the draws, unsorted, into `tvd`;
  // returns how many draws the position test rejects (their power at t).
  std::size_t plugins_at(double t, std::vector<double>& tvd) const {
    const auto e = t > 0 ? nearest_with_tvd(d_, w_, t) : std::vector<double>(k_, 0.0);
    tvd.resize(m_);
    std::size_t rejected = 0;
    for (std::size_t r = 0; r < m_; ++r) {
      double sum = 0, pearson = 0;
      for (std::size_t j = 0; j < k_; ++j) {
        const double x = e[j] + z_[r * k_ + j];
        sum += std::abs(x);
        pearson += x * x;
      }
      tvd[r] = sum / 2;
      rejected += pearson > critical_;
    }
    return rejected;
  }

  // The t in [0, t_max] where an increasing quantile q(t) reaches `value`
  // (0 when it is already there at 0, t_max when it never is).
  template <typename Q>
  double reach(double value, Q q) const {
    const double f0 = value - q(0.0);
    if (!(f0 > 0)) return 0.0;
    const double f1 = value - q(t_max_);
    if (f1 > 0) return t_max_;
    return crossing([&](double t) { return value - q(t); }, 0.0, t_max_, f0, f1, 1e-7);
  }

 private:
  std::size_t k_;
  double alpha_;
  std::vector<double> d_, w_;
  bool any_variance_ = false;
  double observed_ = 0;
  std::size_t m_ = 0;
  std::vector<double> z_;
  double critical_ = 0;
  double t_max_ = 0;
};

// The t whose simulated median plug-in is the observed one.
double median_estimate(const Calibration& c) {
  return c.reach(c.observed(), [&](double t) { return c.median_at(t); });
}

}  // namespace

TvdInversion invert_tvd(std::span<const double> rates, std::span<const double> covariance, const TvdInversionOptions& options) {
  const Calibration c(rates, covariance, options);
  const double observed = c.observed();
  if (!c.any_variance()) return {observed, options.detected ? observed : 0.0, observed};
  TvdInversion out;
  // The estimate depends on neither `detected` nor the interval's level, so
  // the paired comparisons' replicated value (invert_tvd_estimates) is the same.
  out.estimate = median_estimate(c);
  out.hi = c.reach(observed, [&](double t) {
    const auto a = c.at(t);
    return quantile_sorted(a.sorted, c.alpha() - a.alpha_upper);
  });
  if (options.detected) out.lo = c.reach(observed, [&](double t) {
      const auto a = c.at(t);
      return quantile_sorted(a.sorted, 1 - a.alpha_upper);
    });
  // The median lies between the tail quantiles, so lo <= estimate <= hi up to
  // the root finder's tolerance (1e-7): the bounds give way, never the estimate.
  out.lo = std::min(out.lo, out.estimate);
  out.hi = std::max(out.hi, out.estimate);
  return out;
}

std::vector<double> invert_tvd_estimates(std::span<const double> rates, std::span<const double> covariance,
                                         std::span<const double> plugins, const TvdInversionOptions& options, double* point) {
  const Calibration c(rates, covariance, options);
  std::vector<double> out;
  out.reserve(plugins.size());
  if (!c.any_variance()) {
    if (point) *point = c.observed();
    out.assign(plugins.begin(), plugins.end());
    return out;
  }
  if (point) *point = median_estimate(c);
  // The simulated median on a grid of t, made non-decreasing; read off linearly.
  constexpr int kGrid = 64;
  std::vector<double> t(kGrid + 1), median(kGrid + 1);
  for (int i = 0; i <= kGrid; ++i) {
    t[static_cast<std::size_t>(i)] = c.t_max() * i / kGrid;
    median[static_cast<std::size_t>(i)] = c.median_at(t[static_cast<std::size_t>(i)]);
    if (i > 0) median[static_cast<std::size_t>(i)] = std::max(median[static_cast<std::size_t>(i)], median[static_cast<std::size_t>(i - 1)]);
  }
  for (double p : plugins) {
    if (!std::isfinite(p)) {
      out.push_back(p);
      continue;
    }
    if (p <= median.front()) {
      out.push_back(0.0);
      continue;
    }
    if (p >= median.back()) {
      out.push_back(c.t_max());
      continue;
    }
    const auto hi = static_cast<std::size_t>(std::upper_bound(median.begin(), median.end(), p) - median.begin());
    const std::size_t lo = hi - 1;
    const double span = median[hi] - median[lo];
    out.push_back(span > 0 ? t[lo] + (t[hi] - t[lo]) * (p - median[lo]) / span : t[lo]);
  }
  return out;
}

}  // namespace recbias
