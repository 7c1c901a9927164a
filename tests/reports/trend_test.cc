// Trends over reports (`recbias report --trend`) and the gate's drift rule,
// on real reports of simulated models whose primacy bias grows release by
// release (same plan and seed, so changes are paired).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "core/errors.h"
#include "reports/gate.h"
#include "reports/trend.h"
#include "tests/reports/report_fixtures.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

// Releases 1..4: primacy strength 0, 0.5, 1, 2 (TVD grows), finished a day apart.
const std::vector<nlohmann::json>& releases() {
  static const std::vector<nlohmann::json> reports = [] {
    std::vector<nlohmann::json> out;
    int day = 1;
    for (const char* strength : {"0", "0.5", "1", "2"}) {
      auto r = make_test_report(std::string("position=primacy,position_strength=") + strength, 120);
      r["provenance"]["finished"] = fmt::format("2026-11-0{}T00:00:00Z", day++);
      out.push_back(std::move(r));
    }
    return out;
  }();
  return reports;
}

std::vector<TrendReport> labelled(const std::vector<nlohmann::json>& reports) {
  std::vector<TrendReport> out;
  for (std::size_t i = 0; i < reports.size(); ++i) out.push_back({"v" + std::to_string(i + 1), reports[i]});
  return out;
}

const TrendRow& row_of(const Trend& t, const std::string& path) {
  for (const auto& r : t.rows)
    if (r.metric->path == path) return r;
  FAIL("no trend row " << path);
  throw;
}

}  // namespace

TEST_CASE("a trend orders reports by provenance, pairs consecutive changes and flags those beyond their interval", "[trend]") {
  auto given = labelled(releases());
  std::swap(given[0], given[3]);  // given out of order
  order_by_provenance(given);
  REQUIRE(given[0].label == "v1");
  REQUIRE(given[3].label == "v4");
  const auto trend = build_trend(given);
  const auto& tvd = row_of(trend, "position.tvd");
  REQUIRE(tvd.values.size() == 4);
  REQUIRE(tvd.steps.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("step " << i);
    CHECK(tvd.steps[i].comparable);
    CHECK(tvd.steps[i].change.paired);  // same plan and seed: replicate-wise differences
    CHECK(tvd.steps[i].change.value == Approx(tvd.values[i + 1]->value - tvd.values[i]->value).margin(1e-12));
  }
  // From strength 1 to 2 the bias grows far beyond its interval.
  CHECK(tvd.steps[2].change.value > 0);
  CHECK(tvd.steps[2].changed);
  // A report compared with itself: no change, nothing flagged.
  const auto same = build_trend({{"a", releases()[1]}, {"b", releases()[1]}});
  for (const auto& row : same.rows) {
    INFO(row.metric->path);
    CHECK(row.steps[0].change.value == 0);
    CHECK_FALSE(row.steps[0].changed);
  }
  CHECK_THROWS_WITH(build_trend({{"only", releases()[0]}}), Contains("--trend: give at least two reports (found 1)"));
}

TEST_CASE("trend pages escape labels and mark the changes", "[trend][render]") {
  auto reports = labelled(releases());
  reports[1].label = "<script>alert(1)</script>|v2";
  const auto trend = build_trend(reports);
  const auto md = render_trend_markdown(trend);
  CHECK_THAT(md, Contains("### position: TVD from uniform (bias-corrected)"));
  CHECK_THAT(md, Contains("▲ **+"));
  CHECK_THAT(md, !Contains("<script>"));
  CHECK_THAT(md, Contains("\\|v2"));
  const auto html = render_trend_html(trend);
  CHECK_THAT(html, Contains("&lt;script&gt;alert(1)&lt;/script&gt;|v2"));
  CHECK_THAT(html, !Contains("<script>"));
  CHECK_THAT(html, Contains("class=\"dot changed\""));
  CHECK_THAT(html, Contains("default-src 'none'"));
}

TEST_CASE("the gate's drift rule fails a sustained slide over the last N reports, and only that", "[gate][trend]") {
  const auto& r = releases();
  const auto policy = parse_policy(nlohmann::json::parse(R"({"rules": [
      {"name": "position drift", "metric": "position.tvd", "drift": {"last": 3, "delta": 0.02, "higher_is_better": false}}]})"),
                                   "p.json");
  // v2 -> v3 -> v4: TVD up at every step and in all by more than 0.02 (paired interval excludes 0): fail.
  const std::vector<nlohmann::json> earlier = {r[0], r[1], r[2]};
  const auto fail = evaluate_gate(policy, r[3], nullptr, &earlier);
  CHECK(fail.outcomes[0].verdict == Verdict::kFail);
  CHECK_THAT(fail.outcomes[0].message, Contains("worse in each of the last 2 steps") && Contains("paired interval"));
  // The same releases in reverse (improving): pass.
  const std::vector<nlohmann::json> reversed = {r[3], r[2], r[1]};
  CHECK(evaluate_gate(policy, r[0], nullptr, &reversed).outcomes[0].verdict == Verdict::kPass);
  // No change at all: pass; a large delta: pass.
  const std::vector<nlohmann::json> flat = {r[1], r[1]};
  CHECK(evaluate_gate(policy, r[1], nullptr, &flat).outcomes[0].verdict == Verdict::kPass);
  const auto lenient = parse_policy(nlohmann::json::parse(R"({"rules": [
      {"metric": "position.tvd", "drift": {"last": 3, "delta": 0.5, "higher_is_better": false}}]})"), "p.json");
  CHECK(evaluate_gate(lenient, r[3], nullptr, &earlier).outcomes[0].verdict == Verdict::kPass);
  // Too few reports: inconclusive, saying how many it needs.
  const std::vector<nlohmann::json> one = {r[2]};
  const auto few = evaluate_gate(policy, r[3], nullptr, &one);
  CHECK(few.outcomes[0].verdict == Verdict::kInconclusive);
  CHECK_THAT(few.outcomes[0].message, Contains("the trend has 2 reports, the drift rule needs the last 3"));
  CHECK(evaluate_gate(policy, r[3], nullptr, nullptr).outcomes[0].verdict == Verdict::kInconclusive);
}

TEST_CASE("a drift rule that is not one is bad input naming the rule and field", "[gate][bad-input]") {
  auto bad = [](const char* drift) {
    return parse_policy(nlohmann::json::parse(std::string(R"({"rules": [{"metric": "accuracy.ndcg", "drift": )") + drift + "}]}"), "p.json");
  };
  CHECK_THROWS_WITH(bad(R"({"last": 1, "delta": 0.01})"), Contains("p.json: rules[0]: field drift.last: found 1, expected a whole number of reports from 2 to 1000"));
  CHECK_THROWS_WITH(bad(R"({"last": 2.5, "delta": 0.01})"), Contains("field drift.last: found 2.5"));
  CHECK_THROWS_WITH(bad(R"({"last": 3, "delta": -1})"), Contains("field drift.delta: found -1, expected a number >= 0"));
  CHECK_THROWS_WITH(bad(R"({"last": 3})"), Contains("field drift: expected {\"last\": 3, \"delta\": 0.01"));
  CHECK_THROWS_WITH(bad(R"({"last": 3, "delta": 0.01, "window": 2})"), Contains("field drift: unknown key \"window\""));
  CHECK_THROWS_WITH(bad(R"({"last": 3, "delta": 0.01, "higher_is_better": "yes"})"), Contains("field drift.higher_is_better: expected true or false"));
}
