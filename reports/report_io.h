// Reading reports back: the file, checked against the report schema, and
// what other parts take from a report (a position prior for calibration).
// Reports are untrusted input: errors are BadInput naming the file and the
// field.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace recbias {

// The report at `path`, parsed and checked against the schema (schema.h).
nlohmann::json read_report_file(const std::string& path);

// The position audit's selection rates (metrics.position.selection_rate[j].value),
// the prior calibrate-position divides out. BadInput naming `where` when the
// report has no position audit or a rate is not a positive number.
std::vector<double> position_prior_from_report(const nlohmann::json& report, const std::string& where);

}  // namespace recbias
