#include "audits/comparison.h"

#include <cmath>

#include "core/replicated_sums.h"
#include "core/stats.h"

namespace recbias {
namespace {

using nlohmann::ordered_json;

ordered_json at_path(const ordered_json& metrics, std::initializer_list<const char*> path) {
  const ordered_json* node = &metrics;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
  }
  return *node;
}

double number(const ordered_json& v) { return v.is_number() ? v.get<double>() : std::nan(""); }

ordered_json ratio(const ordered_json& value, const ordered_json& base) {
  if (!value.is_object() || !base.is_object()) return nullptr;
  const double v = number(value["value"]), b = number(base["value"]);
  const double v_lo = number(value["ci"][0]), v_hi = number(value["ci"][1]);
  const double b_lo = number(base["ci"][0]), b_hi = number(base["ci"][1]);
  auto finite = [](double x) { return std::isfinite(x) ? ordered_json(x) : ordered_json(nullptr); };
  if (!(b > 0)) return nullptr;
  return {{"value", finite(v / b)}, {"ci", {finite(b_hi > 0 ? v_lo / b_hi : NAN), finite(b_lo > 0 ? v_hi / b_lo : NAN)}}};
}

// Paired NDCG difference from the two runs' accuracy replicates (sums of hit,
// NDCG, reciprocal rank, count per replicate); null when not pairable.
ordered_json paired_ndcg_difference(const nlohmann::json& run, const nlohmann::json& base, double confidence) {
  try {
    if (run.is_null() || base.is_null() || run.at("base_requests") != base.at("base_requests")) return nullptr;
    const auto a = ReplicatedSums::from_json(run.at("accuracy_cost").at("accuracy"));
    const auto b = ReplicatedSums::from_json(base.at("accuracy_cost").at("accuracy"));
    if (a.size() != 4) return nullptr;
    const auto d = a.paired_difference(b, [](std::span<const double> s) { return s[3] > 0 ? s[1] / s[3] : std::nan(""); }, confidence);
    if (!d) return nullptr;
    return {{"value", d->value}, {"ci", {d->ci.lo, d->ci.hi}}, {"n", a.total(3)}};
  } catch (const std::exception&) {
    return nullptr;
  }
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
    row["position_tvd"] = at_path(m, {"position", "tvd"});
    row["position_consistency"] = at_path(m, {"position", "consistency"});
    row["popularity_arp"] = at_path(m, {"popularity", "arp"});
    row["spearman_popularity_model"] = at_path(m, {"popularity", "spearman_popularity_model"});
    row["ndcg"] = at_path(m, {"accuracy", "ndcg"});
    row["hit_rate"] = at_path(m, {"accuracy", "hit_rate"});
    row["calls_per_recommendation"] = at_path(m, {"cost", "calls_per_delivered"});
    row["tokens_per_recommendation"] = at_path(m, {"cost", "tokens_per_delivered"});
    row["calls_multiplier"] = ratio(at_path(m, {"cost", "calls_per_delivered"}), at_path(base, {"cost", "calls_per_delivered"}));
    row["tokens_multiplier"] = ratio(at_path(m, {"cost", "tokens_per_delivered"}), at_path(base, {"cost", "tokens_per_delivered"}));
    row["latency_multiplier"] = ratio(at_path(m, {"cost", "latency_ms_mean"}), at_path(base, {"cost", "latency_ms_mean"}));
    const auto paired = &run == &runs[0] ? ordered_json(nullptr) : paired_ndcg_difference(run.state, runs[0].state, confidence);
    row["ndcg_difference"] = paired;
    row["comparison"] = &run == &runs[0] ? "baseline" : paired.is_null() ? "unpaired" : "paired (same users and bootstrap weights)";
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace recbias
