// The gate over arbitrary reports: untrusted report JSON (metrics of any
// shape, "ci" of any length, states with tampered replicated values)
// evaluated by a fixed policy that exercises every rule kind — bounds on a
// point value and on an interval, a ratio, and a regression against a
// baseline (the report itself, paired and unpaired) — and the one metric
// reader (core/metric.h) on every dotted path the input contains, the
// position prior calibrate-position reads from a report (both kinds), and a
// trend over the report twice (`report --trend`, both pages) with a drift
// rule over it.
#include <cstdint>
#include <string>

#include "core/errors.h"
#include "core/json_io.h"
#include "fuzz/json_mutator.h"  // structure-aware mutations of the report
#include "core/metric.h"
#include "reports/gate.h"
#include "reports/report_io.h"
#include "reports/trend.h"

using namespace recbias;

namespace {

const GatePolicy& policy() {
  static const GatePolicy p = parse_policy(nlohmann::json::parse(R"({"min_n": 10, "rules": [
      {"metric": "position.tvd", "max": 0.05, "strictness": "interval"},
      {"metric": "position.selection_rate.0", "max": 0.2},
      {"metric": "accuracy.ndcg", "min": 0.1, "regression": {"delta": 0.01, "rule": "non_inferiority"}},
      {"metric": "position.tvd", "regression": {"delta": 0.0, "higher_is_better": false}},
      {"metric": "accuracy.ndcg", "drift": {"last": 3, "delta": 0.01}},
      {"ratio": {"numerator": "fairness.attributes.gender.values.F.serp", "denominator": "fairness.noise_floor.serp"}, "tau": 0.8}]})"),
                                           "fuzz-policy.json");
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto report = parse_json(text, "report.json");
    for (const auto& path : metric_paths(report)) (void)metric_at(report["metrics"], path);
    for (const char* from : {"auto", "selection_rate"}) {
      try {
        (void)position_prior_from_report(report, "report.json", from);  // calibrate-position's prior=report.json
      } catch (const Error&) {
      }
    }
    try {
      std::vector<TrendReport> trend = {{"a", report}, {"b", report}};
      order_by_provenance(trend);
      const auto t = build_trend(trend);
      (void)render_trend_markdown(t);
      (void)render_trend_html(t);
    } catch (const Error&) {
    }
    const std::vector<nlohmann::json> earlier = {report, report};
    const auto result = evaluate_gate(policy(), report, &report, &earlier);
    (void)result.exit_code();
  } catch (const Error&) {
  }
  return 0;
}
