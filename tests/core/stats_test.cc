// Reference values: SciPy 1.10.1 (Debian 12 python3-scipy), each call quoted
// next to its value. Exact statistics must agree to 1e-9 (relative where the
// value is tiny); the only approximations are Boost's and SciPy's special
// functions, which agree far below that.
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "core/errors.h"
#include "core/stats.h"

using namespace recbias;
using Catch::Matchers::Contains;

namespace {
constexpr double kTol = 1e-9;
bool near(double a, double b, double tol = kTol) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); }
bool near_rel(double a, double b, double rel = 1e-9) { return std::abs(a - b) <= rel * std::abs(b); }
}  // namespace

TEST_CASE("normal quantiles match scipy.stats.norm.ppf", "[stats]") {
  CHECK(near(normal_quantile(0.975), 1.959963984540054));   // norm.ppf(0.975)
  CHECK(near(normal_quantile(0.001), -3.090232306167813));  // norm.ppf(0.001)
}

TEST_CASE("Wilson intervals match scipy binomtest proportion_ci(method='wilson')", "[stats]") {
  // st.binomtest(7, 20).proportion_ci(confidence_level=0.95, method="wilson")
  auto a = wilson_interval(7, 20);
  CHECK(near(a.lo, 0.1811918241010821));
  CHECK(near(a.hi, 0.5671457233147637));
  // st.binomtest(0, 10).proportion_ci(method="wilson") -> (0.0, 0.27753279986288926)
  auto b = wilson_interval(0, 10);
  CHECK(near(b.lo, 0.0));
  CHECK(near(b.hi, 0.27753279986288926));
  // st.binomtest(10, 10).proportion_ci(method="wilson") -> (0.7224672001371109, 1.0)
  auto c = wilson_interval(10, 10);
  CHECK(near(c.lo, 0.7224672001371109));
  CHECK(near(c.hi, 1.0));
  // st.binomtest(37, 1000).proportion_ci(confidence_level=0.99, method="wilson")
  auto d = wilson_interval(37, 1000, 0.99);
  CHECK(near(d.lo, 0.02442600211406373));
  CHECK(near(d.hi, 0.05567741658649099));
  // No observations: the whole unit interval.
  auto e = wilson_interval(0, 0);
  CHECK(e.lo == 0.0);
  CHECK(e.hi == 1.0);
  CHECK_THROWS_AS(wilson_interval(5, 3), InternalError);
  // At 0 and at n the ends are exactly 0 and 1 (rounding left 3.5e-18, printed
  // as "0.000 [3.5e-18, 0.037]"), here and at an effective sample size.
  for (std::int64_t n : {1, 7, 100, 1000}) {
    CHECK(wilson_interval(0, n).lo == 0.0);
    CHECK(wilson_interval(n, n).hi == 1.0);
    CHECK(wilson_interval_effective(0.0, 0.0, static_cast<double>(n)).lo == 0.0);
    CHECK(wilson_interval_effective(1.0, 0.0, static_cast<double>(n)).hi == 1.0);
  }
  CHECK(wilson_interval_effective(0.0, 0.0, 100).hi == Approx(wilson_interval(0, 100).hi));
}

TEST_CASE("chi-square goodness of fit matches scipy.stats.chisquare", "[stats]") {
  {  // st.chisquare([30,20,25,25], [25,25,25,25]) -> (2.0, 0.5724067044708798)
    std::vector<double> o{30, 20, 25, 25}, e{1, 1, 1, 1};  // proportions are rescaled to counts
    auto r = chi_square_gof(o, e);
    CHECK(near(r.statistic, 2.0));
    CHECK(r.df == 3);
    CHECK(near(r.p_value, 0.5724067044708798));
  }
  {  // st.chisquare([120,80,60,40,200], [100]*5) -> (160.0, 1.4619296241547749e-33)
    std::vector<double> o{120, 80, 60, 40, 200}, e{0.2, 0.2, 0.2, 0.2, 0.2};
    auto r = chi_square_gof(o, e);
    CHECK(near(r.statistic, 160.0));
    CHECK(near_rel(r.p_value, 1.4619296241547749e-33, 1e-8));
  }
  {  // st.chisquare([10,20,30], [30,18,12]) -> (40.55555555555556, 1.5612519932662934e-09)
    std::vector<double> o{10, 20, 30}, e{0.5, 0.3, 0.2};
    auto r = chi_square_gof(o, e);
    CHECK(near(r.statistic, 40.55555555555556));
    CHECK(near_rel(r.p_value, 1.5612519932662934e-09, 1e-8));
  }
  std::vector<double> o{1, 2}, bad{1, 0};
  CHECK_THROWS_WITH(chi_square_gof(o, bad), Contains("must be > 0"));
}

