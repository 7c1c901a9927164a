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

// The accuracy sums per user, and the cost sums per user.
enum AccuracySlot : std::size_t { kHit, kNdcg, kReciprocalRank, kAccuracyUsers, kAccuracySlots };
enum CostSlot : std::size_t { kCalls, kPromptTokens, kCompletionTokens, kRetries, kDelivered, kLatencyMs, kCostSlots };
constexpr const char* kAccuracyNames[kAccuracyUsers] = {"hit_rate", "ndcg", "mrr"};
std::function<double(std::span<const double>)> accuracy_statistic(std::size_t i) {
  return [i](std::span<const double> s) { return s[kAccuracyUsers] > 0 ? s[i] / s[kAccuracyUsers] : std::nan(""); };
}

}  // namespace

AccuracyCostAccumulator::AccuracyCostAccumulator(int replicates) : accuracy_(kAccuracySlots, replicates), cost_(kCostSlots, replicates) {}

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
    double values[kAccuracySlots];
    values[kHit] = hit ? 1.0 : 0.0;
    values[kNdcg] = hit ? 1.0 / std::log2(rank + 1.0) : 0.0;
    values[kReciprocalRank] = rank > 0 ? 1.0 / rank : 0.0;
    values[kAccuracyUsers] = 1.0;
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
  double values[kCostSlots];
  values[kCalls] = calls;
  values[kPromptTokens] = prompt;
  values[kCompletionTokens] = completion;
  values[kRetries] = retries;
  values[kDelivered] = delivered ? 1.0 : 0.0;
  values[kLatencyMs] = latency;
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
  const double users = accuracy_.total(kAccuracyUsers);
  out["users"] = users;
  for (std::size_t i = 0; i < kAccuracyUsers; ++i) {
    const auto e = accuracy_.estimate(accuracy_statistic(i), confidence);
    out[kAccuracyNames[i]] = metric_json(e.value, e.ci, users);
  }
  return out;
}

void AccuracyCostAccumulator::replicated(std::map<std::string, ReplicatedValue>& out) const {
  for (std::size_t i = 0; i < kAccuracyUsers; ++i) out[std::string("accuracy.") + kAccuracyNames[i]] = accuracy_.replicated(accuracy_statistic(i));
}

nlohmann::ordered_json AccuracyCostAccumulator::cost(double confidence) const {
  nlohmann::ordered_json out;
  const auto totals = cost_.totals();
  out["calls"] = totals[kCalls];
  out["prompt_tokens"] = totals[kPromptTokens];
  out["completion_tokens"] = totals[kCompletionTokens];
  out["retries"] = totals[kRetries];
  out["delivered"] = totals[kDelivered];
  out["calls_per_delivered"] = [&] {
    const auto e = cost_.estimate([](std::span<const double> s) { return s[kDelivered] > 0 ? s[kCalls] / s[kDelivered] : std::nan(""); }, confidence);
    return metric_json(e.value, e.ci, totals[kDelivered]);
  }();
  out["tokens_per_delivered"] = [&] {
    const auto e = cost_.estimate(
        [](std::span<const double> s) { return s[kDelivered] > 0 ? (s[kPromptTokens] + s[kCompletionTokens]) / s[kDelivered] : std::nan(""); },
        confidence);
    return metric_json(e.value, e.ci, totals[kDelivered]);
  }();
  const auto mean_latency =
      cost_.estimate([](std::span<const double> s) { return s[kCalls] > 0 ? s[kLatencyMs] / s[kCalls] : std::nan(""); }, confidence);
  out["latency_ms_mean"] = metric_json(mean_latency.value, mean_latency.ci, totals[kCalls]);
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
