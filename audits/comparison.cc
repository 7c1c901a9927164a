#include "audits/comparison.h"

#include <cmath>

#include "core/metric.h"
#include "core/replicated_sums.h"
#include "core/stats.h"

namespace recbias {
namespace {

using nlohmann::ordered_json;

ordered_json at_path(const ordered_json& metrics, const char* dotted) {
  const auto* node = json_at_path(metrics, dotted);
  return node ? *node : ordered_json(nullptr);
}

// value / base with the conservative interval [lo_v / hi_b, hi_v / lo_b] (core/metric.h reads both).
ordered_json ratio(const ordered_json& value, const ordered_json& base) {
  const auto v = metric_from_json(value), b = metric_from_json(base);
  if (!v || !b || !value.is_object() || !base.is_object() || !(b->value > 0)) return nullptr;
  auto finite = [](double x) { return std::isfinite(x) ? ordered_json(x) : ordered_json(nullptr); };
  return {{"value", finite(v->value / b->value)},
          {"ci", {finite(b->ci.hi > 0 ? v->ci.lo / b->ci.hi : NAN), finite(b->ci.lo > 0 ? v->ci.hi / b->ci.lo : NAN)}}};
}

// The paired difference run - base of a metric from the runs' replicated
// values (state.replicates), when both runs share plan and seed; else null.
ordered_json paired(const TradeoffRun& run, const TradeoffRun& base, const char* metric, double confidence) {
  if (!run.state.is_object() || !base.state.is_object() || !run.state.contains("replicates") || !base.state.contains("replicates"))
    return nullptr;
  if (run.state.value("base_requests", -1) != base.state.value("base_requests", -2)) return nullptr;
  const auto& a = run.state["replicates"];
  const auto& b = base.state["replicates"];
  if (!a.is_object() || !b.is_object() || !a.contains(metric) || !b.contains(metric)) return nullptr;
  const auto d = paired_difference(a[metric], b[metric], confidence);
  if (!d) return nullptr;
  return {{"value", d->value}, {"ci", {d->ci.lo, d->ci.hi}}};
}

}  // namespace

ordered_json tradeoff_table(const std::vector<TradeoffRun>& runs, double confidence) {
  ordered_json rows = ordered_json::array();
  if (runs.empty()) return rows;
  const auto& base = runs[0].metrics;
  for (const auto& run : runs) {
    const auto& m = run.metrics;
    ordered_json row;
    row["model"] = run.model;
    row["role"] = run.role;
    row["position_tvd"] = at_path(m, "position.tvd");
    row["position_consistency"] = at_path(m, "position.consistency");
    row["popularity_arp"] = at_path(m, "popularity.arp");
    row["spearman_popularity_model"] = at_path(m, "popularity.spearman_popularity_model");
    row["ndcg"] = at_path(m, "accuracy.ndcg");
    row["hit_rate"] = at_path(m, "accuracy.hit_rate");
    row["calls_per_recommendation"] = at_path(m, "cost.calls_per_delivered");
    row["tokens_per_recommendation"] = at_path(m, "cost.tokens_per_delivered");
    row["calls_multiplier"] = ratio(at_path(m, "cost.calls_per_delivered"), at_path(base, "cost.calls_per_delivered"));
    row["tokens_multiplier"] = ratio(at_path(m, "cost.tokens_per_delivered"), at_path(base, "cost.tokens_per_delivered"));
    row["latency_multiplier"] = ratio(at_path(m, "cost.latency_ms_mean"), at_path(base, "cost.latency_ms_mean"));
    // Replicate-wise differences from the baseline row, when the runs share users and bootstrap weights.
    const bool baseline = &run == &runs[0];
    auto difference = [&](const char* metric) { return baseline ? ordered_json(nullptr) : paired(run, runs[0], metric, confidence); };
    row["ndcg_difference"] = difference("accuracy.ndcg");
    row["position_tvd_difference"] = difference("position.tvd");
    row["popularity_arp_difference"] = difference("popularity.arp");
    const bool any = !row["ndcg_difference"].is_null() || !row["position_tvd_difference"].is_null() || !row["popularity_arp_difference"].is_null();
    row["comparison"] = baseline ? "baseline" : any ? "paired (same users and bootstrap weights)" : "unpaired";
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace recbias
