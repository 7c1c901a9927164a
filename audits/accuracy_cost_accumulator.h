// Accuracy, on the identity variant: HR@k, NDCG@k (1 / log2(1 + rank)) and MRR
// of the held-out positive, k = the request's k; bootstrap over users.
//
// Cost, over every distinct call: model calls, prompt and completion tokens,
// retries, latency p50 / p95 / p99 (from a log-bucket histogram with 1%
// resolution, mergeable), and calls and tokens per delivered recommendation
// (a usable identity answer).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/outcome.h"
#include "core/replicated_sums.h"

namespace recbias {

class AccuracyCostAccumulator {
 public:
  explicit AccuracyCostAccumulator(int replicates);
  void add(const BaseOutcome& outcome);
  void merge(const AccuracyCostAccumulator& other);
  bool operator==(const AccuracyCostAccumulator& other) const = default;
  nlohmann::ordered_json accuracy(double confidence) const;
  nlohmann::ordered_json cost(double confidence) const;
  // accuracy.hit_rate, accuracy.ndcg, accuracy.mrr on the point sums and every replicate.
  void replicated(std::map<std::string, ReplicatedValue>& out) const;
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);

  // Bucket of a latency in ms: 0 for <= 0.01 ms, else 1 + floor(log(ms / 0.01) / log(1.01)).
  static int latency_bucket(double ms);
  static double bucket_value(int bucket);  // the bucket's geometric middle, ms

 private:
  ReplicatedSums accuracy_;  // hit, ndcg, reciprocal rank, users
  ReplicatedSums cost_;      // calls, prompt tokens, completion tokens, retries, delivered, latency ms
  std::vector<std::int64_t> latency_histogram_;
  std::int64_t latency_count_ = 0;
};

}  // namespace recbias
