// The report merger: arbitrary JSON read as a shard report, checked against
// the report schema and merged (what `recbias merge` does): the config's
// options and every audit's state (sums, replicates, counts), which the
// schema does not describe, come from the file and must be refused with an
// Error, never read out of bounds. Input: one report, or a JSON array of
// reports (shards merged together, so two fuzzed states meet in merge()).
//
// Byte mutations of a large JSON file seldom produce a valid report with
// one number changed, which is what finds bad sizes and counts in a state;
// so half of the mutations (under libFuzzer) parse the input, set one
// number of it to an interesting value and write it back.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/audit_runner.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "reports/schema.h"

using namespace recbias;

#ifdef RECBIAS_LIBFUZZER
extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace {

// Every number in `j`, depth first.
void numbers(nlohmann::json& j, std::vector<nlohmann::json*>& out) {
  if (j.is_structured()) {
    for (auto& v : j) numbers(v, out);
  } else if (j.is_number()) {
    out.push_back(&j);
  }
}

}  // namespace

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned int seed) {
  if (seed % 2 == 0) return LLVMFuzzerMutate(data, size, max_size);
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  std::vector<nlohmann::json*> found;
  if (!j.is_discarded()) numbers(j, found);
  if (found.empty()) return LLVMFuzzerMutate(data, size, max_size);
  static const double kValues[] = {-1, 0, 1, 2, -3, 1e9, -1e9, 4294967296.0, 9.2e18, 0.5, 1e300};
  auto& target = *found[(seed / 2) % found.size()];
  const double value = kValues[(seed / 2 / found.size()) % (sizeof kValues / sizeof kValues[0])];
  if (std::abs(value) < 9e18 && value == std::trunc(value))
    target = static_cast<std::int64_t>(value);
  else
    target = value;
  const auto text = j.dump();
  if (text.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::copy(text.begin(), text.end(), data);
  return text.size();
}
#endif

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
