// Grounding, over every distinct call of the plan: the share of output
// entries that were hallucinated (matched no candidate), duplicated, or out
// of range, and the share of responses that failed, were empty, could not be
// parsed, were cut short (truncated) or were repaired. Users are the units:
// hallucinations cluster within a response and within a user (~50 calls
// each in a full audit), so every rate is a ratio estimator sum_u x_u /
// sum_u e_u over users with the linearised variance U/(U-1) sum_u (x_u -
// r e_u)^2 / (sum_u e_u)^2, shown as a Wilson interval at the effective
// sample size. Mergeable: the per-user products of the counts are kept
// exactly (Slot x Slot sums).
// Ten hallucinated entries are kept verbatim as examples (untrusted text:
// renderers escape it).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/outcome.h"
#include "core/replicated_sums.h"

namespace recbias {

class GroundingAccumulator {
 public:
  void add(const BaseOutcome& outcome);
  void merge(const GroundingAccumulator& other);
  bool operator==(const GroundingAccumulator& other) const = default;
  nlohmann::ordered_json result(double confidence) const;
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);

 private:
  // One count per Slot, summed over users, and the per-user products of
  // every pair of counts (kSlots x kSlots sums).
  enum Slot : std::size_t {
    kResponses, kFailed, kEmpty, kParseFailed, kTruncated, kRepaired, kEntries, kHallucinated, kDuplicated, kOutOfRange,
    kConstrained, kConstraintIgnored, kSlots
  };
  std::vector<std::int64_t> counts_ = std::vector<std::int64_t>(kSlots, 0);
  std::vector<std::int64_t> products_ = std::vector<std::int64_t>(kSlots * kSlots, 0);  // sum over users of count_a * count_b
  std::int64_t users_ = 0;
  // Up to kExamples ungrounded entries for reviewers: the smallest (user key,
  // text) pairs, so merged shards keep the same ones as a single run.
  static constexpr std::size_t kExamples = 10;
  std::vector<std::pair<std::uint64_t, std::string>> examples_;
};

}  // namespace recbias