TEST_CASE("G-test matches scipy.stats.power_divergence with log-likelihood", "[stats]") {
  {  // st.power_divergence([30,20,25,25], [25]*4, lambda_="log-likelihood")
    std::vector<double> o{30, 20, 25, 25}, e{1, 1, 1, 1};
    auto r = g_test(o, e);
    CHECK(near(r.statistic, 2.0135513550688877));
    CHECK(near(r.p_value, 0.5695988396237182));
  }
  {  // st.power_divergence([0,20,30,50], [25]*4, lambda_="log-likelihood"): a zero cell contributes 0
    std::vector<double> o{0, 20, 30, 50}, e{1, 1, 1, 1};
    auto r = g_test(o, e);
    CHECK(near(r.statistic, 71.32826941106342));
    CHECK(near_rel(r.p_value, 2.217172650542774e-15, 1e-8));
  }
}

TEST_CASE("Kendall tau-b and Spearman rho match scipy with and without ties", "[stats]") {
  std::vector<double> x{1, 2, 2, 3, 4, 5, 5, 5, 6}, y{2, 1, 3, 3, 5, 4, 6, 6, 7};
  CHECK(near(kendall_tau_b(x, y), 0.8185577344976237));  // st.kendalltau(x, y).statistic
  CHECK(near(spearman_rho(x, y), 0.9142388742738977));   // st.spearmanr(x, y).statistic
  std::vector<double> a{1, 2, 3, 4, 5}, b{3, 1, 2, 5, 4};
  CHECK(near(kendall_tau_b(a, b), 0.39999999999999997));  // st.kendalltau([1,2,3,4,5],[3,1,2,5,4])
  std::vector<double> c{10, 20, 30, 40, 50, 60}, d{6, 5, 4, 3, 2, 1};
  CHECK(near(spearman_rho(c, d), -1.0));  // st.spearmanr(...) -> -1.0
  std::vector<double> constant{1, 1, 1};
  std::vector<double> three{1, 2, 3};
  CHECK(std::isnan(kendall_tau_b(constant, three)));
  CHECK(std::isnan(spearman_rho(constant, three)));
}

TEST_CASE("average ranks give tied values the mean of their ranks", "[stats]") {
  std::vector<double> v{10, 20, 20, 5};
  CHECK(average_ranks(v) == std::vector<double>{2, 3.5, 3.5, 1});  // st.rankdata([10,20,20,5])
}

TEST_CASE("extrapolated RBO matches eq. 32 of Webber et al. evaluated exactly", "[stats]") {
  // Reference: a direct transcription of eq. 32 with set intersections at each
  // depth and Python fractions (tests' reference script, not this algorithm):
  //   X = lambda d: len(set(S[:d]) & set(L[:d]))
  //   (1-p)/p*(sum(X(d)/d*p**d for d in 1..l) + sum(X(s)*(d-s)/(s*d)*p**d for d in s+1..l))
  //     + ((X(l)-X(s))/l + X(s)/s)*p**l
  std::vector<int> a{1, 2, 3, 4, 5}, b{2, 1, 3, 5, 4};
  CHECK(near(rbo_ext(a, b, 0.9), 0.881775));
  std::vector<int> longer{1, 2, 3, 4, 5, 6, 7}, shorter{3, 9, 1, 8};
  CHECK(near(rbo_ext(longer, shorter, 0.9), 0.4185));
  CHECK(near(rbo_ext(shorter, longer, 0.9), 0.4185));  // symmetric
  std::vector<int> c{1, 2, 3}, d{4, 5, 6};
  CHECK(rbo_ext(c, d, 0.9) == 0.0);
  std::vector<int> up(20), down(20);
  for (int i = 0; i < 20; ++i) up[static_cast<std::size_t>(i)] = i, down[static_cast<std::size_t>(i)] = 19 - i;
  CHECK(near(rbo_ext(up, down, 0.8), 0.05986314788521131));
  CHECK(near(rbo_ext(up, up, 0.9), 1.0));
  std::vector<int> dup{1, 1};
  CHECK_THROWS_WITH(rbo_ext(dup, a), Contains("appears twice"));
}

