// The gate's policy reader, JSON and TOML: arbitrary policy text parsed and,
// when it is a valid policy, evaluated against a small valid report.
#include <cstdint>
#include <string>

#include "core/errors.h"
#include "core/json_io.h"
#include "fuzz/json_mutator.h"  // structure-aware mutations of JSON policies (TOML inputs fall back to libFuzzer's)
#include "reports/gate.h"
#include "reports/toml_reader.h"

using namespace recbias;

namespace {

const nlohmann::json& sample_report() {
  static const nlohmann::json report = nlohmann::json::parse(R"({
    "metrics": {"position": {"tvd": {"value": 0.05, "ci": [0.03, 0.07], "n": 1000}},
                "accuracy": {"ndcg": {"value": 0.5, "ci": [0.45, 0.55], "n": 500}}},
    "tests": []})");
  return report;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (int format = 0; format < 2; ++format) {
    try {
      const auto j = format == 0 ? parse_json(text, "policy.json") : parse_toml(text, "policy.toml");
      const auto policy = parse_policy(j, format == 0 ? "policy.json" : "policy.toml");
      evaluate_gate(policy, sample_report(), &sample_report());
    } catch (const Error&) {
    }
  }
  return 0;
}
