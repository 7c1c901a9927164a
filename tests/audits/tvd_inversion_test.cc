// The TVD test inversion (audits/tvd_inversion.h): the weighted projection
// onto the L1 sphere on hand-solved three-position cases (KKT conditions
// solved on paper: e_j = d_j - w_j (nu + lambda sign e_j), coordinates at 0
// where |d_j - nu w_j| <= lambda w_j), and the inversion's limits: exact data,
// a huge sample, no rejection, determinism. Its coverage is validated by
// simulation in statistics_validation_test.cc.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "audits/tvd_inversion.h"
#include "core/rng.h"

using namespace recbias;
using Catch::Detail::Approx;

namespace {

void check_vector(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t j = 0; j < got.size(); ++j) {
    INFO("coordinate " << j);
    CHECK(got[j] == Approx(want[j]).margin(1e-9));
  }
}

// The multinomial covariance of rates from n independent picks.
std::vector<double> multinomial_covariance(const std::vector<double>& s, double n) {
  const std::size_t k = s.size();
  std::vector<double> v(k * k);
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j) v[i * k + j] = ((i == j ? s[i] : 0.0) - s[i] * s[j]) / n;
  return v;
}

}  // namespace

TEST_CASE("nearest_with_tvd shrinks onto the L1 sphere, moving each coordinate by its weight", "[tvd_inversion]") {
  const std::vector<double> d = {0.3, -0.1, -0.2};
  // Equal weights, t = 0.2: shifts (-0.1, +0.05, +0.05) (nu = 0.025, lambda = 0.075).
  check_vector(nearest_with_tvd(d, std::vector<double>{1, 1, 1}, 0.2), {0.2, -0.05, -0.15});
  // Weights (1, 1, 4): the noisy third coordinate moves 4 times as far as the second
  // (nu = 0.04, lambda = 0.06).
  check_vector(nearest_with_tvd(d, std::vector<double>{1, 1, 4}, 0.2), {0.2, -0.08, -0.12});
  // A zero weight keeps its coordinate: (0.2, -0.1, -0.1).
  check_vector(nearest_with_tvd(d, std::vector<double>{1, 0, 1}, 0.2), {0.2, -0.1, -0.1});
}

TEST_CASE("nearest_with_tvd sets small coordinates to exactly 0 and expands beyond the data", "[tvd_inversion]") {
  // t = 0.15: the middle coordinate is thresholded (|-0.05 - 0.025| <= 0.125).
  check_vector(nearest_with_tvd(std::vector<double>{0.3, -0.05, -0.25}, std::vector<double>{1, 1, 1}, 0.15), {0.15, 0.0, -0.15});
  // t = 0.4 > 0.3: pushed outward (nu = -0.025, lambda = -0.075).
  check_vector(nearest_with_tvd(std::vector<double>{0.3, -0.1, -0.2}, std::vector<double>{1, 1, 1}, 0.4), {0.4, -0.15, -0.25});
  // t equal to the data's own TVD returns the data.
  check_vector(nearest_with_tvd(std::vector<double>{0.3, -0.1, -0.2}, std::vector<double>{1, 2, 3}, 0.3), {0.3, -0.1, -0.2});
}

TEST_CASE("invert_tvd: exact data give the plug-in and no rejection gives a one-sided bound", "[tvd_inversion]") {
  const std::vector<double> s = {0.4, 0.35, 0.25};
  const std::vector<double> zero(9, 0.0);
  TvdInversionOptions options;
  auto r = invert_tvd(s, zero, options);
  const double plugin = 0.4 - 1.0 / 3 + 0.35 - 1.0 / 3;  // 1/2 sum |s - 1/3| = the positive part
  CHECK(r.estimate == Approx(plugin));
  CHECK(r.lo == Approx(plugin));
  CHECK(r.hi == Approx(plugin));
  options.detected = false;
  r = invert_tvd(s, zero, options);
  CHECK(r.lo == 0.0);
  CHECK(r.hi == Approx(plugin));
}

TEST_CASE("invert_tvd: with a huge sample the interval closes on the plug-in", "[tvd_inversion]") {
  const std::vector<double> s = {0.1, 0.06, 0.05, 0.05, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04,
                                 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.12};
  double plugin = 0;
  for (double x : s) plugin += std::abs(x - 0.05);
  plugin /= 2;
  const auto r = invert_tvd(s, multinomial_covariance(s, 1e9), {});
  CHECK(r.lo <= r.estimate);
  CHECK(r.estimate <= r.hi);
  CHECK(r.estimate == Approx(plugin).margin(1e-4));
  CHECK(r.hi - r.lo < 1e-3);
  CHECK(r.lo > plugin - 1e-3);
}