TEST_CASE("exact paired permutation test matches scipy.stats.permutation_test", "[stats]") {
  // st.permutation_test((x, y), lambda a, b: np.mean(a - b), permutation_type='samples',
  //                     n_resamples=np.inf, alternative='two-sided') -> (0.43188888888888893, 0.02734375)
  std::vector<double> x{1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30};
  std::vector<double> y{0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29};
  auto r = paired_permutation_test(x, y);
  CHECK(near(r.statistic, 0.43188888888888893));
  CHECK(near(r.p_value, 0.02734375));
  // Same call on 12 differences against zeros -> (0.12666666666666668, 0.03955078125)
  std::vector<double> d{0.1, -0.2, 0.3, 0.05, 0.4, -0.1, 0.25, 0.15, 0.2, -0.05, 0.3, 0.12}, zeros(12, 0.0);
  auto r2 = paired_permutation_test(d, zeros);
  CHECK(near(r2.p_value, 0.03955078125));
}

TEST_CASE("Monte Carlo paired permutation test agrees with the exact one within its sampling error", "[stats]") {
  std::vector<double> d{0.1, -0.2, 0.3, 0.05, 0.4, -0.1, 0.25, 0.15, 0.2, -0.05, 0.3, 0.12}, zeros(12, 0.0);
  // Forced Monte Carlo (exact_max_n = 0) with 20,000 resamples: the standard
  // error of p near 0.04 is sqrt(0.04*0.96/20000) = 0.0014, so 0.006 is > 4 SE.
  auto r = paired_permutation_test(d, zeros, /*seed=*/3, /*resamples=*/20000, /*exact_max_n=*/0);
  CHECK(std::abs(r.p_value - 0.03955078125) < 0.006);
}

TEST_CASE("Wilcoxon signed-rank matches scipy.stats.wilcoxon, exact and approximate", "[stats]") {
  std::vector<double> x{1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30};
  std::vector<double> y{0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29};
  // st.wilcoxon(x, y, zero_method="wilcox", correction=True) -> (5.0, 0.0390625), exact
  auto r = wilcoxon_signed_rank(x, y);
  CHECK(r.statistic == 5.0);
  CHECK(near(r.p_value, 0.0390625));
  CHECK_THAT(r.test, Contains("exact"));

  // st.wilcoxon(d, zero_method="wilcox", correction=True, method="exact") -> (11.0, 0.02685546875)
  std::vector<double> d{1.5, -0.5, 2.0, 3.5, -1.0, 2.5, 4.0, 0.75, 3.0, -2.25, 5.0, 1.25};
  std::vector<double> zeros(d.size(), 0.0);
  auto r2 = wilcoxon_signed_rank(d, zeros);
  CHECK(r2.statistic == 11.0);
  CHECK(near(r2.p_value, 0.02685546875));

  // Ties and zeros -> normal approximation with tie and continuity correction:
  // st.wilcoxon(dt, zero_method="wilcox", correction=True, method="approx") -> (17.0, 0.008723267594056738)
  std::vector<double> dt{1, 2, 2, -1, 3, 3, 3, 0, 4, -2, 5, 5, 1, 2, -3, 4, 0, 6};
  std::vector<double> zt(dt.size(), 0.0);
  auto r3 = wilcoxon_signed_rank(dt, zt);
  CHECK(r3.statistic == 17.0);
  CHECK(near(r3.p_value, 0.008723267594056738));
  CHECK_THAT(r3.test, Contains("normal"));

  // n = 60 > 50 -> normal approximation:
  // rng = np.random.default_rng(1); dl = np.round(rng.normal(0.3, 1, 60), 6)
  // st.wilcoxon(dl, zero_method="wilcox", correction=True, method="approx") -> (585.0, 0.015281075670749017)
  std::vector<double> dl{0.645584, 1.121618, 0.630437, -1.003157, 1.205356, 0.746375, -0.236953, 0.881118,
                         0.664572, 0.594132, 0.328422, 0.846713, -0.436454, 0.13709, -0.182119, 0.898846,
                         0.339722, 0.007543, -0.481908, 0.042808, 0.308142, 0.024397, 1.594064, 1.306724,
                         -2.411162, -1.589013, 0.125228, -0.12219, 0.513643, 0.517322, 2.417839, -0.812021,
                         -0.077605, 2.342772, 0.946703, 0.963063, -0.214006, -1.348075, 0.467465, 0.409014,
                         -0.927352, -0.383227, 0.227956, -0.644752, 0.20173, 0.395483, 0.335586, -0.206292,
                         0.893748, 1.191167, 0.620848, -0.51823, 1.031652, -0.20144, 1.179161, -0.771787,
                         1.214467, 0.279937, -0.948749, -0.013899};
  std::vector<double> zl(dl.size(), 0.0);
  auto r4 = wilcoxon_signed_rank(dl, zl);
  CHECK(r4.statistic == 585.0);
  CHECK(near(r4.p_value, 0.015281075670749017));

  std::vector<double> same{1, 2, 3};
  CHECK(wilcoxon_signed_rank(same, same).p_value == 1.0);
}

