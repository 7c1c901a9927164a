// The position audit: does the model prefer candidates by where they sit in
// the prompt? (Hou et al. 2024, "Large Language Models are Zero-Shot Rankers
// for Recommender Systems" (LLMRank); STELLA, Wang et al. 2023.)
//
// Each base request is shown under P permutations (plan.h). Metrics:
// - selection rate s_j: share of top-1 picks whose candidate sat at input
//   position j (uniform 1/K); Wilson intervals per position. Picks of one
//   request are not independent when relevance varies, so these intervals
//   are approximate; the TVD interval below resamples whole requests.
// - TVD = 1/2 sum_j |s_j - 1/K| with a Poisson-bootstrap interval over
//   requests; max/min ratio of s; chi-square goodness of fit (and G-test) of
//   the top-1 position counts against uniform, and the power that test had
//   against a linear primacy bias of TVD 0.05 at this N.
// - consistency: share of requests whose top-1 item is the same under every
//   permutation (Wilson); mean pairwise Kendall tau-b and RBO (p = 0.9)
//   between the de-permuted top-k lists of one request, averaged over
//   requests (bootstrap). These, and the transition matrix, are defined on
//   whole rankings and read the whole answer (outcome.h); HR/NDCG read the
//   top-k view.
// - top-1 is the model's first entry: a response whose first entry was
//   hallucinated, a duplicate, out of range or unparseable is "top-1
//   unusable" (counted and reported), never its second entry promoted.
// - the held-out positive's HR@k (Wilson) and NDCG@k (normal approximation)
//   by the input position it was placed at (LLMRank, Fig. 2).
// - the input-position x output-rank transition matrix (STELLA).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/outcome.h"
#include "core/bootstrap.h"
#include "core/replicated_sums.h"

namespace recbias {

class PositionAccumulator {
 public:
  explicit PositionAccumulator(int replicates) : replicates_(replicates) {}

  void add(const BaseOutcome& outcome);
  void merge(const PositionAccumulator& other);
  bool operator==(const PositionAccumulator& other) const = default;

  // Metrics; p-values are filled in later by the report's multiple-testing correction.
  nlohmann::ordered_json result(double confidence, double alpha) const;
  // The chi-square p-value (for the report's family of tests); NaN without data.
  double p_value() const;

  nlohmann::json state() const;
  static PositionAccumulator from_state(const nlohmann::json& j);

 private:
  void init(int k);
  int replicates_;
  int k_ = 0;
  std::int64_t requests_ = 0;            // base requests seen
  std::int64_t responses_ = 0;           // permuted responses seen
  std::int64_t usable_ = 0;              // of which usable
  std::int64_t top1_unusable_ = 0;       // usable, but the first entry was not a candidate (no top-1 pick)
  std::int64_t complete_requests_ = 0;   // requests with every permutation usable
  std::int64_t consistent_requests_ = 0; // of which the top-1 item never changed
  ReplicatedSums top1_;                  // K: top-1 picks by input position
  ReplicatedSums agreement_;             // 3: sum of mean pairwise tau, sum of mean pairwise RBO, requests
  std::vector<std::int64_t> positive_hits_;  // per input position of the positive: hits (Wilson)
  std::vector<MomentSums> positive_ndcg_;    // and NDCG (normal approximation)
  std::vector<std::int64_t> transition_; // K x K: input position x output rank
};

}  // namespace recbias
