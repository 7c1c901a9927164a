#include <algorithm>

#include "reports/render_common.h"

namespace recbias::render {

std::vector<std::string> findings(nlohmann::json& report) {
  std::vector<std::string> out;
  auto& m = report["metrics"];
  if (m.contains("position") && m["position"].contains("verdict")) {
    std::string line = "Position: " + m["position"]["verdict"].get<std::string>();
    if (m["position"].contains("selection_rate") && !m["position"]["selection_rate"].empty()) {
      auto& rates = m["position"]["selection_rate"];
      std::size_t best = 0;
      for (std::size_t j = 1; j < rates.size(); ++j)
        if (value_of(rates[j]).value > value_of(rates[best]).value) best = j;
      const double uniform = m["position"].value("uniform_rate", 0.0);
      if (uniform > 0)
        line += fmt::format("; position {} is picked first {}x as often as uniform", best + 1,
                            fmt_num(value_of(rates[best]).value / uniform, 2));
    }
    out.push_back(line);
  }
  if (m.contains("popularity") && m["popularity"].contains("spearman_popularity_model")) {
    const auto model = value_of(m["popularity"]["spearman_popularity_model"]);
    const auto truth = value_of(m["popularity"]["spearman_popularity_truth"]);
    out.push_back(fmt::format("Popularity: the model's preference correlates {} {} with item popularity; the held-out items' {} {}{}",
                              fmt_num(model.value), fmt_interval(model), fmt_num(truth.value), fmt_interval(truth),
                              model.lo > truth.hi ? " (more popularity-driven than the truth)" : ""));
  }
  if (m.contains("fairness") && m["fairness"].contains("attributes")) {
    std::vector<std::string> significant;
    for (auto& [attribute, a] : m["fairness"]["attributes"].items())
      for (auto& [value, v] : a["values"].items())
        if (v.contains("test") && v["test"].is_object() && v["test"].value("significant", false))
          significant.push_back(attribute + "=" + value);
    const std::string metric = m["fairness"].value("test_metric", "serp");
    const auto noise = value_of(m["fairness"]["noise_floor"][metric]);
    if (significant.empty())
      out.push_back(fmt::format("Fairness: no stated attribute changed the answers more than asking again does (noise floor {} {} = {})",
                                metric, "similarity", fmt_num(noise.value)));
    else {
      std::string list;
      for (auto& s : significant) list += (list.empty() ? "" : ", ") + s;
      out.push_back(fmt::format("Fairness: stating {} changes the answers beyond the noise floor ({} {})", list, metric, fmt_num(noise.value)));
    }
  }
  if (m.contains("grounding") && m["grounding"].contains("hallucination_rate")) {
    const auto h = value_of(m["grounding"]["hallucination_rate"]);
    const auto p = value_of(m["grounding"]["parse_failure_rate"]);
    if (h.value > 0 || p.value > 0)
      out.push_back(fmt::format("Grounding: {} of output entries hallucinated, {} of answers unparseable", fmt_num(h.value, 4), fmt_num(p.value, 4)));
  }
  return out;
}

}  // namespace recbias::render
