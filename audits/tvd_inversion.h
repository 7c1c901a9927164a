// The position audit's TVD estimate and interval by inverting tests of
// "TVD = t", each calibrated by simulation at the selection rates nearest to
// the observed ones that have exactly that TVD.
//
// Why: TVD = 1/2 sum_j |s_j - 1/K| is not smooth where some s_j sit near
// 1/K, and there no estimator is both unbiased and precise (Cai & Low 2011).
// Moment matching each |s_j - 1/K| (the previous estimator) is biased by
// +0.24 SD per position at |mu| = 0.3 SD, so with 10% of users mildly
// position-driven (population TVD 0.02 spread over 19 positions 0.3 SD below
// uniform) its interval covered 89%, every miss above the truth. Test
// inversion does not need an unbiased estimator: for each candidate t it asks
// how the statistic (the plug-in TVD) is distributed when the truth is the
// nearest point with TVD t, and keeps the t the observed value is typical of.
//
// The procedure, with d = s - 1/K and V the cluster-robust covariance of s:
//   - s~_t: the e with sum 0 and 1/2 sum |e| = t minimising
//     sum (e_j - d_j)^2 / V_jj (a weighted projection onto the L1 sphere);
//   - the statistic's distribution at t: plug-in TVD of s~_t + Z over `draws`
//     common draws Z ~ N(0, V) (Cholesky of V, rank K - 1);
//   - the miss probability alpha = 1 - confidence is split between the
//     tails as Feldman & Cousins's unified approach does at a boundary: at
//     t = 0 it is all in the upper tail (the interval is one-sided there, so
//     0 is excluded exactly when a level-alpha test of TVD = 0 rejects), and
//     it moves to alpha / 2 each as the bias becomes surely detectable:
//     alpha_upper(t) = alpha / 2 + (alpha / 2) (1 - power(t)) / (1 - alpha),
//     clamped to [alpha / 2, alpha], where power(t) is the probability that
//     the position test rejects at s~_t (Pearson's statistic over the same
//     draws against its simulated critical value at `test_level`);
//   - lower bound: the smallest t whose upper-tail quantile reaches the
//     observed plug-in (0 when the position test did not reject); upper
//     bound: the largest t whose lower-tail quantile stays below it;
//     estimate: the t whose median is the observed plug-in (median-unbiased
//     under the nearest-shape calibration).
// Validated in tests/audits/statistics_validation_test.cc (coverage in
// homogeneous, heterogeneous and null regimes) and tested on small fixtures
// in tests/audits/tvd_inversion_test.cc.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace recbias {

// The position audit's TVD interval: kInversion (default) is invert_tvd below;
// kMoment is the moment-matched estimate +- z bootstrap SD (the default before
// 2026-11-30: it covered 89% where a minority's bias is spread thinly).
enum class TvdInterval { kMoment, kInversion };
// Its names ("moment", "inversion"), for the CLI, the report config and its reader.
const std::map<std::string, TvdInterval>& tvd_interval_names();
std::string tvd_interval_name(TvdInterval method);

struct TvdInversion {
  double estimate = 0;
  double lo = 0;
  double hi = 0;
};

struct TvdInversionOptions {
  double confidence = 0.95;
  double test_level = 0.05;  // the level of the position test (power(t) above)
  bool detected = true;      // the position test rejected "no bias"; false forces lo = 0
  int draws = 400;
  std::uint64_t seed = 0x7d5e11u;
};

// `rates` sum to 1; `covariance` is K x K row-major. K >= 2.
TvdInversion invert_tvd(std::span<const double> rates, std::span<const double> covariance, const TvdInversionOptions& options);

// The inversion's estimate for each of `plugins` (other observed plug-in
// TVDs: the bootstrap replicates'), with the calibration held where it is for
// `rates` (the same nearest shapes and draws, as the moment method holds V_jj
// fixed): the t whose simulated median is the plug-in, read linearly off a
// grid of 65 t over the search range. For paired comparisons of two runs;
// the point value is invert_tvd's estimate, which does not depend on
// `options.detected` or `options.confidence`, and is written to `point` when
// given (from the same calibration, without the bounds). NaN plug-ins stay NaN.
std::vector<double> invert_tvd_estimates(std::span<const double> rates, std::span<const double> covariance,
                                         std::span<const double> plugins, const TvdInversionOptions& options,
                                         double* point = nullptr);

// The e nearest to `d` (weights 1 / w_j; w_j = 0 keeps e_j = d_j) with sum e = sum d
// and 1/2 sum |e| = t, as far as the fixed coordinates allow. Exposed for tests.
std::vector<double> nearest_with_tvd(std::span<const double> d, std::span<const double> w, double t);

}  // namespace recbias
