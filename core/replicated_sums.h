// A fixed set of sums with Poisson-bootstrap replicates, the building block
// of every mergeable accumulator (see bootstrap.h for why Poisson weights and
// fixed-point sums).
//
// add(weights, values) adds values[i] to sum i, and weights[r] * values[i]
// to sum i of replicate r, where `weights` are the resampling unit's
// poisson_weights(). A statistic that is any function of the sums (a mean, a
// ratio, a total variation distance, a Gini coefficient) then gets its point
// value from the sums and a percentile interval from the replicates.
// Merging adds sums, so shards merge to exactly the single run.
//
// Thread rules: not thread-safe; give each thread its own and merge.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/bootstrap.h"
#include "core/stats.h"

namespace recbias {

// A point estimate with its percentile bootstrap interval.
struct Estimate {
  double value = 0;
  Interval ci;
  int replicates_used = 0;  // replicates where the statistic was finite
};

// A statistic's value on the point sums and on each bootstrap replicate (NaN
// where undefined): what a paired comparison of two runs needs. Audits
// publish these for their headline metrics in the report's state
// ("replicates"), so a comparison needs no knowledge of their sums.
struct ReplicatedValue {
  double value = 0;
  std::vector<double> replicates;
};

nlohmann::json to_json(const ReplicatedValue& v);

// Paired comparison of two runs whose units AND Poisson weights are the same
// (the same plan and seed): a.value - b.value, with the percentile interval of
// the replicate-wise differences (replicate r of both resamples the same
// units). `a` and `b` are to_json(ReplicatedValue) objects from untrusted
// reports: nullopt when either is malformed, the replicate counts differ, or
// fewer than 2 differences are finite.
std::optional<Estimate> paired_difference(const nlohmann::json& a, const nlohmann::json& b, double confidence = 0.95);

class ReplicatedSums {
 public:
  ReplicatedSums() = default;
  ReplicatedSums(std::size_t n_sums, int replicates);

  std::size_t size() const { return n_; }
  int replicates() const { return replicates_; }

  // Adds a dense vector of values (size() of them).
  void add(std::span<const int> weights, std::span<const double> values);
  // Adds one value to sum `index`.
  void add_at(std::span<const int> weights, std::size_t index, double value);

  void merge(const ReplicatedSums& other);  // InternalError on a shape mismatch
  bool operator==(const ReplicatedSums& other) const = default;

  std::vector<double> totals() const;             // the point sums
  std::vector<double> replicate(int r) const;     // the sums of replicate r
  double total(std::size_t index) const;

  // statistic(totals) with the percentile interval of statistic(replicate r).
  Estimate estimate(const std::function<double(std::span<const double>)>& statistic, double confidence = 0.95) const;

  nlohmann::json to_json() const;
  static ReplicatedSums from_json(const nlohmann::json& j);  // BadInput when malformed

  // statistic(totals) and statistic(replicate r) for every r.
  ReplicatedValue replicated(const std::function<double(std::span<const double>)>& statistic) const;

 private:
  using int128 = Int128;
  static int128 to_fixed(double value);
  std::size_t n_ = 0;
  int replicates_ = 0;
  std::vector<int128> totals_;    // n
  std::vector<int128> replicate_; // replicates * n, replicate-major
};

}  // namespace recbias
