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

// The per-position prior calibrate-position divides out, from a report's
// position audit: `from` = "selection_rate" (top-1 selection rates; any
// model), "mean_probability" (the model's mean softmax probability per
// presented position; reports of models that give scores), or "auto": the
// selection rates, unless some position was never picked and the report has
// mean probabilities (a peaked preference, e.g. an LLM's first-token letter
// preference: the add-half rate of a never-picked position over-corrects
// it). BadInput naming `where` and the field when the report lacks what
// `from` asks for or a value is not a usable number.
struct PositionPrior {
  std::vector<double> values;
  std::string from;  // what was read: mean_probability or selection_rate
};
PositionPrior position_prior_from_report(const nlohmann::json& report, const std::string& where, const std::string& from = "auto");

}  // namespace recbias
