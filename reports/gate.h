// `recbias gate`: evaluate a policy against a report (and a baseline report).
//
// A policy is JSON (or the same in TOML, `policy.toml`: [[rules]] tables with
// inline tables for ratio / regression; read by toml++, toml_reader.h):
//
//   {"min_n": 100,                       // default for rules: fewer observations -> inconclusive
//    "rules": [
//      {"name": "position bias", "metric": "position.tvd", "max": 0.05, "strictness": "interval"},
//      {"metric": "accuracy.ndcg", "min": 0.3},
//      {"name": "first-position rate within four-fifths of uniform",
//       "ratio": {"numerator": "position.selection_rate.0", "denominator": "position.uniform_rate", "tau": 0.8}},
//      {"metric": "accuracy.ndcg", "regression": {"delta": 0.02, "higher_is_better": true}}]}
//
// A metric path is dot-separated inside the report's "metrics" (array
// elements by index); it names a metric object {"value", "ci", "n"} or a
// plain number (e.g. position.chi_square.p_adjusted).
//
// Rules:
// - max / min: absolute bounds. strictness "point" (default) fails when the
//   point estimate crosses the bound; "interval" fails only when the whole
//   interval lies beyond it (statistically significant violation).
// - ratio: value = numerator / denominator must lie in [tau, 1/tau]
//   (four-fifths rule for tau = 0.8); its interval, for "interval"
//   strictness, is [num_lo / den_hi, num_hi / den_lo].
// - regression (needs --baseline), {"delta": d, "higher_is_better": b,
//   "rule": "hybrid" | "non_inferiority"}. The worsening w = baseline - value
//   (or value - baseline when lower is better) gets an interval: PAIRED when
//   both reports come from the same plan and seed (same workload, dataset
//   files, seed and bootstrap replicates: the same users with the same
//   Poisson weights) and the metric is accuracy.hit_rate / ndcg / mrr — the
//   percentile interval of the replicate-wise differences from the reports'
//   states — else UNPAIRED, a normal approximation from both intervals as if
//   independent (conservative for runs that share users). The outcome says
//   which. "hybrid" (default) fails when w > d and the interval excludes 0
//   (a worsening of 0.021 with interval [0.001, 0.041] fails at d = 0.02
//   although it is compatible with less than d); "non_inferiority" fails
//   only when the whole interval lies above d (w's lower end > d).
// - drift (needs the earlier reports: `recbias gate --trend r1.json ...`),
//   {"last": N, "delta": d, "higher_is_better": b}: over the last N reports
//   (the earlier ones oldest first, then the report gated) fails when every
//   consecutive step worsened (point estimates) and the window's total
//   worsening exceeds d with its interval (paired or unpaired, as for
//   regression) excluding 0: a sustained slide that no single step shows.
//   Fewer than N reports: inconclusive.
// A rule whose metric has n < min_n (or no value) is inconclusive.
//
// Verdict: any rule failed -> exit 1; else any inconclusive -> exit 3; else 0.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/stats.h"

namespace recbias {

struct GateRule {
  std::string name;
  std::string metric;
  std::optional<double> max, min;
  std::string ratio_numerator, ratio_denominator;
  double tau = 0;  // ratio band [tau, 1/tau] when > 0
  std::optional<double> regression_delta;
  bool higher_is_better = true;
  std::string regression_rule = "hybrid";  // hybrid | non_inferiority
  std::string strictness = "point";  // point | interval
  double min_n = 0;
  int drift_last = 0;       // drift rule: the last N reports of the trend (0: no drift rule)
  double drift_delta = 0;
};

struct GatePolicy {
  std::vector<GateRule> rules;
};

enum class Verdict { kPass, kFail, kInconclusive };

struct RuleOutcome {
  const GateRule* rule = nullptr;
  Verdict verdict = Verdict::kPass;
  double value = 0;
  Interval ci{};
  std::string bound;    // "max 0.05 (interval)"
  std::string message;  // why
};

struct GateResult {
  std::vector<RuleOutcome> outcomes;
  // The report was stopped by a budget (its "incomplete" object): a failed
  // rule still fails (its interval holds for the users measured), but a
  // gate whose rules all pass is inconclusive, not passed: the configured
  // audit did not run to its end.
  bool report_incomplete = false;
  ExitCode exit_code() const;
};

// Reads a policy file; BadInput naming file, rule index and field on errors.
GatePolicy load_policy(const std::string& path);
GatePolicy parse_policy(const nlohmann::json& j, const std::string& where);

// The change later - earlier of a metric between two reports, with its 95%
// interval: paired (the percentile interval of replicate-wise differences)
// when the reports come from the same plan and seed and publish the metric
// per replicate in state.replicates, else unpaired (a normal approximation
// from both intervals, as if independent). BadInput for an unknown path.
struct MetricChange {
  double value = 0;
  Interval ci{};
  bool paired = false;
};
MetricChange metric_change(const nlohmann::json& later, const nlohmann::json& earlier, const std::string& metric);

// Every metric path in a report (for error messages and `recbias report --paths`).
std::vector<std::string> metric_paths(const nlohmann::json& report);

// Evaluates every rule. BadInput for an unknown metric path (listing the
// available ones) or a regression rule without a baseline.
// `trend`: the earlier reports, oldest first, for drift rules (optional).
GateResult evaluate_gate(const GatePolicy& policy, const nlohmann::json& report, const nlohmann::json* baseline,
                         const std::vector<nlohmann::json>* trend = nullptr);

std::string verdict_name(Verdict v);

}  // namespace recbias
