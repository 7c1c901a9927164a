// Streaming, mergeable uncertainty: exact sums and Poisson-bootstrap
// replicates.
//
// Why Poisson: the classic bootstrap draws n units with replacement, which
// needs all n up front. The Poisson bootstrap (Hanley & MacGibbon 2006;
// Chamandy et al. 2012, "Estimating uncertainty for massive data streams")
// gives each unit an independent Poisson(1) weight per replicate instead, so
// each unit's contribution is known the moment it arrives and shards combine
// by addition. Weights are drawn from Rng::stream(seed, unit key), so a unit
// gets the same weights whichever shard or order it is processed in.
//
// Why exact sums: floating-point addition is not associative, so summing the
// same values in shard order and in single-run order differs in the last bits.
// ExactSum keeps a 128-bit fixed-point total (resolution 2^-48 ≈ 3.6e-15),
// which is associative; merged shards therefore equal the single run bit
// for bit.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/stats.h"

namespace recbias {

// Lossless decimal text of a 128-bit integer, and back (BadInput on
// anything but an optional '-' and at most 40 digits).
__extension__ using Int128 = __int128;
std::string int128_to_decimal(Int128 value);
Int128 int128_from_decimal(const std::string& text);

// The fixed point of every exact sum (ExactSum, ReplicatedSums): a value is
// rounded once to a multiple of 2^-48; |value| must stay below 2^62, which
// leaves headroom for ~2^17 additions of the largest value.
inline constexpr double kFixedPointScale = 0x1.0p48;
inline constexpr double kFixedPointLimit = 0x1.0p62;
inline bool fits_fixed_point(double value) { return std::isfinite(value) && std::abs(value) < kFixedPointLimit; }

// Order-independent sum of doubles. Each value is rounded once to a multiple
// of 2^-48; |value| must stay below 2^62 (throws BadInput otherwise, and for
// NaN/inf).
class ExactSum {
 public:
  void add(double value);
  void add_scaled(double value, int weight);  // weight * value, exactly (weight >= 0)
  void merge(const ExactSum& other) { total_ += other.total_; }
  double value() const;
  bool operator==(const ExactSum& other) const { return total_ == other.total_; }

  // Serialised as a decimal string of the fixed-point integer (lossless).
  std::string to_string() const;
  static ExactSum from_string(const std::string& text);  // throws BadInput

 private:
  Int128 total_ = 0;
};

// Count, sum and sum of squares of a value, exactly (ExactSum), for a mean
// with a normal-approximation interval mean ± z·s/√n. Used where a
// bootstrap would cost too much for what it adds: per-position and per-rank
// breakdowns, and per-pair similarities (hundreds of pairs).
class MomentSums {
 public:
  void add(double value);
  void merge(const MomentSums& other);
  bool operator==(const MomentSums& other) const = default;
  std::int64_t n() const { return n_; }
  double mean() const;                                // NaN when n == 0
  Interval interval(double confidence = 0.95) const;  // NaN bounds when n < 2
  nlohmann::json to_json() const;
  static MomentSums from_json(const nlohmann::json& j);  // BadInput when malformed

 private:
  std::int64_t n_ = 0;
  ExactSum sum_;
  ExactSum sum_sq_;
};

// Poisson(1) weights of one resampling unit (usually a base request) for
// replicates 0..replicates-1. Deterministic in (seed, unit_key).
std::vector<int> poisson_weights(std::uint64_t seed, std::uint64_t unit_key, int replicates);

// Mean of a per-unit value with Poisson-bootstrap replicates of the mean
// (a ratio estimator: sum w*x / sum w per replicate). Mergeable.
//
// Thread rules: not thread-safe; give each thread its own and merge.
class BootstrapMean {
 public:
  // replicates: number of bootstrap replicates (default 200, enough for a 95%
  // percentile interval to within about ±0.5 of a standard error).
  explicit BootstrapMean(int replicates = 200, std::uint64_t seed = 0);

  // Adds one unit's value. `unit_key` identifies the resampling unit
  // (stable_hash of the request id); the same key always gets the same weights.
  void add(std::uint64_t unit_key, double value);
  // Adds with precomputed weights (from poisson_weights), when one unit feeds several statistics.
  void add(const std::vector<int>& weights, double value);

  // Throws InternalError when replicates or seed differ.
  void merge(const BootstrapMean& other);

  std::int64_t n() const { return n_; }
  double mean() const;                                // NaN when n == 0
  Interval interval(double confidence = 0.95) const;  // percentile interval; [NaN, NaN] when n == 0
  std::vector<double> replicate_means() const;        // replicates with zero total weight are skipped
  int replicates() const { return replicates_; }
  std::uint64_t seed() const { return seed_; }

  bool operator==(const BootstrapMean& other) const;

  nlohmann::json to_json() const;
  static BootstrapMean from_json(const nlohmann::json& j);  // throws BadInput

 private:
  int replicates_;
  std::uint64_t seed_;
  std::int64_t n_ = 0;
  ExactSum sum_;
  std::vector<ExactSum> weighted_sum_;        // per replicate: sum of w * x
  std::vector<std::int64_t> weight_total_;    // per replicate: sum of w
};

}  // namespace recbias
