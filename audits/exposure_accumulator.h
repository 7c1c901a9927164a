// Item-side (provider) exposure fairness (Deldjoo 2024: provider fairness
// and recency bias in LLM recommenders; Fairlearn #959, LensKit #694). Item
// groups come from the catalog: genre (an item's categories; an item in
// several genres counts in each), release era (the decade of the release
// year: items.jsonl's "year", else the year at the end of the title, "Toy
// Story (1995)" -> "1990s") and every item attribute of items.jsonl
// ("attributes": {"provider": "Netflix"}; core/catalog.h). Per group, on the
// identity answer's top-k:
//   exposure share   position-weighted (1 / log2(1 + rank)) exposure of the
//                    group's items over all exposure;
//   candidate share  the group's share of the presented candidates (what a
//                    random ranker would expose);
//   relevance share  the group's share of the held-out items (what users
//                    chose);
// and exposure minus relevance share and exposure over candidate share, each
// a ratio of sums over users with a Poisson-bootstrap interval (users are
// the resampled units, so the intervals hold with clustered picks). Per
// attribute the disparity 1/2 sum_g |p_g - q_g| between the normalised
// exposure and relevance distributions is descriptive (an absolute-value
// statistic, biased upward; no interval). Recency: the mean release year of
// the recommended items against the held-out item's, paired per user.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/outcome.h"
#include "audits/popularity_accumulator.h"
#include "core/replicated_sums.h"

namespace recbias {

class ExposureAccumulator {
 public:
  ExposureAccumulator(std::shared_ptr<const PopularityContext> context, int replicates);
  void add(const BaseOutcome& outcome);
  void merge(const ExposureAccumulator& other);
  bool operator==(const ExposureAccumulator& other) const { return groups_ == other.groups_ && sums_ == other.sums_; }
  nlohmann::ordered_json result(double confidence) const;
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);

 private:
  std::shared_ptr<const PopularityContext> context_;
  std::vector<std::pair<std::string, std::string>> groups_;  // (attribute, value), genre then era, each sorted
  std::vector<std::vector<std::size_t>> item_groups_;        // per catalog item: its groups (empty when only merging states)
  std::vector<int> item_year_;                               // per catalog item: release year, 0 unknown
  ReplicatedSums sums_;  // per group: exposure, candidates, relevant; then the totals and the recency sums
};

}  // namespace recbias
