#include <catch2/catch.hpp>

#include "core/errors.h"
#include "reports/gate.h"
#include "tests/reports/report_fixtures.h"
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

TEST_CASE("gate: the non-inferiority rule fails only when the whole worsening interval lies beyond delta", "[gate]") {
  // Unpaired (no states): worse by 0.03 with interval about [0.016, 0.044] at delta 0.02.
  const auto hybrid = policy(R"([{"metric": "accuracy.ndcg", "regression": {"delta": 0.02}}])");
  const auto ni = policy(R"([{"metric": "accuracy.ndcg", "regression": {"delta": 0.02, "rule": "non_inferiority"}}])");
  const auto base = report(0.01, 0.0, 0.02, 0.50, 0.49, 0.51);
  const auto slightly = report(0.01, 0.0, 0.02, 0.47, 0.46, 0.48);
  const auto much = report(0.01, 0.0, 0.02, 0.40, 0.39, 0.41);
  // Hybrid: point beyond delta and interval excluding 0 -> fails, although compatible with less than delta.
  CHECK(evaluate_gate(hybrid, slightly, &base).exit_code() == ExitCode::kGateFailed);
  CHECK(evaluate_gate(ni, slightly, &base).exit_code() == ExitCode::kOk);
  const auto r = evaluate_gate(ni, much, &base);
  CHECK(r.exit_code() == ExitCode::kGateFailed);
  CHECK_THAT(r.outcomes[0].message, Contains("unpaired interval") && Contains("lies above 0.02"));
  CHECK_THAT(r.outcomes[0].bound, Contains("(non_inferiority, unpaired)"));
}

TEST_CASE("gate: runs of the same plan and seed are compared paired, replicate by replicate", "[gate]") {
  // Two models on the same synthetic workload and seed: the same users with
  // the same bootstrap weights, so the NDCG difference is paired.
  const auto base = make_test_report("relevance=popularity,noise=0.5", 150);
  const auto worse = make_test_report("relevance=popularity,noise=3", 150);
  const auto p = policy(R"([{"metric": "accuracy.ndcg", "regression": {"delta": 0.0, "rule": "non_inferiority"}}])");
  const auto r = evaluate_gate(p, worse, &base);
  CHECK_THAT(r.outcomes[0].bound, Contains("paired)"));
  CHECK_THAT(r.outcomes[0].bound, !Contains("unpaired"));
  CHECK(r.exit_code() == ExitCode::kGateFailed);  // more noise, clearly worse NDCG: the paired interval lies above 0
  CHECK_THAT(r.outcomes[0].message, Contains("paired interval"));
  // Another workload (other users): unpaired.
  auto other = worse;
  other["provenance"]["workload"]["seed"] = 12;
  CHECK_THAT(evaluate_gate(p, other, &base).outcomes[0].bound, Contains("unpaired"));
}

TEST_CASE("gate: a position-bias regression is paired too, and malformed replicated values fall back to unpaired", "[gate]") {
  // The same scoring model with a stronger primacy: TVD rises; the paired
  // interval of the rise is narrower than the unpaired one.
  const auto base = make_test_report("relevance=popularity,noise=1,position=primacy,position_strength=0.2", 150);
  const auto worse = make_test_report("relevance=popularity,noise=1,position=primacy,position_strength=1.5", 150);
  const auto p = policy(R"([{"metric": "position.tvd", "regression": {"delta": 0.0, "higher_is_better": false, "rule": "non_inferiority"}}])");
  const auto r = evaluate_gate(p, worse, &base);
  INFO(r.outcomes[0].bound << " | " << r.outcomes[0].message << " | " << base["metrics"]["position"]["tvd"].dump() << " | " << worse["metrics"]["position"]["tvd"].dump());
  CHECK_THAT(r.outcomes[0].bound, Contains(", paired)"));
  CHECK(r.exit_code() == ExitCode::kGateFailed);
  // A tampered replicated value (not a number, wrong length) is not trusted: unpaired, no crash.
  for (auto tamper : {json("x"), json::array({1, 2})}) {
    auto bad = worse;
    bad["state"]["replicates"]["position.tvd"]["replicates"] = tamper;
    CHECK_THAT(evaluate_gate(p, bad, &base).outcomes[0].bound, Contains("unpaired"));
  }
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
      {R"({"rules": [{"metric": "accuracy.ndcg", "regression": {"delta": 0.1, "rule": "strict"}}]})",
       "rules[0]: field regression.rule: found \"strict\", expected \"hybrid\" or \"non_inferiority\""},
      {R"({"rules": [{"metric": "accuracy.ndcg", "regression": {"delta": 0.1, "tolerance": 1}}]})",
       "rules[0]: field regression: unknown key \"tolerance\"; known keys: delta, higher_is_better, rule"},
      {R"({"rules": [{"ratio": {"numerator": "a", "denominator": "b", "tau": 2}}]})", "field ratio.tau: found 2, expected a number in (0, 1]"},
      {R"({"rules": [{"max": 1}]})", "rules[0]: missing field \"metric\""},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK_THROWS_WITH(parse_policy(json::parse(c.text), "policy.json"), Contains(c.message));
  }
}

