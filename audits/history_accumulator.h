// History sensitivity (LLMRank: LLMs barely perceive the order of the
// history; CFaiRLLM: which part of the profile is shown changes the
// answer). Per user, the answer to the last W history items as they are
// (the original) is compared with the same request asked again (the null:
// what re-asking alone changes), with those items shuffled, reversed, and
// cut to the most recent half, and with other W-item profile samples of the
// whole history -- the top-rated items and a random sample, in time order
// (CFaiRLLM; users whose history has at most W items have none): Kendall's
// tau-b of the top-k lists over the
// candidates, Jaccard@k, and the change in the held-out item's NDCG@k, each
// with a Poisson-bootstrap interval over users. The tests (one family,
// "history.*") ask whether a perturbation moves the answer more than
// re-asking does: one-sided Wilcoxon signed-rank on the per-user tau pairs
// (null tau vs perturbed tau). A model that ignores history order has tau
// = 1 under shuffling and reversal (deterministic) or the null's tau.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/audit.h"
#include "audits/outcome.h"
#include "core/replicated_sums.h"

namespace recbias {

class HistoryAccumulator {
 public:
  explicit HistoryAccumulator(int replicates);
  void add(const BaseOutcome& outcome);
  void merge(const HistoryAccumulator& other);
  bool operator==(const HistoryAccumulator& other) const = default;
  std::vector<NamedTest> tests() const;
  nlohmann::ordered_json result(double confidence, const std::map<std::string, double>& adjusted, double alpha) const;
  // history.<variant>.kendall_tau on the point sums and every replicate.
  void replicated(std::map<std::string, ReplicatedValue>& out) const;
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);

 private:
  ReplicatedSums sums_;  // per compared variant: tau, jaccard, ndcg change, users
  // Per perturbed variant (shuffled, reversed, truncated): the users' (null
  // tau, perturbed tau) pairs, kept sorted so merged shards equal one run.
  std::vector<std::vector<std::pair<double, double>>> pairs_;
};

}  // namespace recbias
