// Saved audit states are input: a shard report's "state" is read back by
// `recbias merge`. Every number in every audit's state, tampered with (-3
// and 10^9, or the same as decimal strings where the state keeps exact
// 128-bit sums), must be either accepted or refused as bad input (exit 2) --
// never an internal error, another exception, a huge allocation or a hang.
// Before the state readers checked counts and sizes, this test ended in
// std::bad_alloc (10 variants), "vector larger than max_size()" (6) and then
// hung in the popularity audit's random-ranker reference (10^9 appearances
// x 50 draws); through the CLI, at least 40 of 572 such variants of a six-audit
// report were "internal error" (exit 5) or ran for minutes.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/audit_runner.h"
#include "core/errors.h"
#include "tests/audits/audit_fixtures.h"

using namespace recbias;
using namespace recbias::testing;

namespace {

// JSON pointers to the numbers (and numeric strings) under `j`; arrays
// contribute their first two elements.
void numbers(const nlohmann::json& j, const nlohmann::json::json_pointer& at, std::vector<nlohmann::json::json_pointer>& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) numbers(value, at / key, out);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < std::min<std::size_t>(2, j.size()); ++i) numbers(j[i], at / i, out);
  } else if (j.is_number() || (j.is_string() && !j.get<std::string>().empty() &&
                               j.get<std::string>().find_first_not_of("-0123456789") == std::string::npos)) {
    out.push_back(at);
  }
}

}  // namespace

TEST_CASE("every number of every audit's saved state, tampered, is accepted or refused as bad input", "[audit][merge][bad-input]") {
  auto s = synthetic_setup(30, 40, 6, 11);
  AuditOptions options;
  options.audits = {"position", "popularity", "fairness", "grounding", "accuracy", "exposure"};
  options.attributes = s.workload.attributes;
  options.bootstrap_replicates = 10;
  auto model = simulated("relevance=popularity,position=primacy,noise=0.5,hallucination_rate=0.1", s.context);
  nlohmann::json report = run_audit(*model, s.workload, s.requests, options, {}, {}).report;
  report["provenance"]["shard"] = {{"index", 0}, {"count", 1}};
  report["provenance"]["adapter"] = "simulated";
  REQUIRE_NOTHROW(merge_reports({report}));
  std::vector<nlohmann::json::json_pointer> paths;
  numbers(report["state"], nlohmann::json::json_pointer("/state"), paths);
  CHECK(paths.size() >= 100);
  int refused = 0, accepted = 0;
  for (const auto& path : paths) {
    const bool text = report.at(path).is_string();
    const std::vector<nlohmann::json> values =
        text ? std::vector<nlohmann::json>{"-3", "999999999999999999999"} : std::vector<nlohmann::json>{-3, 1000000000};
    for (const auto& value : values) {
      auto tampered = report;
      tampered[path] = value;
      INFO(path.to_string() << " = " << value.dump());
      try {
        merge_reports({tampered});
        ++accepted;
      } catch (const BadInput&) {
        ++refused;
      } catch (const std::exception& e) {
        FAIL_CHECK("not bad input: " << e.what());
      }
    }
  }
  // Most tampering is caught (sizes, signs, shapes); plausible values pass.
  CHECK(refused > 0);
  CHECK(accepted > 0);
  // The config sizes every audit's sums, and a double beyond an integer's
  // range is undefined behaviour to convert (found by fuzz_merge's
  // structure-aware mutator; fuzz/regressions/merge/).
  auto refuses = [&](const char* pointer, const nlohmann::json& value, const char* message) {
    auto tampered = report;
    tampered[nlohmann::json::json_pointer(pointer)] = value;
    CHECK_THROWS_WITH(merge_reports({tampered}), Catch::Matchers::Contains(message));
  };
  refuses("/config/bootstrap_replicates", -1, "bootstrap_replicates -1: expected 0 to 100000");
  refuses("/config/confidence", 1.5, "expected numbers between 0 and 1");
  refuses("/config/alpha", 0, "confidence 0.95 and alpha 0: expected numbers between 0 and 1");
  refuses("/config/permutations", -2, "permutations -2: expected a number >= 0");
  refuses("/config/short_head_share", 2, "short_head_share 2: expected a number between 0 and 1");
  refuses("/config/tvd_interval", "bootstrap", "tvd_interval \"bootstrap\": expected moment or inversion");
  refuses("/provenance/shard/count", 9.2e18, "provenance/shard/count: 9.2e+18 is beyond the range of a count");
  refuses("/state/position/k", 1e300, "state/position/k: 1e+300 is beyond the range of a count");
}
