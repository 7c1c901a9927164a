// The position audit: does the model prefer candidates by where they sit in
// the prompt? (Hou et al. 2024, "Large Language Models are Zero-Shot Rankers
// for Recommender Systems" (LLMRank); STELLA, Wang et al. 2023.)
//
// Each base request is shown under P permutations (plan.h). Metrics:
// - selection rate s_j: share of top-1 picks whose candidate sat at input
//   position j (uniform 1/K). Users are the units: a user's P picks are
//   clustered (one user can be strongly position-driven), so s_j's interval
//   is cluster-robust — the linearised variance of the ratio estimator
//   V(s_j) = U/(U-1) sum_u (Y_uj - s_j n_u)^2 / N^2 (Y_uj: user u's picks at
//   j, n_u: u's picks, N: all picks), turned into a Wilson interval at the
//   effective sample size s_j(1-s_j)/V (Korn & Graubard). Mergeable: the
//   K x K sums of Y_uj Y_uk over users are kept exactly.
// - the test: second-order Rao–Scott chi-square of the pick counts against
//   uniform with that covariance (core/stats.h rao_scott_gof), so per-user
//   position preferences that cancel across users do not make it reject,
//   and negatively correlated picks under the cyclic design do not make it
//   conservative. Its own family (Holm over the position audit's tests,
//   which is this one): the verdict never depends on which other audits ran.
//   The G-test is reported, labelled unadjusted and assuming independent picks.
// - TVD = 1/2 sum_j |s_j - 1/K| is a max/abs statistic, biased upward: with
//   no position bias at all its plug-in has expected value E0 ~ 1/2
//   sqrt(2/pi) sum_j SE_j (0.028 at 4,000 picks, K = 20), and a percentile
//   interval around it excludes 0 every time. Reported: the plug-in
//   (`tvd_plugin`), E0 (`tvd_e0`), and in `tvd` a corrected estimate with
//   its interval, truncated at 0 when the test rejects, or the one-sided
//   bound [0, u] when it does not, by one of two methods (TvdInterval):
//   * inversion (default): invert tests of "TVD = t", each calibrated by
//     simulation at the nearest rates with TVD t; a median-unbiased estimate
//     (audits/tvd_inversion.h);
//   * moment: per position the |mu_j| whose folded-normal mean E|mu_j + e_j|,
//     e_j ~ N(0, V_jj), equals the observed |s_j - 1/K| (0 when that is
//     below sqrt(2/pi) SE_j), summed and halved, ± z SD of the same
//     estimator over the users' Poisson bootstrap replicates.
//   Gates on position.tvd thus never use the plug-in. Validated coverage is
//   in tests/audits/statistics_validation_test.cc and the README (TVD is not
//   a smooth functional where some s_j = 1/K, so no interval for it is exact).
// - power: of that test, at the level the verdict uses, against the
//   least-favourable bias of TVD 0.05 (half the positions up, half down:
//   noncentrality N K T^2 (1/floor(K/2) + 1/ceil(K/2)), scaled like the
//   test), i.e. "power >= X against any TVD-0.05 bias".
// - max/min ratio of s: descriptive only (a ratio of extreme order
//   statistics has no interval worth printing; none is given).
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
// - mean_probability (models that give scores: TorchScript, openai
//   first-token/pointwise/loglik, exec with scores): per presented position
//   the softmax of the response's scores, averaged over scored responses,
//   with a percentile interval over users. It is the model's own
//   probability of picking each position -- the prior contextual
//   calibration (Zhao et al. 2021) divides out, and what calibrate-position
//   reads from a report when present: top-1 selection rates of a model with
//   a peaked position preference are near 0 or 1 and over-correct.
// - transition matrices: every ranked item's input position x output rank
//   (`transition_counts`), and STELLA's: the held-out positive's input
//   position x its output rank, with a last column for "not ranked"
//   (`positive_transition_counts`; Wang et al. 2023).
#pragma once

#include <cstdint>
#include <vector>

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "audits/outcome.h"
#include "audits/tvd_inversion.h"
#include "core/bootstrap.h"
#include "core/replicated_sums.h"

namespace recbias {

class PositionAccumulator {
 public:
  explicit PositionAccumulator(int replicates) : replicates_(replicates) {}

  void add(const BaseOutcome& outcome);
  void merge(const PositionAccumulator& other);
  bool operator==(const PositionAccumulator& other) const = default;

  // Metrics. `p_adjusted` is the test's p-value corrected within the position
  // audit's family of `family_size` tests (the report's correction).
  // `method` picks the TVD interval (audits/tvd_inversion.h).
  nlohmann::ordered_json result(double confidence, double alpha, double p_adjusted, int family_size,
                                TvdInterval method = TvdInterval::kInversion) const;
  // The Rao–Scott test's p-value; NaN without data.
  double p_value() const;
  // Headline metrics on the point sums and on every bootstrap replicate, for
  // paired comparisons (position.tvd: the estimate of `method`, on each
  // replicate with the calibration held at the point sums').
  void replicated(std::map<std::string, ReplicatedValue>& out, TvdInterval method = TvdInterval::kInversion) const;

  nlohmann::json state() const;
  static PositionAccumulator from_state(const nlohmann::json& j);

 private:
  struct Inference {
    double picks = 0;                 // N
    std::vector<double> rates;        // s_j
    std::vector<double> covariance;   // K x K cluster-robust covariance of s
    TestResult test;                  // Rao–Scott against uniform
    double design_effect = 0;         // mean generalised design effect
    double scale = 0;                 // the Rao–Scott divisor mean delta (1 + a^2)
  };
  Inference inference() const;
  // The moment-matched TVD on the point sums and on each replicate (NaN where a replicate has no picks).
  ReplicatedValue tvd_replicated(const Inference& in) const;
  // The inversion's estimate on the point sums and each replicate (invert_tvd_estimates).
  ReplicatedValue tvd_inversion_replicated(const Inference& in) const;
  void init(int k);
  int replicates_;
  int k_ = 0;
  std::int64_t requests_ = 0;            // base requests seen
  std::int64_t responses_ = 0;           // permuted responses seen
  std::int64_t usable_ = 0;              // of which usable
  std::int64_t top1_unusable_ = 0;       // usable, but the first entry was not a candidate (no top-1 pick)
  std::int64_t picking_users_ = 0;       // users with at least one top-1 pick (the clusters)
  std::int64_t complete_requests_ = 0;   // requests with every permutation usable
  std::int64_t consistent_requests_ = 0; // of which the top-1 item never changed
  ReplicatedSums top1_;                  // K: top-1 picks by input position
  ReplicatedSums agreement_;             // 3: sum of mean pairwise tau, sum of mean pairwise RBO, requests
  std::vector<std::int64_t> positive_hits_;  // per input position of the positive: hits (Wilson)
  std::vector<MomentSums> positive_ndcg_;    // and NDCG (normal approximation)
  std::vector<std::int64_t> transition_; // K x K: input position x output rank
  std::vector<std::int64_t> cross_;      // K x K: sum over users of Y_uj Y_uk (picks at j times picks at k)
  ReplicatedSums probability_;           // K + 1: softmax of the scores by presented position, summed; scored responses
  std::vector<std::int64_t> positive_transition_;  // K x (K + 1): positive's input position x its output rank (K: not ranked)
};

}  // namespace recbias
