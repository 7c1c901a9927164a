// Counters and histograms of the serving path, rendered in the Prometheus
// text exposition format (version 0.0.4). Thread-safe; cheap to update.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace recbias {

// A cumulative histogram with fixed upper bounds (the +Inf bucket implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // "name_bucket{le="..."} n" lines, then name_sum and name_count.
  std::string render(const std::string& name, const std::string& help) const;
  std::uint64_t count() const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<std::uint64_t> counts_;  // per bucket, not cumulative; last = +Inf
  double sum_ = 0;
  std::uint64_t total_ = 0;
};

struct ServeMetrics {
  std::atomic<std::uint64_t> requests{0};        // POST /v1/rank received
  std::atomic<std::uint64_t> bad_requests{0};    // answered 400
  std::atomic<std::uint64_t> failed_requests{0}; // answered 5xx, or a ranking with an error
  std::atomic<std::uint64_t> batches{0};         // calls of the model
  std::atomic<std::int64_t> in_flight{0};        // requests being answered now
  Histogram latency_seconds{{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
  Histogram batch_size{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}};

  std::string render() const;
};

}  // namespace recbias
