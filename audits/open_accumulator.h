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
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/outcome.h"
#include "core/catalog.h"
#include "core/replicated_sums.h"

namespace recbias {

class OpenAccumulator {
 public:
  // `catalog` may be null when only merging saved states.
  OpenAccumulator(std::shared_ptr<const Catalog> catalog, int replicates);

  void add(const BaseOutcome& outcome);
  void merge(const OpenAccumulator& other);
  bool operator==(const OpenAccumulator& other) const;
  nlohmann::ordered_json result(double confidence) const;
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);

 private:
  std::shared_ptr<const Catalog> catalog_;
  std::vector<double> percentile_;  // per catalog item
  int replicates_;
  std::int64_t catalog_size_ = 0;
  std::int64_t requests_ = 0, non_open_ = 0, users_without_items_ = 0;
  ReplicatedSums user_;      // per user with items: mean named percentile, held-out percentile, ARP, items named, users
  std::set<ItemIndex> named_;  // distinct items named (coverage)
};

}  // namespace recbias
