#include "reports/report_io.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/json_io.h"
#include "core/metric.h"
#include "reports/schema.h"

namespace recbias {

nlohmann::json read_report_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadInput(fmt::format("cannot open report {}", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto report = parse_json(buffer.str(), path);
  check_report(report, path);
  return report;
}

std::vector<double> position_prior_from_report(const nlohmann::json& report, const std::string& where) {
  const auto* rates = json_at_path(report, "metrics.position.selection_rate");
  if (!rates || !rates->is_array() || rates->empty())
    throw BadInput(fmt::format("calibrate-position: {} has no metrics.position.selection_rate (run the position audit)", where));
  std::vector<double> prior;
  for (std::size_t j = 0; j < rates->size(); ++j) {
    const auto m = metric_from_json((*rates)[j]);
    if (!m || !(m->value > 0))
      throw BadInput(fmt::format("calibrate-position: {}: metrics.position.selection_rate.{}.value: expected a positive number, found {}", where,
                                 j, (*rates)[j].is_object() && (*rates)[j].contains("value") ? (*rates)[j]["value"].dump() : (*rates)[j].dump()));
    prior.push_back(m->value);
  }
  return prior;
}

}  // namespace recbias
