#include <cmath>
#include "reports/report_io.h"


#include <fmt/format.h>

#include "core/file_io.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "core/metric.h"
#include "reports/schema.h"

namespace recbias {

nlohmann::json read_report_file(const std::string& path) {
  const auto text = read_whole_file(path);
  if (!text) throw BadInput(fmt::format("cannot open report {}", path));
  auto report = parse_json(*text, path);
  check_report(report, path);
  return report;
}

namespace {

std::vector<double> prior_from_selection_rates(const nlohmann::json& report, const std::string& where) {
  const auto* rates = json_at_path(report, "metrics.position.selection_rate");
  if (!rates || !rates->is_array() || rates->empty())
    throw BadInput(fmt::format("calibrate-position: {} has no metrics.position.selection_rate (run the position audit)", where));
  std::vector<double> prior;
  const double k = static_cast<double>(rates->size());
  for (std::size_t j = 0; j < rates->size(); ++j) {
    const auto m = metric_from_json((*rates)[j]);
    // A position the probe never saw picked (rate 0, common for LLMs with a
    // strong letter or position preference) gets Jeffreys' add-half
    // estimate (c + 1/2) / (N + K/2) from its N picks, so its log-prior is
    // finite; that needs the picks N.
    const bool zero_with_picks = m && m->value == 0 && std::isfinite(m->n) && m->n > 0;
    if (!m || !(m->value > 0 || zero_with_picks))
      throw BadInput(fmt::format("calibrate-position: {}: metrics.position.selection_rate.{}.value: expected a positive number (or 0 "
                                 "with its picks n), found {}",
                                 where, j, (*rates)[j].is_object() && (*rates)[j].contains("value") ? (*rates)[j]["value"].dump() : (*rates)[j].dump()));
    prior.push_back(zero_with_picks ? 0.5 / (m->n + k / 2) : m->value);
  }
  return prior;
}

std::vector<double> prior_from_mean_probability(const nlohmann::json& probabilities, const std::string& where) {
  std::vector<double> prior;
  double smallest = 1;
  for (std::size_t j = 0; j < probabilities.size(); ++j) {
    const auto m = metric_from_json(probabilities[j]);
    if (!m || !std::isfinite(m->value) || m->value < 0 || m->value > 1)
      throw BadInput(fmt::format("calibrate-position: {}: metrics.position.mean_probability.{}.value: expected a probability in [0, 1], "
                                 "found {}",
                                 where, j, probabilities[j].is_object() && probabilities[j].contains("value") ? probabilities[j]["value"].dump()
                                                                                                             : probabilities[j].dump()));
    if (m->value > 0) smallest = std::min(smallest, m->value);
    prior.push_back(m->value);
  }
  // A position whose mean probability is exactly 0 was masked in every
  // scored response; its scores stay -inf whatever the prior, which only has
  // to be positive there.
  for (auto& p : prior)
    if (p == 0) p = smallest;
  return prior;
}

}  // namespace

PositionPrior position_prior_from_report(const nlohmann::json& report, const std::string& where, const std::string& from) {
  if (from != "auto" && from != "mean_probability" && from != "selection_rate")
    throw BadInput(fmt::format("calibrate-position: from={}: expected auto, mean_probability or selection_rate", from));
  const auto* probabilities = json_at_path(report, "metrics.position.mean_probability");
  const bool have = probabilities && probabilities->is_array() && !probabilities->empty();
  if (from == "mean_probability" && !have)
    throw BadInput(fmt::format("calibrate-position: {} has no metrics.position.mean_probability (the model gave no scores in that "
                               "audit; use from=selection_rate)",
                               where));
  if (from == "mean_probability") return {prior_from_mean_probability(*probabilities, where), "mean_probability"};
  if (from == "auto" && have) {
    // Selection rates, unless the probe never saw some position picked: then
    // its add-half rate over-corrects a peaked preference, and the model's
    // own mean probability is the prior.
    const auto* rates = json_at_path(report, "metrics.position.selection_rate");
    bool never_picked = false;
    if (rates && rates->is_array())
      for (const auto& r : *rates)
        if (const auto m = metric_from_json(r); m && m->value == 0) never_picked = true;
    if (never_picked) return {prior_from_mean_probability(*probabilities, where), "mean_probability"};
  }
  return {prior_from_selection_rates(report, where), "selection_rate"};
}

}  // namespace recbias
