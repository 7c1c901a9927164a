// Mitigation operators: pure functions on [B, K] tensors (B requests, K
// candidates in presented order). Parameters go to the constructor;
// operator() validates shape, dtype and device (saying what it found) and
// works with libtorch ops only, so the same code runs on CPU and CUDA and
// results stay on the input's device. The one exception is Kemeny
// aggregation, a combinatorial search that runs on the CPU (documented
// there). None of them calls a model or reads a file; the decorators that
// call models are separate classes.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <torch/types.h>

namespace recbias {

// Permutation ensembling (LLMRank bootstrapping; Tang et al. 2024,
// "Found in the middle: permutation self-consistency").
//
// permutations: int64 [m, K], row r = presented order r (entry j = original
// candidate shown at position j). operator() builds the permuted candidates
// [B*m, K] by gather, calls `scorer` ONCE on them, and maps the scores back
// to the original order by scatter: result [B, m, K], result[b, r, c] = the
// score candidate c got in member r.
class PermutationEnsemble {
 public:
  explicit PermutationEnsemble(torch::Tensor permutations);
  torch::Tensor operator()(const torch::Tensor& candidates,
                           const std::function<torch::Tensor(const torch::Tensor&)>& scorer) const;
  // Cyclic shifts (m = K: every candidate visits every position once) or m of them spread evenly.
  static torch::Tensor cyclic(int k, int m);
  // int64 [m, K] from presented orders (core/permutations.h: permutation_orders).
  static torch::Tensor from_orders(const std::vector<std::vector<int>>& orders);
  int members() const { return static_cast<int>(permutations_.size(0)); }

 private:
  torch::Tensor permutations_;
};

// Aggregates m rankings or score vectors of the same K candidates.
//   mean   mean over members of per-member standardised scores
//   borda  mean over members of (valid - 1 - rank) points
//   rrf    reciprocal-rank fusion: sum over members of 1 / (60 + rank + 1) (Cormack et al. 2009)
//   kemeny the ranking with the fewest pairwise disagreements (exact by
//          dynamic programming for K <= 10, local Kemenisation from the Borda
//          order beyond; Dwork et al. 2001); computed on the CPU
// Missing items (valid = false, e.g. an LLM left them out) are masked: they
// neither score nor count in a member, and are not given a huge penalty.
// Input scores [B, m, K] (higher = better), valid [B, m, K] bool (optional);
// output [B, K] scores whose descending order is the aggregate ranking.
class RankAggregator {
 public:
  enum class Method { kMean, kBorda, kRrf, kKemeny };
  explicit RankAggregator(Method method, int rrf_k = 60);
  static Method parse(const std::string& name);  // mean|borda|rrf|kemeny; BadInput listing them
  torch::Tensor operator()(const torch::Tensor& scores, const torch::Tensor& valid = {}) const;

 private:
  Method method_;
  int rrf_k_;
};

// Ranks within each row: rank[b, m, c] = 0 for the best valid candidate;
// invalid candidates get rank = number of valid ones (tied last).
torch::Tensor ranks_from_scores(const torch::Tensor& scores, const torch::Tensor& valid);

// Kemeny aggregation of one request's members (CPU): `order[m][i]` are full
// or partial rankings of candidates 0..k-1. Returns the consensus order.
std::vector<int> kemeny_exact(const std::vector<std::vector<double>>& precedence);  // k <= 12
std::vector<int> kemeny_local_search(const std::vector<std::vector<double>>& precedence, std::vector<int> start);
// Sum over ordered pairs (a before b in `order`) of precedence[a][b].
double kemeny_agreement(const std::vector<std::vector<double>>& precedence, const std::vector<int>& order);

// Position calibration (contextual calibration, Zhao et al. 2021): scores
// minus the log of the per-position prior of being picked (from an audit's
// selection rates or a content-free probe). prior [K], positive.
class PositionCalibration {
 public:
  explicit PositionCalibration(torch::Tensor prior);
  torch::Tensor operator()(const torch::Tensor& scores) const;

 private:
  torch::Tensor log_prior_;
};

// Calibrated re-ranking (Steck, RecSys 2018). Greedy top-k: at each step add
// the candidate maximising (1 - lambda) * sum of selected scores
//   - lambda * KL(p || q~), q~ = (1 - alpha) q + alpha p,
// p [B, G] the target category distribution (from the user's history), q the
// category distribution of the list so far (item_categories [B, K, G], each
// row a distribution). Batched over B. Returns int64 [B, k] positions.
// Ties of the objective are broken by `tie_key` [B, K] (the candidates' item
// indices; smallest first), never by presented position, which would itself
// be a position bias for score-tied models; without it, by position.
class CalibratedReranker {
 public:
  CalibratedReranker(double lambda, int k, double alpha = 0.01);
  torch::Tensor operator()(const torch::Tensor& scores, const torch::Tensor& item_categories, const torch::Tensor& target,
                           const torch::Tensor& tie_key = {}) const;
  // KL(p || q~) of a given selection (for tests and reports), [B].
  torch::Tensor kl(const torch::Tensor& selection, const torch::Tensor& item_categories, const torch::Tensor& target) const;

 private:
  double lambda_;
  int k_;
  double alpha_;
};

// Counterfactual ensembling over the values of a sensitive attribute: the
// mean of the scores obtained with each value stated, [B, V, K] -> [B, K],
// so the output cannot depend on which value the user has.
torch::Tensor counterfactual_mean(const torch::Tensor& scores_by_value);

// FA*IR re-ranking with a minimum-count table (fair_topk.h): greedily the
// best remaining candidate, unless the prefix needs another protected one.
// scores [B, K], is_protected [B, K] bool -> int64 [B, k] positions
// (k = table size). When a request has too few protected candidates, the
// remaining slots are filled by score. Ties of the score: a protected
// candidate first (as the reference implementation), then the smaller
// `tie_key` [B, K] (item index); never the presented position.
torch::Tensor fair_topk(const torch::Tensor& scores, const torch::Tensor& is_protected, const std::vector<int>& table,
                        const torch::Tensor& tie_key = {});

// argmax over dim 1 of `values` [B, K], ties broken by the smallest `tie_key`
// (any numeric dtype; undefined: the first index). Entries equal to -inf are
// never picked over a finite one.
torch::Tensor argmax_tie_key(const torch::Tensor& values, const torch::Tensor& tie_key);

}  // namespace recbias
