#include "serve/metrics.h"

#include <algorithm>

#include <fmt/format.h>

namespace recbias {

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  std::lock_guard lock(mu_);
  ++counts_[bucket];
  sum_ += value;
  ++total_;
}

std::uint64_t Histogram::count() const {
  std::lock_guard lock(mu_);
  return total_;
}

std::string Histogram::render(const std::string& name, const std::string& help) const {
  std::lock_guard lock(mu_);
  std::string out = fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, total_, name, sum_, name, total_);
  return out;
}

std::string ServeMetrics::render() const {
  std::string out;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  counter("recbias_requests_total", "Ranking requests received (POST /v1/rank).", requests.load());
  counter("recbias_request_errors_total", "Requests answered with an error (4xx, 5xx or a failed ranking).",
          bad_requests.load() + failed_requests.load());
  counter("recbias_bad_requests_total", "Requests rejected as malformed (400).", bad_requests.load());
  counter("recbias_batches_total", "Calls of the model, each with one dynamically formed batch.", batches.load());
  out += fmt::format("# HELP recbias_in_flight Requests being answered now.\n# TYPE recbias_in_flight gauge\nrecbias_in_flight {}\n",
                     in_flight.load());
  out += latency_seconds.render("recbias_request_latency_seconds", "Time from receiving a request to its answer.");
  out += batch_size.render("recbias_batch_size", "Requests per model call.");
  return out;
}

}  // namespace recbias
