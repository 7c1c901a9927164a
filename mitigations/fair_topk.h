// FA*IR fair top-k ranking (Zehlike, Bonchi, Castillo, Hajian, Megahed &
// Baeza-Yates, CIKM 2017).
//
// A ranking passes the ranked group fairness test when every prefix of
// length i holds at least m(i) protected items, m(i) = F^{-1}(alpha; i, p):
// the alpha-quantile of Binomial(i, p) (scipy's binom.ppf, the smallest x
// with P(X <= x) >= alpha), p the target protected share. Testing k prefixes
// inflates the chance of failing a fair ranking above alpha, so alpha is
// adjusted down to alpha_c (the probability that a fair ranking, protected ~
// Bernoulli(p) at each position, fails any prefix is computed exactly by
// dynamic programming over protected counts).
//
// A deliberate, conservative deviation: the reference implementation
// (fairsearchcore's adjust_alpha) takes the table whose failure probability
// is CLOSEST to alpha, which may exceed it (k = 20, p = 0.25, alpha = 0.1:
// its table fails a fair ranking with probability 0.105). recbias takes the
// largest alpha_c whose failure probability is AT MOST alpha (there: 0.0897),
// so the family-wise error of the test never exceeds alpha. Ties between
// candidates are broken protected first, then by item id (operators.h).
//
// This header has no libtorch: the table is plain numbers. The re-ranking
// operator on [B, K] tensors is in fair_topk_operator.h.
#pragma once

#include <vector>

namespace recbias {

// m(1..k) for target share p and level alpha (entry i-1 is m(i)).
std::vector<int> fair_minimum_counts(int k, double p, double alpha);

// Probability that a ranking of k independent Bernoulli(p) protected flags
// violates the table somewhere (some prefix i has fewer than m(i) protected).
double fair_failure_probability(const std::vector<int>& table, double p);

// alpha_c: the largest alpha' <= alpha whose table fails a fair ranking with
// probability <= alpha (bisection to 1e-6 relative).
double fair_adjusted_alpha(int k, double p, double alpha);

}  // namespace recbias