TEST_CASE("one-sided Wilcoxon signed-rank: the direction matters", "[stats]") {
  // x - y above: R- = 3 + 2 = 5, R+ = 40 (n = 9, no ties: exact).
  // st.wilcoxon(x, y, alternative="greater") -> p = P(R+ >= 40) = P(R+ <= 5) = 10/512 = 0.01953125;
  // the other way, P(R+ >= 5) = 1 - P(R+ <= 4) = 1 - 7/512 = 0.986328125 (3 subsets of 1..9 sum to 5).
  std::vector<double> x{1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30};
  std::vector<double> y{0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29};
  const auto up = wilcoxon_signed_rank_greater(x, y);
  CHECK(up.statistic == 40.0);
  CHECK(near(up.p_value, 0.01953125));
  CHECK(near(wilcoxon_signed_rank_greater(y, x).p_value, 0.986328125));
  // Normal approximation (ties): half the two-sided p in the favoured direction, 1 - half the other way.
  std::vector<double> dt{1, 2, 2, -1, 3, 3, 3, 0, 4, -2, 5, 5, 1, 2, -3, 4, 0, 6};
  std::vector<double> zt(dt.size(), 0.0);
  CHECK(near(wilcoxon_signed_rank_greater(dt, zt).p_value, 0.008723267594056738 / 2));
  CHECK(near(wilcoxon_signed_rank_greater(zt, dt).p_value, 1 - 0.008723267594056738 / 2));
  CHECK(wilcoxon_signed_rank_greater(x, x).p_value == 1.0);
}

TEST_CASE("Holm and Benjamini-Hochberg adjustments match R's p.adjust", "[stats]") {
  // Worked by hand (as R's p.adjust does), p = (0.01, 0.04, 0.03, 0.005), m = 4:
  // Holm: sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.06.
  // BH:   sorted 0.005*4/1 = 0.02, 0.01*4/2 = 0.02, 0.03*4/3 = 0.04, 0.04*4/4 = 0.04 -> running min from the top.
  std::vector<double> p{0.01, 0.04, 0.03, 0.005};
  auto holm = holm_adjust(p);
  auto bh = benjamini_hochberg_adjust(p);
  const std::vector<double> holm_expected{0.03, 0.06, 0.06, 0.02}, bh_expected{0.02, 0.04, 0.04, 0.02};
  for (std::size_t i = 0; i < p.size(); ++i) {
    CHECK(near(holm[i], holm_expected[i]));
    CHECK(near(bh[i], bh_expected[i]));
  }
  std::vector<double> big{0.5, 0.9};
  CHECK(holm_adjust(big) == std::vector<double>{1.0, 1.0});  // capped at 1
}

TEST_CASE("percentile interpolates linearly like numpy.percentile", "[stats]") {
  std::vector<double> v{3, 1, 4, 1, 5, 9, 2, 6};
  CHECK(near(percentile(v, 0.25), 1.75));               // np.percentile(v, 25)
  CHECK(near(percentile(v, 0.975), 8.475000000000001));  // np.percentile(v, 97.5)
}

TEST_CASE("chi-square independence and power match scipy", "[stats]") {
  // st.chi2_contingency([[10,20,30],[20,15,5]], correction=False) -> (18.650793650793652, 8.913158246593224e-05)
  auto r = chi_square_independence({{10, 20, 30}, {20, 15, 5}});
  CHECK(near(r.statistic, 18.650793650793652));
  CHECK(r.df == 2);
  CHECK(near_rel(r.p_value, 8.913158246593224e-05, 1e-8));
  // An empty column is dropped: same as the 2 x 2 table without it.
  auto dropped = chi_square_independence({{10, 0, 30}, {20, 0, 5}});
  CHECK(dropped.df == 1);
  // ncx2.sf(chi2.ppf(0.95, 19), 19, 12.5) -> 0.5215843609125359
  CHECK(near(chi_square_power(19, 12.5, 0.05), 0.5215843609125359, 1e-7));
  CHECK(near(chi_square_power(19, 0, 0.05), 0.05));
}
