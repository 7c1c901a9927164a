#include "reports/gate.h"

#include <cmath>
#include <map>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/file_io.h"
#include "core/json_errors.h"
#include "core/json_io.h"
#include "core/metric.h"
#include "core/replicated_sums.h"
#include "core/text.h"
#include "reports/toml_reader.h"

namespace recbias {
namespace {

using nlohmann::json;

using Resolved = Metric;

void collect_paths(const json& node, const std::string& path, std::vector<std::string>& out) {
  if (node.is_object()) {
    if (node.contains("value") && node.contains("ci")) {
      out.push_back(path);
      return;
    }
    for (const auto& [key, child] : node.items()) {
      if (key == "transition_counts") continue;
      collect_paths(child, path.empty() ? key : path + "." + key, out);
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) collect_paths(node[i], path + "." + std::to_string(i), out);
  } else if (node.is_number()) {
    out.push_back(path);
  }
}

// The metric at `path` below the report's "metrics" (core/metric.h: every access checked).
Resolved resolve(const json& report, const std::string& path, const char* which) {
  const auto metrics = report.is_object() ? report.find("metrics") : report.end();
  if (metrics != report.end())
    if (const auto m = metric_at(*metrics, path)) return *m;
  const auto paths = metric_paths(report);
  throw BadInput(fmt::format("{}: unknown metric path \"{}\"; available paths: {}", which, path, fmt::join(paths, ", ")));
}

std::string number(double x) { return std::isfinite(x) ? fmt::format("{:.4g}", x) : "n/a"; }

}  // namespace

std::string verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "pass";
    case Verdict::kFail: return "FAIL";
    case Verdict::kInconclusive: return "inconclusive";
  }
  return "?";
}

ExitCode GateResult::exit_code() const {
  bool inconclusive = false;
  for (const auto& o : outcomes) {
    if (o.verdict == Verdict::kFail) return ExitCode::kGateFailed;
    inconclusive = inconclusive || o.verdict == Verdict::kInconclusive;
  }
  return inconclusive || report_incomplete ? ExitCode::kInconclusive : ExitCode::kOk;
}

std::vector<std::string> metric_paths(const json& report) {
  std::vector<std::string> out;
  if (report.contains("metrics")) collect_paths(report["metrics"], "", out);
  return out;
}

