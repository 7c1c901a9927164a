#include "audits/accuracy_cost_accumulator.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/rng.h"
#include "core/text.h"

namespace recbias {
namespace {

// The accuracy sums: hit, NDCG, reciprocal rank, users.
constexpr const char* kAccuracyNames[3] = {"hit_rate", "ndcg", "mrr"};
std::function<double(std::span<const double>)> accuracy_statistic(std::size_t i) {
  return [i](std::span<const double> s) { return s[3] > 0 ? s[i] / s[3] : std::nan(""); };
}

}  // namespace

AccuracyCostAccumulator::AccuracyCostAccumulator(int replicates) : accuracy_(4, replicates), cost_(6, replicates) {}

int AccuracyCostAccumulator::latency_bucket(double ms) {
  if (!(ms > 0.01)) return 0;
  return 1 + static_cast<int>(std::floor(std::log(ms / 0.01) / std::log(1.01)));
}

double AccuracyCostAccumulator::bucket_value(int bucket) {
  if (bucket == 0) return 0.0;
  return 0.01 * std::pow(1.01, bucket - 0.5);
}

void AccuracyCostAccumulator::add(const BaseOutcome& o) {
  const auto& weights = *o.weights;
  const auto& identity = o.response(o.plan->identity);
  const bool delivered = usable(identity);
  if (delivered) {
    const int rank = rank_of(identity.ranking, o.base->positive_position);
    const bool hit = rank > 0 && rank <= o.base->request.k;
    const double values[4] = {hit ? 1.0 : 0.0, hit ? 1.0 / std::log2(rank + 1.0) : 0.0, rank > 0 ? 1.0 / rank : 0.0, 1.0};
    accuracy_.add(weights, values);
  }
  double calls = 0, prompt = 0, completion = 0, retries = 0, latency = 0;
  for (auto call : o.plan->calls) {
    const auto& r = o.response(call);
    calls += static_cast<double>(r.usage.calls);
    prompt += static_cast<double>(r.usage.prompt_tokens);
    completion += static_cast<double>(r.usage.completion_tokens);
    retries += static_cast<double>(r.usage.retries);
    latency += r.usage.latency_ms;
    const auto bucket = static_cast<std::size_t>(latency_bucket(r.usage.latency_ms));
    if (bucket >= latency_histogram_.size()) latency_histogram_.resize(bucket + 1, 0);
    ++latency_histogram_[bucket];
    ++latency_count_;
  }
  const double values[6] = {calls, prompt, completion, retries, delivered ? 1.0 : 0.0, latency};
  cost_.add(weights, values);
}

void AccuracyCostAccumulator::merge(const AccuracyCostAccumulator& other) {
  accuracy_.merge(other.accuracy_);
  cost_.merge(other.cost_);
  if (other.latency_histogram_.size() > latency_histogram_.size()) latency_histogram_.resize(other.latency_histogram_.size(), 0);
  for (std::size_t i = 0; i < other.latency_histogram_.size(); ++i) latency_histogram_[i] += other.latency_histogram_[i];
  latency_count_ += other.latency_count_;
}

nlohmann::ordered_json AccuracyCostAccumulator::accuracy(double confidence) const {
  nlohmann::ordered_json out;
  const double users = accuracy_.total(3);
  out["users"] = users;
  for (std::size_t i = 0; i < 3; ++i) {
    const auto e = accuracy_.estimate(accuracy_statistic(i), confidence);
    out[kAccuracyNames[i]] = metric_json(e.value, e.ci, users);
  }
  return out;
}

void AccuracyCostAccumulator::replicated(std::map<std::string, ReplicatedValue>& out) const {
  for (std::size_t i = 0; i < 3; ++i) out[std::string("accuracy.") + kAccuracyNames[i]] = accuracy_.replicated(accuracy_statistic(i));
}

nlohmann::ordered_json AccuracyCostAccumulator::cost(double confidence) const {
  nlohmann::ordered_json out;
  const auto totals = cost_.totals();
  out["calls"] = totals[0];
  out["prompt_tokens"] = totals[1];
  out["completion_tokens"] = totals[2];
  out["retries"] = totals[3];
  out["delivered"] = totals[4];
  auto per_delivered = [&](std::size_t i) {
    const auto e = cost_.estimate([i](std::span<const double> s) { return s[4] > 0 ? s[i] / s[4] : std::nan(""); }, confidence);
    return metric_json(e.value, e.ci, totals[4]);
  };
  out["calls_per_delivered"] = per_delivered(0);
  out["tokens_per_delivered"] = [&] {
    const auto e = cost_.estimate([](std::span<const double> s) { return s[4] > 0 ? (s[1] + s[2]) / s[4] : std::nan(""); }, confidence);
    return metric_json(e.value, e.ci, totals[4]);
  }();
  const auto mean_latency = cost_.estimate([](std::span<const double> s) { return s[0] > 0 ? s[5] / s[0] : std::nan(""); }, confidence);
  out["latency_ms_mean"] = metric_json(mean_latency.value, mean_latency.ci, totals[0]);
  // Percentiles from the histogram: exact to the 1% bucket width.
  nlohmann::ordered_json latency;
  for (double q : {0.5, 0.95, 0.99}) {
    double value = std::nan("");
    if (latency_count_ > 0) {
      const auto target = static_cast<std::int64_t>(std::ceil(q * static_cast<double>(latency_count_)));
      std::int64_t seen = 0;
      for (std::size_t b = 0; b < latency_histogram_.size(); ++b) {
        seen += latency_histogram_[b];
        if (seen >= std::max<std::int64_t>(target, 1)) {
          value = bucket_value(static_cast<int>(b));
          break;
        }
      }
    }
    latency[fmt::format("p{}", static_cast<int>(q * 100))] = std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json(nullptr);
  }
  latency["resolution"] = "1% log buckets";
  out["latency_ms"] = latency;
  return out;
}

nlohmann::json AccuracyCostAccumulator::state() const {
  return {{"accuracy", accuracy_.to_json()}, {"cost", cost_.to_json()}, {"latency_histogram", latency_histogram_},
          {"latency_count", latency_count_}};
}

void AccuracyCostAccumulator::load_state(const nlohmann::json& j) {
  try {
    accuracy_ = ReplicatedSums::from_json(j.at("accuracy"));
    cost_ = ReplicatedSums::from_json(j.at("cost"));
    latency_histogram_ = j.at("latency_histogram").get<std::vector<std::int64_t>>();
    latency_count_ = j.at("latency_count");
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("accuracy/cost audit state: {}", e.what()));
  }
}

}  // namespace recbias
