// The report merger: arbitrary JSON read as a shard report, checked against
// the report schema and merged (what `recbias merge` does): the config's
// options and every audit's state (sums, replicates, counts), which the
// schema does not describe, come from the file and must be refused with an
// Error, never read out of bounds. Input: one report, or a JSON array of
// reports (shards merged together, so two fuzzed states meet in merge()).
//
// Mutations: fuzz/json_mutator.h (half of them change one value of the
// parsed report), which finds bad sizes and counts in a state.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/audit_runner.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "fuzz/json_mutator.h"
#include "reports/schema.h"

using namespace recbias;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto input = parse_json(text, "shard.json");
    std::vector<nlohmann::json> reports;
    if (input.is_array()) {
      for (const auto& r : input) reports.push_back(r);
    } else {
      reports.push_back(input);
    }
    for (const auto& r : reports) check_report(r, "shard.json");
    merge_reports(reports);
  } catch (const Error&) {
  }
  return 0;
}