static GatePolicy parse_policy_impl(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("rules") || !j["rules"].is_array() || j["rules"].empty())
    throw BadInput(fmt::format("{}: expected an object with a non-empty \"rules\" array", where));
  GatePolicy policy;
  const double default_min_n = j.contains("min_n") && j["min_n"].is_number() ? j["min_n"].get<double>() : 0;
  static const std::vector<std::string> top_level = {"rules", "min_n", "_comment"};
  for (const auto& [key, value] : j.items())
    if (std::find(top_level.begin(), top_level.end(), key) == top_level.end())
      throw BadInput(fmt::format("{}: unknown field \"{}\"; known fields: rules, min_n, _comment", where, key));
  for (std::size_t i = 0; i < j["rules"].size(); ++i) {
    const auto& r = j["rules"][i];
    const auto at = fmt::format("{}: rules[{}]", where, i);
    if (!r.is_object()) throw BadInput(fmt::format("{}: expected an object", at));
    static const std::vector<std::string> known = {"name", "metric", "max", "min", "ratio", "regression", "drift", "strictness", "min_n"};
    for (const auto& [key, value] : r.items())
      if (std::find(known.begin(), known.end(), key) == known.end())
        throw BadInput(fmt::format("{}: unknown field \"{}\"; known fields: {}", at, key, fmt::join(known, ", ")));
    GateRule rule;
    auto number_field = [&](const json& obj, const char* field) {
      if (!obj.at(field).is_number()) throw BadInput(fmt::format("{}: field {}: found {}, expected a number", at, field, obj.at(field).dump()));
      return obj.at(field).get<double>();
    };
    if (r.contains("metric")) {
      if (!r["metric"].is_string()) throw BadInput(fmt::format("{}: field metric: expected a metric path string", at));
      rule.metric = r["metric"];
    }
    if (r.contains("max")) rule.max = number_field(r, "max");
    if (r.contains("min")) rule.min = number_field(r, "min");
    if (r.contains("min_n")) rule.min_n = number_field(r, "min_n");
    else rule.min_n = default_min_n;
    if (r.contains("strictness")) {
      rule.strictness = r["strictness"].is_string() ? r["strictness"].get<std::string>() : "";
      if (rule.strictness != "point" && rule.strictness != "interval")
        throw BadInput(fmt::format("{}: field strictness: found {}, expected \"point\" or \"interval\"", at, r["strictness"].dump()));
    }
    if (r.contains("ratio")) {
      const auto& q = r["ratio"];
      if (!q.is_object() || !q.contains("numerator") || !q.contains("denominator") || !q.contains("tau") || !q["numerator"].is_string() ||
          !q["denominator"].is_string())
        throw BadInput(fmt::format("{}: field ratio: expected {{\"numerator\": path, \"denominator\": path, \"tau\": 0.8}}", at));
      rule.ratio_numerator = q["numerator"];
      rule.ratio_denominator = q["denominator"];
      rule.tau = number_field(q, "tau");
      if (!(rule.tau > 0 && rule.tau <= 1)) throw BadInput(fmt::format("{}: field ratio.tau: found {}, expected a number in (0, 1]", at, rule.tau));
      if (rule.metric.empty()) rule.metric = rule.ratio_numerator + " / " + rule.ratio_denominator;
    }
    if (r.contains("regression")) {
      const auto& g = r["regression"];
      if (!g.is_object() || !g.contains("delta")) throw BadInput(fmt::format("{}: field regression: expected {{\"delta\": 0.02, \"higher_is_better\": true}}", at));
      rule.regression_delta = number_field(g, "delta");
      if (g.contains("higher_is_better")) {
        if (!g["higher_is_better"].is_boolean()) throw BadInput(fmt::format("{}: field regression.higher_is_better: expected true or false", at));
        rule.higher_is_better = g["higher_is_better"];
      }
      if (g.contains("rule")) {
        if (!g["rule"].is_string() || (g["rule"] != "hybrid" && g["rule"] != "non_inferiority"))
          throw BadInput(fmt::format("{}: field regression.rule: found {}, expected \"hybrid\" or \"non_inferiority\"", at, g["rule"].dump()));
        rule.regression_rule = g["rule"];
      }
      for (const auto& [key, value] : g.items())
        if (key != "delta" && key != "higher_is_better" && key != "rule")
          throw BadInput(fmt::format("{}: field regression: unknown key \"{}\"; known keys: delta, higher_is_better, rule", at, key));
    }
    if (r.contains("drift")) {
      const auto& d = r["drift"];
      if (!d.is_object() || !d.contains("last") || !d.contains("delta"))
        throw BadInput(fmt::format("{}: field drift: expected {{\"last\": 3, \"delta\": 0.01, \"higher_is_better\": true}}", at));
      const double last = number_field(d, "last");
      if (!(last >= 2 && last <= 1000 && last == std::floor(last)))
        throw BadInput(fmt::format("{}: field drift.last: found {}, expected a whole number of reports from 2 to 1000", at, number(last)));
      rule.drift_last = static_cast<int>(last);
      rule.drift_delta = number_field(d, "delta");
      if (!(rule.drift_delta >= 0)) throw BadInput(fmt::format("{}: field drift.delta: found {}, expected a number >= 0", at, number(rule.drift_delta)));
      if (d.contains("higher_is_better")) {
        if (!d["higher_is_better"].is_boolean()) throw BadInput(fmt::format("{}: field drift.higher_is_better: expected true or false", at));
        rule.higher_is_better = d["higher_is_better"];
      }
      for (const auto& [key, value] : d.items())
        if (key != "last" && key != "delta" && key != "higher_is_better")
          throw BadInput(fmt::format("{}: field drift: unknown key \"{}\"; known keys: last, delta, higher_is_better", at, key));
    }
    if (rule.metric.empty()) throw BadInput(fmt::format("{}: missing field \"metric\" (or \"ratio\")", at));
    if (!rule.max && !rule.min && rule.tau == 0 && !rule.regression_delta && rule.drift_last == 0)
      throw BadInput(fmt::format("{}: the rule checks nothing; give max, min, ratio, regression or drift", at));
    rule.name = r.contains("name") && r["name"].is_string() ? r["name"].get<std::string>() : rule.metric;
    policy.rules.push_back(std::move(rule));
  }
  return policy;
}

GatePolicy parse_policy(const json& j, const std::string& where) {
  return with_json_errors(where, [&] { return parse_policy_impl(j, where); });
}

