// The consumer-fairness audit: does stating a sensitive attribute change the
// answer? (FaiRLLM: Zhang et al., RecSys 2023; CFaiRLLM: Deldjoo & Di Noia 2024.)
//
// For every user, the neutral profile (no attribute stated) and one variant
// per value of each attribute (and per pair of values of two attributes when
// intersections are asked for). Between a variant's top-k list and the
// neutral top-k list, in FaiRLLM's argument order calc_metric_at_k(variant,
// neutral): Jaccard@k, SERP*@k, PRAG*@k and RBO (list_similarity.h). Every
// answer is cut to k before (outcome.h), so an LLM that lists all K
// candidates is compared on its top k.
//
// Per attribute, over its values' mean similarities: SNSR = max - min and
// SNSV = population standard deviation, with Poisson-bootstrap intervals
// over users. Beside them:
// - the noise floor: neutral vs neutral asked again with sample = 1 (a model
//   at temperature > 0 is not similar to itself at 1.0);
// - the true counterfactual swap: similarity between the lists of two values
//   for the same user, for every pair of values (normal-approximation
//   intervals: there are many pairs, so no bootstrap replicates are kept);
// - the utility gap: NDCG@k of the held-out positive when the user's real
//   value is stated, per real group, max - min with an interval and a
//   chi-square test of independence of hits and groups;
// - per value, a Wilcoxon signed-rank test of (noise-floor similarity -
//   value similarity) over users for the chosen metric (default SERP*): does
//   stating the value change the list more than asking again does?
//   p-values are corrected across the whole report (Holm or BH).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/audit_options.h"
#include "audits/outcome.h"
#include "core/bootstrap.h"
#include "core/replicated_sums.h"

namespace recbias {

struct NamedTest {
  std::string name;     // "fairness.gender.F"
  TestResult result;
  std::int64_t n = 0;
};

class FairnessAccumulator {
 public:
  FairnessAccumulator(const AuditOptions& options, std::vector<Profile> profiles);

  void add(const BaseOutcome& outcome);
  void merge(const FairnessAccumulator& other);
  bool operator==(const FairnessAccumulator& other) const;
  std::vector<NamedTest> tests() const;
  // `adjusted` maps test names to corrected p-values (from the report).
  nlohmann::ordered_json result(double confidence, const std::map<std::string, double>& adjusted, double alpha) const;
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);

  static constexpr int kMetrics = 4;  // jaccard, serp, prag, rbo
  static const char* metric_name(int m);

 private:
  int metric_index(const std::string& name) const;
  std::vector<AttributeSet> attributes_;
  std::vector<Profile> profiles_;
  bool compat_;
  int test_metric_;
  int replicates_;
  std::vector<std::pair<std::size_t, std::size_t>> swap_pairs_;  // profile index pairs (single-attribute, same attribute)
  std::vector<std::size_t> value_offset_;                         // first utility slot of attribute a
  ReplicatedSums similarity_;  // (profiles + 1 noise floor) x (4 metrics + count)
  // Swap pairs x (4 metric sums, 4 sums of squares, count), no replicates: an
  // attribute with many values has many pairs (21 occupations: 210), so
  // these means get a normal-approximation interval instead of a bootstrap.
  std::vector<MomentSums> swap_;  // swap pair x metric
  ReplicatedSums utility_;     // per attribute value: ndcg, hit, count
  std::vector<std::tuple<std::uint64_t, std::uint32_t, double, double>> paired_;  // unit, profile, noise sim, value sim
};

}  // namespace recbias
