#include <catch2/catch.hpp>

#include "core/errors.h"
#include "reports/gate.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

json metric(double value, double lo, double hi, double n = 1000) { return {{"value", value}, {"ci", {lo, hi}}, {"n", n}}; }

// A minimal report (the gate reads only "metrics").
json report(double tvd, double tvd_lo, double tvd_hi, double ndcg, double ndcg_lo, double ndcg_hi, double n = 1000) {
  return {{"metrics",
           {{"position", {{"tvd", metric(tvd, tvd_lo, tvd_hi, n)},
                          {"selection_rate", {metric(0.09, 0.08, 0.10, n), metric(0.05, 0.04, 0.06, n)}},
                          {"uniform_rate", 0.05},
                          {"chi_square", {{"p_value", 1e-9}, {"p_adjusted", 2e-9}}}}},
            {"accuracy", {{"ndcg", metric(ndcg, ndcg_lo, ndcg_hi, n)}}}}}};
}

GatePolicy policy(const std::string& rules) { return parse_policy(json::parse(R"({"min_n": 100, "rules": )" + rules + "}"), "policy.json"); }

}  // namespace

TEST_CASE("gate: policies x reports -> verdicts and exit codes", "[gate]") {
  const auto biased = report(0.09, 0.08, 0.10, 0.45, 0.42, 0.48);
  const auto borderline = report(0.06, 0.04, 0.08, 0.45, 0.42, 0.48);
  const auto clean = report(0.01, 0.005, 0.02, 0.45, 0.42, 0.48);
  const auto tiny = report(0.09, 0.0, 0.3, 0.45, 0.1, 0.9, 20);
  struct Case {
    const char* name;
    const char* rules;
    const json* report;
    ExitCode expected;
    const char* message;  // part of the first rule's message
  };
  const Case cases[] = {
      {"point bound crossed", R"([{"metric": "position.tvd", "max": 0.05}])", &biased, ExitCode::kGateFailed, "value 0.09 > 0.05"},
      {"point bound respected", R"([{"metric": "position.tvd", "max": 0.05}])", &clean, ExitCode::kOk, "within bounds"},
      {"interval strictness: the point crosses but the interval does not lie beyond",
       R"([{"metric": "position.tvd", "max": 0.05, "strictness": "interval"}])", &borderline, ExitCode::kOk, "within bounds"},
      {"point strictness fails the same borderline report", R"([{"metric": "position.tvd", "max": 0.05}])", &borderline,
       ExitCode::kGateFailed, "value 0.06 > 0.05"},
      {"interval strictness fails when the whole interval is beyond",
       R"([{"metric": "position.tvd", "max": 0.05, "strictness": "interval"}])", &biased, ExitCode::kGateFailed,
       "interval lower end 0.08 > 0.05"},
      {"min bound", R"([{"metric": "accuracy.ndcg", "min": 0.5}])", &clean, ExitCode::kGateFailed, "value 0.45 < 0.5"},
      {"four-fifths ratio band",
       R"([{"ratio": {"numerator": "position.selection_rate.0", "denominator": "position.uniform_rate", "tau": 0.8}}])", &biased,
       ExitCode::kGateFailed, "value 1.8 > 1.25"},
      {"a plain number path", R"([{"metric": "position.chi_square.p_adjusted", "min": 0.05}])", &biased, ExitCode::kGateFailed, "< 0.05"},
      {"too few observations is inconclusive", R"([{"metric": "position.tvd", "max": 0.05}])", &tiny, ExitCode::kInconclusive,
       "n = 20 is below min_n = 100"},
      {"a failure outranks an inconclusive rule",
       R"([{"metric": "position.tvd", "max": 0.05, "min_n": 1000000}, {"metric": "accuracy.ndcg", "min": 0.9}])", &clean,
       ExitCode::kGateFailed, "below min_n"},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      const auto result = evaluate_gate(policy(c.rules), *c.report, nullptr);
      CHECK(result.exit_code() == c.expected);
      CHECK_THAT(result.outcomes.at(0).message, Contains(c.message));
    }
  }
}

TEST_CASE("gate: baseline regression needs a real, significant worsening beyond delta", "[gate]") {
  const auto p = policy(R"([{"name": "ndcg regression", "metric": "accuracy.ndcg", "regression": {"delta": 0.02, "higher_is_better": true}}])");
  const auto base = report(0.01, 0.0, 0.02, 0.50, 0.48, 0.52);
  const auto worse = report(0.01, 0.0, 0.02, 0.40, 0.38, 0.42);
  const auto noisy = report(0.01, 0.0, 0.02, 0.47, 0.30, 0.64);
  const auto better = report(0.01, 0.0, 0.02, 0.55, 0.53, 0.57);
  auto worse_result = evaluate_gate(p, worse, &base);
  CHECK(worse_result.exit_code() == ExitCode::kGateFailed);
  CHECK_THAT(worse_result.outcomes[0].message, Contains("worse than baseline by 0.1"));
  CHECK(evaluate_gate(p, noisy, &base).exit_code() == ExitCode::kOk);  // worse by 0.03 > delta, but the interval includes 0
  CHECK(evaluate_gate(p, better, &base).exit_code() == ExitCode::kOk);
  CHECK_THROWS_WITH(evaluate_gate(p, worse, nullptr), Contains("pass --baseline"));
}

TEST_CASE("gate: unknown metric paths and malformed policies are bad input naming what is wrong", "[gate][bad-input]") {
  const auto r = report(0.01, 0.0, 0.02, 0.5, 0.4, 0.6);
  CHECK_THROWS_WITH(evaluate_gate(policy(R"([{"metric": "position.tvdd", "max": 0.1}])"), r, nullptr),
                    Contains("unknown metric path \"position.tvdd\"; available paths: accuracy.ndcg, position.chi_square.p_adjusted") &&
                        Contains("position.tvd, position.uniform_rate"));
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {R"({"rules": []})", "policy.json: expected an object with a non-empty \"rules\" array"},
      {R"({"rules": [{"metric": "position.tvd"}]})", "rules[0]: the rule checks nothing"},
      {R"({"rules": [{"metric": "position.tvd", "max": "low"}]})", "rules[0]: field max: found \"low\", expected a number"},
      {R"({"rules": [{"metric": "position.tvd", "maximum": 1}]})", "rules[0]: unknown field \"maximum\"; known fields: name, metric, max"},
      {R"({"rules": [{"metric": "position.tvd", "max": 1, "strictness": "strict"}]})", "field strictness: found \"strict\""},
      {R"({"rules": [{"ratio": {"numerator": "a", "denominator": "b", "tau": 2}}]})", "field ratio.tau: found 2, expected a number in (0, 1]"},
      {R"({"rules": [{"max": 1}]})", "rules[0]: missing field \"metric\""},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK_THROWS_WITH(parse_policy(json::parse(c.text), "policy.json"), Contains(c.message));
  }
  TempDir dir;
  write_file(dir / "p.toml", "[[rules]]\n");
  CHECK_THROWS_WITH(load_policy(dir / "p.toml"), Contains("write the policy as JSON"));
}
