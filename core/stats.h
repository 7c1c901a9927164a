// Interval estimates and hypothesis tests used by every audit, on Boost.Math
// distributions. Each function states its formula and source; tests/core
// checks each against a value computed by SciPy (the call is quoted there).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace recbias {

// A two-sided confidence interval [lo, hi].
struct Interval {
  double lo = 0;
  double hi = 0;
};

// Result of a hypothesis test.
struct TestResult {
  std::string test;     // name as written in reports ("chi-square GOF", ...)
  double statistic = 0; // the test statistic (chi-square X^2, G, Wilcoxon T, mean difference)
  double df = 0;        // degrees of freedom where the test has them, else 0
  double p_value = 1;   // two-sided unless the test says otherwise
};

// Quantile of the standard normal distribution (Boost.Math).
double normal_quantile(double p);

// Wilson score interval for a binomial proportion successes/n (Wilson 1927).
// n = 0 gives [0, 1]. Throws InternalError when successes > n or either is negative.
Interval wilson_interval(std::int64_t successes, std::int64_t n, double confidence = 0.95);

// The Wilson interval at an effective sample size (Korn & Graubard 1998):
// p_hat with n_eff = p_hat (1 - p_hat) / V, where V is a design-based
// (cluster-robust) variance of p_hat, capped at `n` (the observations). It
// keeps Wilson's behaviour near 0 and 1 while its width follows the design.
// V <= 0 or p_hat in {0, 1} uses n itself.
Interval wilson_interval_effective(double p_hat, double variance, double n, double confidence = 0.95);

// Pearson's chi-square goodness of fit: X^2 = sum (O_i - E_i)^2 / E_i with
// E_i = N * expected_i / sum(expected); df = k - 1; p = P(chi2_df >= X^2).
// `expected` are proportions or counts (rescaled to sum N); each must be > 0.
// Matches scipy.stats.chisquare(observed, f_exp).
TestResult chi_square_gof(std::span<const double> observed, std::span<const double> expected);

// G-test (log-likelihood ratio) goodness of fit: G = 2 sum O_i ln(O_i / E_i)
// (terms with O_i = 0 contribute 0), df = k - 1. Matches
// scipy.stats.power_divergence(observed, f_exp, lambda_="log-likelihood").
TestResult g_test(std::span<const double> observed, std::span<const double> expected);

// Pearson's chi-square test of independence of an r x c contingency table
// (rows of equal length; rows or columns summing to 0 are dropped), df =
// (r-1)(c-1). Matches scipy.stats.chi2_contingency(table, correction=False).
TestResult chi_square_independence(const std::vector<std::vector<double>>& table);

// Second-order Rao–Scott chi-square goodness of fit for clustered data (Rao &
// Scott 1981, 1984). `estimate` is a vector of K proportions estimated from
// `n` observations in clusters, `covariance` its K x K design-based
// covariance (row-major), `expected` the null proportions (> 0, summing to
// 1). With X^2 = n sum (p_j - e_j)^2 / e_j and the generalised design
// effects delta = eigenvalues of n diag(1/e) V (K - 1 of them), the test
// refers X^2 / (mean delta (1 + a^2)) to chi-square with (K - 1) / (1 + a^2)
// df, a = coefficient of variation of the deltas (from the traces of
// n diag(1/e) V and its square; no eigen decomposition). With independent
// observations every delta is 1 and this is Pearson's test. `df` in the
// result is the Satterthwaite df; `design_effect` (out) gets mean delta.
TestResult rao_scott_gof(std::span<const double> estimate, std::span<const double> covariance, double n,
                         std::span<const double> expected, double* design_effect = nullptr, double* scale = nullptr);

// Power of a chi-square test with `df` degrees of freedom at level `alpha`
// against an alternative with noncentrality `lambda` (Boost.Math's
// non-central chi-square): P(X >= crit) with X ~ chi2'(df, lambda).
double chi_square_power(double df, double lambda, double alpha);