GatePolicy load_policy(const std::string& path) {
  const auto text = read_whole_file(path);
  if (!text) throw BadInput(fmt::format("cannot open policy {}", path));
  if (path.ends_with(".toml")) {
    std::map<std::string, int> lines;
    const auto j = parse_toml(*text, path, &lines);
    try {
      return parse_policy(j, path);
    } catch (const BadInput& e) {
      // parse_policy names the rule and field ("<path>: rules[1]: field max:
      // ..."); a TOML file also gets the line that holds them.
      static const std::regex located(R"re(rules\[(\d+)\](?:: (?:field ([A-Za-z_.]+)|unknown field "([^"]+)"))?)re");
      const std::string message = e.what();
      std::smatch m;
      if (!message.starts_with(path + ": ") || !std::regex_search(message, m, located)) throw;
      const std::string rule = "rules." + m[1].str();
      const std::string field = m[2].matched ? m[2].str() : m[3].matched ? m[3].str() : "";
      auto line = lines.find(field.empty() ? rule : rule + "." + field);
      if (line == lines.end()) line = lines.find(rule);
      if (line == lines.end()) throw;
      throw BadInput(fmt::format("{}:{}: {}", path, line->second, message.substr(path.size() + 2)));
    }
  }
  return parse_policy(parse_json(*text, path), path);
}

// The paired difference value - baseline of a metric, from the replicated
// values the audits publish in the reports' states (state.replicates), when
// the reports come from the same plan and seed; else nullopt (unpaired).
static std::optional<Estimate> paired_metric_difference(const json& report, const json& baseline, const std::string& metric) {
  try {
    for (const char* key : {"seed", "bootstrap_replicates"})
      if (report.at("config").at(key) != baseline.at("config").at(key)) return std::nullopt;
    if (report.at("provenance").at("workload") != baseline.at("provenance").at("workload")) return std::nullopt;
    if (report.at("provenance").at("dataset").at("sha256") != baseline.at("provenance").at("dataset").at("sha256")) return std::nullopt;
    if (report.at("state").at("base_requests") != baseline.at("state").at("base_requests")) return std::nullopt;
    return paired_difference(report.at("state").at("replicates").at(metric), baseline.at("state").at("replicates").at(metric));
  } catch (const json::exception&) {
    return std::nullopt;  // no state, or no replicated values for this metric: compare unpaired
  }
}

static MetricChange metric_change_impl(const json& later, const json& earlier, const std::string& metric) {
  const auto a = resolve(later, metric, "report");
  const auto b = resolve(earlier, metric, "baseline");
  if (const auto paired = paired_metric_difference(later, earlier, metric)) return {paired->value, paired->ci, true};
  const double z = normal_quantile(0.975);
  const double diff = a.value - b.value;
  const double se = std::sqrt(std::pow((a.ci.hi - a.ci.lo) / (2 * z), 2) + std::pow((b.ci.hi - b.ci.lo) / (2 * z), 2));
  return {diff, {diff - z * se, diff + z * se}, false};
}

MetricChange metric_change(const json& later, const json& earlier, const std::string& metric) {
  return with_json_errors("report", [&] { return metric_change_impl(later, earlier, metric); });
}

namespace {

// How much worse `change` (later - earlier) is, with its interval, for a
// metric where higher (or lower) is better.
struct Worsening {
  double value, lo, hi;
};
Worsening worsening(const MetricChange& c, bool higher_is_better) {
  if (higher_is_better) return {-c.value, -c.ci.hi, -c.ci.lo};
  return {c.value, c.ci.lo, c.ci.hi};
}

}  // namespace

// A sustained drift over the last N reports of the trend (the earlier
// reports, oldest first, then `report`): fails when every consecutive step
// worsened (point estimates) and the whole window's worsening exceeds delta
// with its interval excluding 0 -- a slow slide that no single release's
// regression rule would catch. Fewer than N reports: inconclusive.
static void evaluate_drift(const GateRule& rule, const json& report, const std::vector<json>* trend, std::vector<std::string>& bounds,
                           std::vector<std::string>& failures, RuleOutcome& o) {
  bounds.push_back(fmt::format("no sustained drift over the last {} reports beyond {}", rule.drift_last, number(rule.drift_delta)));
  std::vector<const json*> window;
  if (trend)
    for (const auto& r : *trend) window.push_back(&r);
  window.push_back(&report);
  const auto n = static_cast<std::size_t>(rule.drift_last);
  if (window.size() < n) {
    o.verdict = Verdict::kInconclusive;
    o.message = fmt::format("the trend has {} reports, the drift rule needs the last {} (pass earlier reports with --trend)", window.size(), n);
    return;
  }
  window.erase(window.begin(), window.end() - static_cast<std::ptrdiff_t>(n));
  std::vector<std::string> steps;
  bool every_step_worse = true;
  for (std::size_t i = 1; i < window.size(); ++i) {
    const auto w = worsening(metric_change_impl(*window[i], *window[i - 1], rule.metric), rule.higher_is_better);
    steps.push_back(number(w.value));
    every_step_worse = every_step_worse && w.value > 0;
  }
  const auto total = metric_change_impl(report, *window.front(), rule.metric);
  const auto w = worsening(total, rule.higher_is_better);
  if (every_step_worse && w.value > rule.drift_delta && w.lo > 0)
    failures.push_back(fmt::format("worse in each of the last {} steps ({}) and by {} over them ({} interval [{}, {}] excludes 0)",
                                   steps.size(), fmt::join(steps, ", "), number(w.value), total.paired ? "paired" : "unpaired",
                                   number(w.lo), number(w.hi)));
}

