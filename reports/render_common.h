// Helpers shared by the renderers (not part of the public interface).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_errors.h"
#include "core/metric.h"

namespace recbias::render {

// The renderers read untrusted reports with operator[]. On a const document,
// operator[] with a missing key is undefined behaviour in nlohmann::json
// (fuzzing found a use-after-free); on a mutable one it yields null. So they
// work on a copy, and a field of an unexpected type becomes BadInput.
template <class F>
std::string render_copy(const nlohmann::json& report, const nlohmann::json* baseline, F&& render) {
  nlohmann::json doc = report;
  nlohmann::json base = baseline ? *baseline : nlohmann::json();
  return with_json_errors("report", [&] { return render(doc, baseline ? &base : nullptr); });
}

struct Value {
  double value = std::nan("");
  double lo = std::nan(""), hi = std::nan("");
  double n = std::nan("");
  bool present = false;
};

inline Value to_value(const std::optional<Metric>& m) {
  if (!m) return {};
  return {m->value, m->ci.lo, m->ci.hi, m->n, true};
}

// The metric at `path` below `metrics`, through the one checked reader (core/metric.h).
inline Value value_at(const nlohmann::json& metrics, std::initializer_list<const char*> path) {
  std::string dotted;
  for (const char* key : path) dotted += (dotted.empty() ? "" : ".") + std::string(key);
  return to_value(metric_at(metrics, dotted));
}

// The metric in `node` (an object with "value"); a bare number is not one here.
inline Value value_of(const nlohmann::json& node) { return node.is_object() ? to_value(metric_from_json(node)) : Value{}; }

inline std::string fmt_num(double x, int precision = 3) {
  if (!std::isfinite(x)) return "n/a";
  if (std::abs(x) >= 1000) return fmt::format("{:.0f}", x);
  if (x != 0 && std::abs(x) < 0.001) return fmt::format("{:.2g}", x);
  return fmt::format("{:.{}f}", x, precision);
}

inline std::string fmt_interval(const Value& v, int precision = 3) {
  if (!std::isfinite(v.lo) || !std::isfinite(v.hi)) return "n/a";
  return fmt::format("[{}, {}]", fmt_num(v.lo, precision), fmt_num(v.hi, precision));
}

// The headline rows every renderer shows: label, metric path, precision.
struct Headline {
  const char* label;
  std::vector<const char*> path;
  int precision;
};

inline const std::vector<Headline>& headlines() {
  static const std::vector<Headline> rows = {
      {"position: TVD from uniform", {"position", "tvd"}, 3},
      {"position: max/min selection ratio", {"position", "max_min_ratio"}, 2},
      {"position: top-1 consistency", {"position", "consistency"}, 3},
      {"position: Kendall tau across orders", {"position", "kendall_tau"}, 3},
      {"popularity: ARP", {"popularity", "arp"}, 1},
      {"popularity: APLT", {"popularity", "aplt"}, 3},
      {"popularity: Gini of exposure", {"popularity", "gini_exposure"}, 3},
      {"popularity: PopRSP", {"popularity", "pop_rsp"}, 3},
      {"popularity: Spearman(popularity, model)", {"popularity", "spearman_popularity_model"}, 3},
      {"popularity: Spearman(popularity, truth)", {"popularity", "spearman_popularity_truth"}, 3},
      {"grounding: hallucination rate", {"grounding", "hallucination_rate"}, 4},
      {"grounding: parse failure rate", {"grounding", "parse_failure_rate"}, 4},
      {"accuracy: HR@k", {"accuracy", "hit_rate"}, 3},
      {"accuracy: NDCG@k", {"accuracy", "ndcg"}, 3},
      {"accuracy: MRR", {"accuracy", "mrr"}, 3},
      {"history: Kendall tau, asked again", {"history", "resample", "kendall_tau"}, 3},
      {"history: Kendall tau, shuffled", {"history", "shuffled", "kendall_tau"}, 3},
      {"history: Kendall tau, reversed", {"history", "reversed", "kendall_tau"}, 3},
      {"history: Kendall tau, truncated", {"history", "truncated", "kendall_tau"}, 3},
      {"cost: calls per recommendation", {"cost", "calls_per_delivered"}, 2},
      {"cost: tokens per recommendation", {"cost", "tokens_per_delivered"}, 0},
  };
  return rows;
}

inline Value headline_value(const nlohmann::json& metrics, const Headline& h) {
  std::string dotted;
  for (const char* key : h.path) dotted += (dotted.empty() ? "" : ".") + std::string(key);
  const auto* node = json_at_path(metrics, dotted);
  return node ? value_of(*node) : Value{};
}

// The mitigation trade-off columns: header label and the row field.
inline const std::vector<std::pair<const char*, const char*>>& tradeoff_columns() {
  static const std::vector<std::pair<const char*, const char*>> columns = {
      {"position TVD", "position_tvd"},     {"top-1 consistency", "position_consistency"}, {"ARP", "popularity_arp"},
      {"NDCG@k", "ndcg"},                   {"HR@k", "hit_rate"},                           {"calls ×", "calls_multiplier"},
      {"tokens ×", "tokens_multiplier"},    {"latency ×", "latency_multiplier"}};
  return columns;
}

// A model id short enough for a table cell: each mitigation's name and
// settings up to 24 characters, then the adapter's name and its model= (or
// path file name): "permutation(m=4,agg=mean,…) <- openai model=qwen2.5-7b".
// The full id goes beside it (a title attribute, a footnote).
inline std::string short_model_label(const std::string& id) {
  std::string out;
  std::size_t from = 0;
  for (auto arrow = id.find("<-"); arrow != std::string::npos; arrow = id.find("<-", from)) {
    auto part = id.substr(from, arrow - from);
    if (part.size() > 24) part = part.substr(0, 23) + "\u2026)";
    out += part + " <- ";
    from = arrow + 2;
  }
  const auto adapter = id.substr(from);
  const auto colon = adapter.find(':');
  out += adapter.substr(0, colon);
  if (colon == std::string::npos) return out;
  for (const char* key : {"model=", "path="}) {
    auto at = adapter.find(key, colon);
    while (at != std::string::npos && at > 0 && adapter[at - 1] != ',' && adapter[at - 1] != ':') at = adapter.find(key, at + 1);
    if (at == std::string::npos) continue;
    auto value = adapter.substr(at + std::string(key).size(), adapter.find(',', at) == std::string::npos ? std::string::npos
                                                                                                        : adapter.find(',', at) - at - std::string(key).size());
    if (std::string(key) == "path=") value = value.substr(value.find_last_of('/') == std::string::npos ? 0 : value.find_last_of('/') + 1);
    return out + " " + key + value;
  }
  return out;
}

// Findings in plain words (strings still need escaping by the renderer).
std::vector<std::string> findings(nlohmann::json& report);

// "INCOMPLETE: <reason>" for a report a budget stopped (its "incomplete"
// object), or empty. Needs escaping by the renderer.
inline std::string incomplete_note(const nlohmann::json& report) {
  const auto it = report.find("incomplete");
  if (it == report.end() || !it->is_object()) return "";
  const auto reason = it->find("reason");
  return "INCOMPLETE: " + (reason != it->end() && reason->is_string() ? reason->get<std::string>() : std::string("stopped early")) +
         ". The metrics cover only the users measured.";
}

// Axis ticks (shared by the report and trend pages).
// The smallest 1-2-5 step (1, 2, 5 times a power of ten) of at least `raw`.
inline double nice_step(double raw) {
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * magnitude;
  for (double m : {1.0, 2.0, 5.0})
    if (m * magnitude >= raw) {
      step = m * magnitude;
      break;
    }
  return step;
}

// Axis ticks from 0 past `max` in a 1-2-5 step, about 4 to 6 of them.
inline std::vector<double> nice_ticks(double max) {
  if (!(max > 0) || !std::isfinite(max)) max = 1;
  const double step = nice_step(max / 4);
  std::vector<double> ticks;
  for (int i = 0; ticks.empty() || ticks.back() < max * (1 - 1e-9); ++i) ticks.push_back(step * i);
  return ticks;
}

// A tick's text with as many decimals as its step needs (0.05 -> "0.05", 20 -> "20").
inline std::string tick_text(double v, double step) {
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  return fmt::format("{:.{}f}", v, decimals);
}

// Round ticks in a 1-2-5 step covering [lo, hi] (about 4 to 6), for axes
// that are scaled to the data and may start below 0.
inline std::vector<double> nice_range(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || hi <= lo) {
    const double mid = std::isfinite(lo) ? lo : 0;
    lo = mid - 0.5 * std::max(1e-3, std::abs(mid));
    hi = mid + 0.5 * std::max(1e-3, std::abs(mid));
  }
  const double step = nice_step((hi - lo) / 4);
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9) * step;
  for (int i = 0; ticks.empty() || ticks.back() < hi * (1 - 1e-9) - 1e-12 * step; ++i) ticks.push_back(first + step * i);
  if (ticks.size() < 2) ticks.push_back(ticks.back() + step);
  return ticks;
}

}  // namespace recbias::render