TEST_CASE("invert_tvd: uniform rates give 0 with a positive upper bound and larger biases larger estimates", "[tvd_inversion]") {
  const std::vector<double> uniform(20, 0.05);
  TvdInversionOptions options;
  options.detected = false;
  const auto r = invert_tvd(uniform, multinomial_covariance(uniform, 2000), options);
  CHECK(r.estimate == 0.0);
  CHECK(r.lo == 0.0);
  CHECK(r.hi > 0.0);
  // A TVD-0 truth cannot be excluded, and the bound stays of the order of the
  // noise: E0 of the plug-in is ~0.038 at N = 2000 (20 positions x 0.0049 x 0.8 / 2).
  CHECK(r.hi < 0.04);
  const auto again = invert_tvd(uniform, multinomial_covariance(uniform, 2000), options);
  CHECK(again.hi == r.hi);

  // Realistic rates: 2,000 uniform picks (fixed seed), then a primacy bias of
  // TVD 0.02 or 0.04 added at position 0 and taken evenly from the other 19.
  Rng rng(5);
  std::vector<double> noise(20, 0.0);
  for (int i = 0; i < 2000; ++i) noise[rng.uniform_int(20)] += 1.0 / 2000;
  auto with_bias = [&](double t) {
    auto s = noise;
    s[0] += t;
    for (std::size_t j = 1; j < 20; ++j) s[j] -= t / 19;
    return s;
  };
  const auto none = invert_tvd(noise, multinomial_covariance(noise, 2000), options);
  options.detected = true;
  const auto a = invert_tvd(with_bias(0.02), multinomial_covariance(with_bias(0.02), 2000), options);
  const auto b = invert_tvd(with_bias(0.04), multinomial_covariance(with_bias(0.04), 2000), options);
  CHECK(none.estimate < a.estimate);
  CHECK(a.estimate < b.estimate);
  CHECK(none.hi < a.hi);
  CHECK(a.hi < b.hi);
  // 0.04 at position 0 is 4.6 binomial SDs: the bound is away from 0, and the
  // interval holds the truth where the plug-in (the truth plus the noise of 19
  // positions) is well above it.
  double plugin = 0;
  for (double x : with_bias(0.04)) plugin += std::abs(x - 0.05);
  plugin /= 2;
  INFO("plug-in " << plugin << ", estimate " << b.estimate << " [" << b.lo << ", " << b.hi << "]");
  CHECK(plugin > 0.05);
  CHECK(b.lo > 0.0);
  CHECK(b.lo <= 0.04);
  CHECK(0.04 <= b.hi);
  CHECK(b.estimate < plugin);
}

TEST_CASE("invert_tvd_estimates reads other plug-ins off the same calibration, monotonely", "[tvd_inversion]") {
  // 2,000 picks with a primacy bias of TVD 0.04 (as above, fixed seed).
  Rng rng(5);
  std::vector<double> s(20, 0.0);
  for (int i = 0; i < 2000; ++i) s[rng.uniform_int(20)] += 1.0 / 2000;
  s[0] += 0.04;
  for (std::size_t j = 1; j < 20; ++j) s[j] -= 0.04 / 19;
  const auto v = multinomial_covariance(s, 2000);
  double plugin = 0;
  for (double x : s) plugin += std::abs(x - 0.05);
  plugin /= 2;
  TvdInversionOptions options;
  const auto exact = invert_tvd(s, v, options);
  // The same plug-in gives invert_tvd's estimate up to the grid's linear
  // reading: the grid's step is (plug-in + 5 sum SE) / 64 ~ 0.0024 here, and
  // the median curve is nearly straight across one step, so 1e-3 is ample
  // (a wrong calibration, e.g. the plug-in itself, is off by ~0.02).
  const std::vector<double> plugins = {plugin, 0.0, plugin / 2, plugin + 0.01, plugin + 0.02, 5.0, std::nan("")};
  double point = -1;
  const auto e = invert_tvd_estimates(s, v, plugins, options, &point);
  REQUIRE(e.size() == plugins.size());
  CHECK(point == exact.estimate);  // the exact estimate, not read off the grid
  CHECK(e[0] == Approx(exact.estimate).margin(1e-3));
  CHECK(e[1] == 0.0);  // below the median at t = 0: nothing beyond noise
  CHECK(e[2] < e[0]);
  CHECK(e[0] < e[3]);
  CHECK(e[3] < e[4]);
  // A larger plug-in by 0.01 is a larger estimate by more than 0.01: part of
  // the nearest shape's TVD sits on positions within the noise, where the
  // plug-in's median moves less than one for one with t (d E|e + Z| / de =
  // 2 Phi(e / SD) - 1 < 1), but not by several times that.
  CHECK(e[3] - e[0] > 0.01);
  CHECK(e[3] - e[0] < 0.025);
  // Without noise the plug-in is the truth, and each estimate is its plug-in.
  const auto v_exact = multinomial_covariance(s, 1e9);
  const std::vector<double> below = {plugin - 0.01, plugin - 0.03, plugin / 2};
  const auto e_exact = invert_tvd_estimates(s, v_exact, below, options);
  for (std::size_t i = 0; i < below.size(); ++i) CHECK(e_exact[i] == Approx(below[i]).margin(1e-4));
  CHECK(e[5] < 1.0);  // beyond the search range: its end, never beyond the possible
  CHECK(std::isnan(e[6]));
  // Neither `detected` nor the level moves the estimate.
  options.detected = false;
  options.confidence = 0.8;
  options.test_level = 0.01;
  CHECK(invert_tvd(s, v, options).estimate == exact.estimate);
  const auto again = invert_tvd_estimates(s, v, plugins, options);
  for (std::size_t i = 0; i + 1 < e.size(); ++i) CHECK(again[i] == e[i]);
}
