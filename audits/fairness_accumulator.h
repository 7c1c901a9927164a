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
//   value is stated, per real group. Groups smaller than kMinGroupSize users
//   are pooled into "other" (and listed); the gap is max - min over the
//   groups' means, with E0 and a p-value from a permutation null (group
//   labels shuffled across users, kPermutations times): with groups of a few
//   users the range is large by chance alone. Beside it the counterfactual
//   view: per group, the mean change in NDCG from the neutral prompt to the
//   real-value prompt (normal intervals), which is 0 for a model that
//   ignores the attribute even when the groups' levels differ.
// - per value, a one-sided Wilcoxon signed-rank test that the value's lists
//   are LESS similar to neutral than the noise floor's (noise-floor
//   similarity - value similarity > 0), for the chosen metric (default
//   SERP*); the direction and the mean difference are reported beside it. A
//   value more similar than the noise floor is not a finding.
// - per attribute, SNSR of the test metric over users complete for the
//   attribute (every value usable), with a permutation null: value labels
//   shuffled within each user, kPermutations times, giving E0[SNSR] and a
//   p-value — SNSR is a max - min, biased upward like any range.
// The tests form the fairness family, corrected together (Holm or BH),
// separately from the other audits'.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/audit.h"
#include "audits/audit_options.h"
#include "audits/outcome.h"
#include "core/bootstrap.h"
#include "core/replicated_sums.h"

namespace recbias {

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
  static constexpr int kMinGroupSize = 30;     // utility gap: smaller real groups are pooled into "other"
  static constexpr int kPermutations = 1000;   // permutation nulls of SNSR and the utility gap
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
  // Per user and attribute with a real value: unit, attribute, value index, NDCG@k with the real value stated, NDCG@k neutral.
  std::vector<std::tuple<std::uint64_t, std::uint32_t, std::uint32_t, double, double>> utility_records_;
  struct PermutationNull {
    double observed = std::nan("");
    double e0 = std::nan("");
    double p_value = 1.0;
    std::int64_t units = 0;
    // SNSV (population SD of the values' means) under the same permutations; unused by the utility gap.
    double sd_observed = std::nan("");
    double sd_e0 = std::nan("");
    double sd_p_value = 1.0;
  };
  using Groups = std::vector<std::tuple<std::string, std::int64_t, double, double>>;  // name, users, mean, 0
  // SNSR (and SNSV) of the test metric over users complete for attribute a, with their within-user permutation null.
  PermutationNull snsr_null(std::size_t a) const;
  // Utility gap of attribute a over pooled groups, with its permutation null; `groups` gets each group's name, users and mean.
  PermutationNull utility_null(std::size_t a, Groups* groups) const;
  PermutationNull compute_snsr_null(std::size_t a) const;
  PermutationNull compute_utility_null(std::size_t a, Groups& groups) const;
  // The nulls (1,000 permutations each) are read by tests() and result() of
  // the same report: computed once per attribute, forgotten whenever the
  // records change (add, merge, load_state). Not part of the state.
  void forget_nulls();
  mutable std::map<std::size_t, PermutationNull> snsr_nulls_;
  mutable std::map<std::size_t, std::pair<PermutationNull, Groups>> utility_nulls_;
};

}  // namespace recbias