static GateResult evaluate_gate_impl(const GatePolicy& policy, const json& report, const json* baseline, const std::vector<json>* trend) {
  GateResult result;
  for (const auto& rule : policy.rules) {
    RuleOutcome o;
    o.rule = &rule;
    Resolved m;
    if (rule.tau > 0) {
      const auto num = resolve(report, rule.ratio_numerator, "report");
      const auto den = resolve(report, rule.ratio_denominator, "report");
      m.value = num.value / den.value;
      m.ci = {num.ci.lo / den.ci.hi, num.ci.hi / den.ci.lo};
      m.n = std::isfinite(num.n) ? num.n : den.n;
    } else {
      m = resolve(report, rule.metric, "report");
    }
    o.value = m.value;
    o.ci = m.ci;
    const bool interval = rule.strictness == "interval";
    std::vector<std::string> bounds, failures;
    if (!std::isfinite(m.value) || (std::isfinite(m.n) && m.n < rule.min_n)) {
      o.verdict = Verdict::kInconclusive;
      o.message = std::isfinite(m.value) ? fmt::format("n = {} is below min_n = {}", number(m.n), number(rule.min_n)) : "no value";
    } else {
      auto check_upper = [&](double bound) {  // fail when above
        bounds.push_back(fmt::format("max {}", number(bound)));
        const double x = interval ? m.ci.lo : m.value;
        if (x > bound) failures.push_back(fmt::format("{} {} > {}", interval ? "interval lower end" : "value", number(x), number(bound)));
      };
      auto check_lower = [&](double bound) {  // fail when below
        bounds.push_back(fmt::format("min {}", number(bound)));
        const double x = interval ? m.ci.hi : m.value;
        if (x < bound) failures.push_back(fmt::format("{} {} < {}", interval ? "interval upper end" : "value", number(x), number(bound)));
      };
      if (rule.max) check_upper(*rule.max);
      if (rule.min) check_lower(*rule.min);
      if (rule.tau > 0) {
        check_lower(rule.tau);
        check_upper(1 / rule.tau);
      }
      if (rule.regression_delta) {
        if (!baseline) throw BadInput(fmt::format("rule \"{}\" compares with a baseline: pass --baseline BASE.json", rule.name));
        const auto b = resolve(*baseline, rule.metric, "baseline");
        const auto change = metric_change_impl(report, *baseline, rule.metric);
        const auto [worse, worse_lo, worse_hi] = worsening(change, rule.higher_is_better);
        const std::string how = change.paired ? "paired" : "unpaired";
        const double delta = *rule.regression_delta;
        bounds.push_back(fmt::format("no worse than baseline {} by more than {} ({}, {})", number(b.value), number(delta), rule.regression_rule, how));
        if (rule.regression_rule == "non_inferiority") {
          if (worse_lo > delta)
            failures.push_back(fmt::format("worse than baseline by {}, {} interval [{}, {}] lies above {}", number(worse), how, number(worse_lo),
                                           number(worse_hi), number(delta)));
        } else if (worse > delta && worse_lo > 0) {
          failures.push_back(fmt::format("worse than baseline by {} ({} interval of the difference [{}, {}] excludes 0)", number(worse), how,
                                         number(worse_lo), number(worse_hi)));
        }
        if (!std::isfinite(b.value)) {
          o.verdict = Verdict::kInconclusive;
          o.message = "baseline has no value";
        }
      }
      if (rule.drift_last > 0) evaluate_drift(rule, report, trend, bounds, failures, o);
      if (o.verdict != Verdict::kInconclusive) {
        o.verdict = failures.empty() ? Verdict::kPass : Verdict::kFail;
        o.message = failures.empty() ? "within bounds" : fmt::format("{}", fmt::join(failures, "; "));
      }
    }
    o.bound = fmt::format("{}{}", fmt::join(bounds, ", "), bounds.empty() ? "" : (interval ? " (interval)" : " (point)"));
    result.outcomes.push_back(std::move(o));
  }
  result.report_incomplete = report.contains("incomplete");
  return result;
}

GateResult evaluate_gate(const GatePolicy& policy, const json& report, const json* baseline, const std::vector<json>* trend) {
  return with_json_errors("report", [&] { return evaluate_gate_impl(policy, report, baseline, trend); });
}

}  // namespace recbias
