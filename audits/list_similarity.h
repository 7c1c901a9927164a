// Similarity of two recommendation lists (ids, best first), as used by the
// fairness audit (FaiRLLM, Zhang et al. RecSys 2023) and the position audit.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace recbias {

// |A ∩ B| / |A ∪ B| of the lists as sets; two empty lists give 1.
double jaccard(std::span<const int> a, std::span<const int> b);

// Argument order follows FaiRLLM's calc_metric_at_k(variant, neutral, k):
// x is the compared list (a counterfactual variant's answer), y the
// reference (the neutral answer). SERP* and PRAG* are asymmetric. Callers
// cut both lists to k first (the audits do it once, audits/outcome.h).

// SERP*@K of a list x against a reference y.
//
// Normalised (default): sum over x_i found in y of (n - i), i = 0-based rank
// in x, n = max(|x|, |y|), divided by n(n+1)/2: identical lists give 1, two
// empty lists 1, and a list shorter than the other cannot reach 1.
//
// fairllm_compat: FaiRLLM's published calc_serp_ms(x, y) exactly: sum over
// every equal pair (x_i, y_j) of (len(x) - i + 1), times
// 0.5 / ((len(y) + 1) len(y)); its weight is off by one and its normaliser
// four times too large: identical lists of K = 20 give 230 * 0.5 / 420 =
// 0.2738. An empty y gives 0. The two modes differ only in weight and
// normaliser.
double serp_star(std::span<const int> x, std::span<const int> y, bool fairllm_compat = false);

// PRAG*@K of x against y (FaiRLLM's calc_prag(x, y)): over all pairs (i < j)
// of x, the share that y keeps — x_i must be in y, and x_j either missing
// from y or ranked after x_i (ranks in y by last occurrence). The
// denominator counts the pairs, so the normalised and compat forms
// coincide. |x| = 1: 1 if x == y else 0; either list empty: 0.
double prag_star(std::span<const int> x, std::span<const int> y);

// Extrapolated RBO with persistence 0.9 (core/stats.h, rbo_ext).
double rbo(std::span<const int> a, std::span<const int> b);

// Kendall's tau-b between two top-k lists over a universe of `n` ids
// (0..n-1): ids missing from a list are tied below its last entry.
double topk_kendall_tau(std::span<const int> a, std::span<const int> b, int n);

// The mean of topk_kendall_tau over every pair of `lists` (ids 0..k-1; at
// least two lists), without visiting the pairs of lists: tau-b's
// denominator depends on a pair only through the two lengths, so the sum
// over pairs of lists factorises over pairs of ids within and across the
// lists' length classes (by distinct ids). Equal to the pairwise mean up to rounding; NaN
// where a pair's tau is (k < 2, or an empty list).
double mean_pairwise_topk_tau(const std::vector<std::vector<int>>& lists, int k);

// The titles FaiRLLM compares, read from a generated answer its way
// (process.ipynb: clean() then simplified_list()): lower case; ' and line
// breaks removed; split on "<digits>. " and the text before the first such
// mark dropped; each piece cut at its first '-'; the text between its first
// two double quotes when it has two, else the piece without quotes; spaces
// at both ends stripped; every "(...)" and then every space removed.
// Differences from Python: lower case is utf8_lower's (ASCII, Latin,
// Greek and Cyrillic; no final-sigma rule) and digits are ASCII 0-9.
std::vector<std::string> fairllm_titles(std::string_view answer);

}  // namespace recbias