TEST_CASE("TOML policies read like their JSON twins", "[gate][toml]") {
  TempDir dir;
  write_file(dir / "p.toml",
             "# a recbias policy in TOML\n"
             "min_n = 100\n\n"
             "[[rules]]\n"
             "name = \"position \\\"bias\\\"\"   # a comment\n"
             "metric = \"position.tvd\"\n"
             "max = 0.05\n"
             "strictness = \"interval\"\n\n"
             "[[rules]]\n"
             "ratio = { numerator = \"position.selection_rate.0\", denominator = \"position.uniform_rate\", tau = 0.8 }\n\n"
             "[[rules]]\n"
             "metric = \"accuracy.ndcg\"\n"
             "regression = { delta = 0.02, higher_is_better = true }\n");
  const auto toml = load_policy(dir / "p.toml");
  REQUIRE(toml.rules.size() == 3);
  CHECK(toml.rules[0].name == "position \"bias\"");
  CHECK(toml.rules[0].max == 0.05);
  CHECK(toml.rules[0].strictness == "interval");
  CHECK(toml.rules[0].min_n == 100);
  CHECK(toml.rules[1].tau == 0.8);
  CHECK(toml.rules[1].ratio_denominator == "position.uniform_rate");
  CHECK(toml.rules[2].regression_delta == 0.02);
  const auto r = report(0.09, 0.08, 0.10, 0.45, 0.42, 0.48);
  CHECK(evaluate_gate(toml, r, &r).exit_code() == ExitCode::kGateFailed);
  struct Case {
    const char* text;
    const char* message;
  };
  // TOML that toml++ refuses names line and column; a policy error in valid
  // TOML names the line of the rule or field.
  const Case bad[] = {
      {"[[rules]]\nmetric = \"position.tvd\nmax = 1\n", "p.toml:2:23: Error while parsing string"},
      {"[[rules]]\nmax = high\n", "p.toml:2:7: Error while parsing value"},
      {"[[rules]]\nmax = 1\nmax = 2\n", "p.toml:3:7: Error while parsing key-value pair: cannot redefine existing integer 'max'"},
      {"[[rules]]\nname = \"x\xff\"\n", "p.toml:2:9: Encountered invalid utf-8 sequence"},
      {"[[rules]]\nmetric = 'position.tvd'\n", "p.toml:1: rules[0]: the rule checks nothing"},
      {"[[rules]]\nmetric = 'a'\nmax = 1\n\n[[rules]]\nmetric = 'b'\nmax = [1, 2]\n", "p.toml:7: rules[1]: field max: found [1,2], expected a number"},
      {"[[rules]]\nmetric = 'a'\nrule.max = 1\n", "p.toml:3: rules[0]: unknown field \"rule\""},
      {"[[rules]]\nmetric = 'a'\nratio = { numerator = 'a', denominator = 'b', tau = 2 }\n", "p.toml:3: rules[0]: field ratio.tau"},
  };
  for (const auto& c : bad) {
    write_file(dir / "p.toml", c.text);
    INFO(c.text);
    CHECK_THROWS_WITH(load_policy(dir / "p.toml"), Contains(c.message));
  }
}

TEST_CASE("the sample policies in examples/ci parse and agree", "[gate][toml]") {
  const auto json_policy = load_policy(source_dir() + "/examples/ci/policy.json");
  const auto toml_policy = load_policy(source_dir() + "/examples/ci/policy.toml");
  REQUIRE(json_policy.rules.size() == toml_policy.rules.size());
  for (std::size_t i = 0; i < json_policy.rules.size(); ++i) {
    CHECK(json_policy.rules[i].name == toml_policy.rules[i].name);
    CHECK(json_policy.rules[i].metric == toml_policy.rules[i].metric);
    CHECK(json_policy.rules[i].max == toml_policy.rules[i].max);
    CHECK(json_policy.rules[i].min == toml_policy.rules[i].min);
    CHECK(json_policy.rules[i].tau == toml_policy.rules[i].tau);
    CHECK(json_policy.rules[i].regression_delta == toml_policy.rules[i].regression_delta);
    CHECK(json_policy.rules[i].strictness == toml_policy.rules[i].strictness);
    CHECK(json_policy.rules[i].min_n == toml_policy.rules[i].min_n);
  }
}