// Kendall's tau-b with ties: (n_c - n_d) / sqrt((n_0 - n_1)(n_0 - n_2))
// (Kendall 1945). O(n^2), meant for ranked lists (n <= a few hundred).
// NaN when either input is constant. Matches scipy.stats.kendalltau.
double kendall_tau_b(std::span<const double> x, std::span<const double> y);
// Tau-b from the pair counts of n items: concordant minus discordant pairs,
// and the pairs tied in x and in y; NaN when n < 2 or either is constant.
double kendall_tau_b_from_counts(std::size_t n, std::int64_t concordant_minus_discordant, std::int64_t tied_x, std::int64_t tied_y);

// Spearman's rho: Pearson correlation of average ranks. NaN when either
// input is constant. Matches scipy.stats.spearmanr.
double spearman_rho(std::span<const double> x, std::span<const double> y);

// Average ranks (1-based, ties get the mean of their ranks), as scipy.stats.rankdata.
std::vector<double> average_ranks(std::span<const double> values);

// Extrapolated rank-biased overlap RBO_ext(S, L, p) of two rankings of unique
// ids, best first (Webber, Moffat & Zobel 2010, eq. 32, which also covers
// lists of different lengths). 1 for identical lists, 0 for disjoint ones.
// p in (0, 1) is the persistence (default 0.9: the top 10 carry ~86% of the weight).
// Both empty: 1. One empty: 0. Throws BadInput when a list repeats an id.
double rbo_ext(std::span<const int> s, std::span<const int> l, double p = 0.9);

// Paired permutation test of mean(x - y) = 0 by sign flips of the paired
// differences. Exact (all 2^n sign patterns) when n <= exact_max_n, else
// `resamples` random patterns from Rng(seed) with p = (hits + 1) / (resamples + 1).
// Two-sided p = min(1, 2 min(P(T <= t), P(T >= t))), as
// scipy.stats.permutation_test(..., permutation_type="samples").
TestResult paired_permutation_test(std::span<const double> x, std::span<const double> y,
                                   std::uint64_t seed = 0, int resamples = 9999, int exact_max_n = 20);

// Wilcoxon signed-rank test of the paired differences x - y (two-sided).
// Zero differences are dropped (Wilcoxon's method). T = min(R+, R-).
// Exact null distribution when n <= 50 and the |d| have no ties; otherwise the
// normal approximation with tie correction sum(t^3 - t)/48 in the variance and
// a continuity correction of 0.5. Matches scipy.stats.wilcoxon(x, y,
// zero_method="wilcox", correction=True). All differences zero: p = 1.
TestResult wilcoxon_signed_rank(std::span<const double> x, std::span<const double> y);

// The one-sided test that x - y tends to be positive: statistic R+ (the rank
// sum of positive differences), p = P(R+ >= observed) under the null; exact
// or normal (continuity 0.5 toward the mean) as above. Matches
// scipy.stats.wilcoxon(x, y, alternative="greater", correction=True).
TestResult wilcoxon_signed_rank_greater(std::span<const double> x, std::span<const double> y);

// Holm (1979) step-down adjusted p-values, in the input order.
std::vector<double> holm_adjust(std::span<const double> p_values);

// Benjamini-Hochberg (1995) step-up adjusted p-values (q-values), in the input order.
std::vector<double> benjamini_hochberg_adjust(std::span<const double> p_values);

// Percentile of `values` (linear interpolation between order statistics,
// numpy's default "linear" method). q in [0, 1]; values need not be sorted.
double percentile(std::vector<double> values, double q);
// The same on values already sorted ascending (non-empty), without a copy.
double percentile_sorted(std::span<const double> sorted, double q);

// The interval of a biased bootstrap statistic (Gini, coverage, the spread of
// per-value means): the replicates' spread around their median, re-centred
// on the point estimate -- [t - (m - q_lo), t + (q_hi - m)] at `confidence`,
// clamped to [lo, hi]. Contains t; NaN ends with fewer than 2 replicates.
Interval recentred_interval(double t, const std::vector<double>& replicates, double confidence, double lo = 0.0, double hi = 1.0);

}  // namespace recbias
