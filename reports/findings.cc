#include <algorithm>

#include "reports/render_common.h"

namespace recbias::render {

namespace {

// The practical threshold NAME from the report's config (audit --practical), else its default.
double threshold(nlohmann::json& report, const char* name, double fallback) {
  auto& config = report["config"];
  if (config.is_object() && config.contains("practical_thresholds") && config["practical_thresholds"].is_object()) {
    auto& t = config["practical_thresholds"];
    if (t.contains(name) && t[name].is_number()) return t[name].get<double>();
  }
  return fallback;
}

double number_or(nlohmann::json& node, const char* key, double fallback) {
  return node.is_object() && node.contains(key) && node[key].is_number() ? node[key].get<double>() : fallback;
}

}  // namespace

std::vector<std::string> findings(nlohmann::json& report) {
  // A finding states its effect size first (with its interval and what no
  // effect would give, E0) and is raised only when significant AND at least
  // the practical threshold; significant but smaller effects are listed as
  // "detected but negligible" (DESIGN.md, Statistics).
  std::vector<std::string> out;
  std::vector<std::string> negligible;
  auto& m = report["metrics"];
  if (m.contains("position") && m["position"].contains("verdict")) {
    auto& p = m["position"];
    const bool significant = p.contains("chi_square") && number_or(p["chi_square"], "p_adjusted", 1.0) < number_or(report["config"], "alpha", 0.05);
    const double floor = threshold(report, "position.tvd", 0.02);
    if (significant && p.contains("tvd") && value_of(p["tvd"]).lo < floor && value_of(p["tvd"]).value < floor) {
      negligible.push_back(fmt::format("position TVD {} {} (below {})", fmt_num(value_of(p["tvd"]).value), fmt_interval(value_of(p["tvd"])),
                                       fmt_num(floor)));
    } else {
      std::string line = "Position: " + p["verdict"].get<std::string>();
      if (significant && p.contains("selection_rate") && !p["selection_rate"].empty()) {
        auto& rates = p["selection_rate"];
        std::size_t best = 0;
        for (std::size_t j = 1; j < rates.size(); ++j)
          if (value_of(rates[j]).value > value_of(rates[best]).value) best = j;
        const double uniform = p.value("uniform_rate", 0.0);
        if (uniform > 0)
          line += fmt::format("; position {} is picked first {}x as often as uniform", best + 1, fmt_num(value_of(rates[best]).value / uniform, 2));
      }
      out.push_back(line);
    }
  }
  if (m.contains("fairness") && m["fairness"].contains("attributes")) {
    const double floor = threshold(report, "fairness.similarity", 0.05);
    const double gap_floor = threshold(report, "fairness.utility_gap", 0.05);
    const std::string metric = m["fairness"].value("test_metric", "serp");
    std::vector<std::string> raised;
    for (auto& [attribute, a] : m["fairness"]["attributes"].items()) {
      for (auto& [value, v] : a["values"].items()) {
        if (!v.contains("test") || !v["test"].is_object() || !v["test"].value("significant", false)) continue;
        const auto drop = v["test"].contains("mean_drop_below_noise_floor") ? value_of(v["test"]["mean_drop_below_noise_floor"]) : Value{};
        const auto text = fmt::format("{}={} ({} similarity {} {} below the noise floor)", attribute, value, metric, fmt_num(drop.value),
                                      fmt_interval(drop));
        (drop.value >= floor ? raised : negligible).push_back(text);
      }
      if (a.contains("snsr_null") && a["snsr_null"].is_object() && a["snsr_null"]["test"].is_object() &&
          a["snsr_null"]["test"].value("significant", false)) {
        const double snsr = number_or(a["snsr_null"], "value", 0), e0 = number_or(a["snsr_null"], "e0", 0);
        const auto text = fmt::format("{} SNSR {} {} (E0 {})", attribute, metric, fmt_num(snsr), fmt_num(e0));
        (snsr - e0 >= floor ? raised : negligible).push_back(text);
      }
      if (a.contains("utility") && a["utility"].contains("test") && a["utility"]["test"].is_object() &&
          a["utility"]["test"].value("significant", false)) {
        const double gap = value_of(a["utility"]["gap"]).value, e0 = number_or(a["utility"], "gap_e0", 0);
        const auto text = fmt::format("{} NDCG gap between groups {} (E0 {}, p_adj = {})", attribute, fmt_num(gap), fmt_num(e0),
                                      fmt_num(number_or(a["utility"]["test"], "p_adjusted", 1), 2));
        (gap - e0 >= gap_floor ? raised : negligible).push_back(text);
      }
    }
    const auto noise = value_of(m["fairness"]["noise_floor"][metric]);
    if (raised.empty())
      out.push_back(fmt::format("Fairness: no stated attribute changed the answers by a practical amount beyond asking again (noise floor {} "
                                "similarity {})",
                                metric, fmt_num(noise.value)));
    else {
      std::string list;
      for (auto& r : raised) list += (list.empty() ? "" : "; ") + r;
      out.push_back("Fairness: " + list);
    }
  }
  if (m.contains("grounding") && m["grounding"].contains("hallucination_rate")) {
    const auto h = value_of(m["grounding"]["hallucination_rate"]);
    const auto p = value_of(m["grounding"]["parse_failure_rate"]);
    if (h.value > 0 || p.value > 0)
      out.push_back(fmt::format("Grounding: {} of output entries hallucinated, {} of answers unparseable", fmt_num(h.value, 4), fmt_num(p.value, 4)));
  }
  if (m.contains("grounding") && m["grounding"].contains("constraint_ignored_rate")) {
    const auto c = value_of(m["grounding"]["constraint_ignored_rate"]);
    if (c.value > 0)
      out.push_back(fmt::format("Structured outputs: {} of the constrained answers broke the JSON schema [{}, {}]: the server ignores or only "
                                "partly enforces the constraint (check its structured-output spelling: the adapter's structured= key)",
                                fmt_num(c.value, 4), fmt_num(c.lo, 4), fmt_num(c.hi, 4)));
  }
  if (!negligible.empty()) {
    std::string list;
    for (auto& n : negligible) list += (list.empty() ? "" : "; ") + n;
    out.push_back("Detected but negligible (below the practical thresholds): " + list);
  }
  return out;
}

}  // namespace recbias::render
