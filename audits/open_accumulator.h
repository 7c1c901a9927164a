// The open audit (--probe open): what a model names when it is shown no
// candidates, against the catalog and against what users chose.
//
// Per user (the neutral profile's list, cut to k):
// - named: the grounded catalog items it named (hallucinations are the
//   grounding audit's; fairness compares lists across stated values);
// - popularity percentile of each named item within the catalog (training
//   interactions; 0 = least, 1 = most popular, ties at their mean rank), the
//   user's mean, and the held-out item's percentile; their difference,
//   paired per user, with a percentile bootstrap interval over users:
//   > 0 means the model names more popular items than users chose;
// - ARP: mean training interactions of the named items (per user, then averaged);
// - catalog coverage: distinct items named over all users / catalog size
//   (descriptive: a set size has no additive per-user form; no interval).
// Users whose list grounded nothing count in `users_without_items` and in no mean.
//
// FaiRLLM's way (Zhang et al. 2023), when stated attribute values were
// asked (the fairness probe's counterfactual profiles): per value, the mean
// over users of FaiRLLM's calc_metric_at_k(variant, neutral, k) -- Jaccard,
// SERP* in its published form (serp_star with fairllm_compat) and PRAG* --
// on the normalised strings of EVERY entry each answer wrote (grounded or
// not, duplicates kept: RankResponse::entries; for adapters that answer
// without text, the named items' titles then the ungrounded entries), cut
// to k; per attribute its
// SNSR (max - min over values) and SNSV (population standard deviation),
// with the users' bootstrap replicates' spread re-centred on the point. The
// fairness audit does the same on grounded catalog items, with nulls.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <memory>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/outcome.h"
#include "audits/plan.h"
#include "core/catalog.h"
#include "core/replicated_sums.h"

namespace recbias {

class OpenAccumulator {
 public:
  // `catalog` may be null when only merging saved states.
  // `fairllm_titles`: compare the answers' strings as FaiRLLM reads them
  // (fairllm_titles() on the text, --fairllm-compat) instead of the
  // grounder's normalised entries.
  OpenAccumulator(std::shared_ptr<const Catalog> catalog, int replicates, bool fairllm_titles = false);

  void add(const BaseOutcome& outcome);
  void merge(const OpenAccumulator& other);
  bool operator==(const OpenAccumulator& other) const;
  nlohmann::ordered_json result(double confidence) const;
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);

 private:
  nlohmann::ordered_json fairllm_result(double confidence) const;
  std::vector<std::string> strings_of(const RankResponse& r) const;
  std::shared_ptr<const Catalog> catalog_;
  bool fairllm_titles_ = false;
  std::vector<double> percentile_;  // per catalog item
  int replicates_;
  std::int64_t catalog_size_ = 0;
  std::int64_t requests_ = 0, non_open_ = 0, users_without_items_ = 0;
  std::int64_t users_without_held_out_ = 0;  // named items but no held-out item to pair them with (--protocol fairllm-*)
  ReplicatedSums user_;      // per user with items: mean named percentile, held-out percentile, ARP, items named, users
  std::set<ItemIndex> named_;  // distinct items named (coverage)
  // Per stated profile ("gender=F"): sums of Jaccard, SERP* (compat), PRAG*
  // on the entries' strings against the neutral answer, and users.
  std::map<std::string, ReplicatedSums> strings_;
};

}  // namespace recbias
