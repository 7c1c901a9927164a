#include <catch2/catch.hpp>

#include "core/errors.h"
#include "reports/report_io.h"
#include "reports/schema.h"
#include "tests/reports/report_fixtures.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

TEST_CASE("reports the audit writes validate against reports/report.schema.json", "[schema]") {
  const auto report = make_test_report();
  const auto errors = validate_json(report, report_schema());
  INFO((errors.empty() ? std::string("") : errors[0]));
  CHECK(errors.empty());
  CHECK_NOTHROW(check_report(report, "report.json"));
  // The schema in the repository is the one embedded in the binary.
  CHECK(nlohmann::json::parse(read_file(source_dir() + "/reports/report.schema.json")) == report_schema());
}

TEST_CASE("a report missing a required field or with a wrong type is rejected with the field named", "[schema]") {
  const auto good = make_test_report();
  struct Case {
    const char* pointer;
    const char* message;
  };
  const Case removed[] = {
      {"/provenance", "/: missing required field \"provenance\""},
      {"/metrics/position/tvd/ci", "/metrics/position/tvd: missing required field \"ci\""},
      {"/counts/calls", "/counts: missing required field \"calls\""},
      {"/provenance/dataset/sha256", "/provenance/dataset: missing required field \"sha256\""},
  };
  for (const auto& c : removed) {
    auto bad = good;
    const auto pointer = nlohmann::json::json_pointer(c.pointer);
    bad[pointer.parent_pointer()].erase(pointer.back());
    INFO(c.pointer);
    CHECK_THROWS_WITH(check_report(bad, "bad.json"), Contains("bad.json: not a valid recbias report") && Contains(c.message));
  }
  auto wrong = good;
  wrong["schema"] = "recbias.report/0";
  CHECK_THROWS_WITH(check_report(wrong, "old.json"), Contains("/schema: found \"recbias.report/0\", expected \"recbias.report/1\""));
  wrong = good;
  wrong["metrics"]["accuracy"]["ndcg"]["value"] = "high";
  CHECK_THROWS_WITH(check_report(wrong, "r.json"), Contains("/metrics/accuracy/ndcg/value: found string, expected type number or null"));
  wrong = good;
  wrong["config"]["correction"] = "bonferroni";
  CHECK_THROWS_WITH(check_report(wrong, "r.json"), Contains("/config/correction: found \"bonferroni\", expected one of"));
}

TEST_CASE("reading a report back: missing files, and a position prior that is absent or not positive, name file and field", "[schema][bad-input]") {
  CHECK_THROWS_WITH(read_report_file("/nonexistent/report.json"), Contains("cannot open report /nonexistent/report.json"));
  TempDir dir;
  write_file(dir / "bad.json", "{\"schema\": \"recbias.report/1\"}");
  CHECK_THROWS_AS(read_report_file(dir / "bad.json"), BadInput);  // fails the schema
  auto report = make_test_report();
  const auto prior = position_prior_from_report(report, "probe.json", "selection_rate").values;
  REQUIRE(prior.size() == report["metrics"]["position"]["selection_rate"].size());
  CHECK(prior[0] == report["metrics"]["position"]["selection_rate"][0]["value"].get<double>());
  // A position never picked: Jeffreys' add-half rate from the picks n, so its log-prior is finite.
  auto zero = report;
  zero["metrics"]["position"]["selection_rate"][3]["value"] = 0.0;
  const double n = zero["metrics"]["position"]["selection_rate"][3]["n"].get<double>();
  const double k = static_cast<double>(prior.size());
  CHECK(position_prior_from_report(zero, "probe.json", "selection_rate").values[3] == Approx(0.5 / (n + k / 2)));
  // Without its picks, or negative, it is bad input naming the field.
  zero["metrics"]["position"]["selection_rate"][3].erase("n");
  CHECK_THROWS_WITH(position_prior_from_report(zero, "probe.json", "selection_rate"),
                    Contains("probe.json: metrics.position.selection_rate.3.value: expected a positive number (or 0 with its picks n), found 0.0"));
  zero["metrics"]["position"]["selection_rate"][3]["value"] = -0.1;
  CHECK_THROWS_WITH(position_prior_from_report(zero, "probe.json", "selection_rate"), Contains("selection_rate.3.value: expected a positive number"));
  auto none = report;
  none["metrics"].erase("position");
  CHECK_THROWS_WITH(position_prior_from_report(none, "probe.json"),
                    Contains("probe.json has no metrics.position.selection_rate (run the position audit)"));
}

TEST_CASE("a position prior from a scoring model's report: selection rates, or its mean probability when a position was never picked", "[schema][bad-input]") {
  auto report = make_test_report("position=llmrank,scores=true");
  const auto& position = report["metrics"]["position"];
  REQUIRE(position.contains("mean_probability"));
  // auto with every position picked: the selection rates.
  CHECK(position_prior_from_report(report, "probe.json").from == "selection_rate");
  // The mean probability; its values sum to 1 (one softmax per response).
  const auto prior = position_prior_from_report(report, "probe.json", "mean_probability");
  CHECK(prior.from == "mean_probability");
  double sum = 0;
  for (std::size_t j = 0; j < prior.values.size(); ++j) {
    CHECK(prior.values[j] == position["mean_probability"][j]["value"].get<double>());
    sum += prior.values[j];
  }
  CHECK(sum == Approx(1.0).epsilon(1e-9));
  CHECK(position_prior_from_report(report, "probe.json", "selection_rate").from == "selection_rate");
  // auto with a position never picked (its add-half rate would over-correct): the mean probability.
  auto peaked = report;
  peaked["metrics"]["position"]["selection_rate"][5]["value"] = 0.0;
  CHECK(position_prior_from_report(peaked, "probe.json").from == "mean_probability");
  CHECK(position_prior_from_report(peaked, "probe.json", "selection_rate").from == "selection_rate");
  // A position masked in every response (mean 0) takes the smallest positive mean: its scores stay -inf anyway.
  auto masked = report;
  masked["metrics"]["position"]["mean_probability"][2]["value"] = 0.0;
  const auto m = position_prior_from_report(masked, "probe.json", "mean_probability").values;
  CHECK(m[2] == *std::min_element(prior.values.begin(), prior.values.end()));
  // Bad values and absent fields name the file and field.
  masked["metrics"]["position"]["mean_probability"][2]["value"] = 1.5;
  CHECK_THROWS_WITH(position_prior_from_report(masked, "probe.json", "mean_probability"),
                    Contains("probe.json: metrics.position.mean_probability.2.value: expected a probability in [0, 1], found 1.5"));
  auto unscored = make_test_report("position=llmrank,scores=false");
  REQUIRE_FALSE(unscored["metrics"]["position"].contains("mean_probability"));
  CHECK(position_prior_from_report(unscored, "probe.json").from == "selection_rate");
  CHECK_THROWS_WITH(position_prior_from_report(unscored, "probe.json", "mean_probability"),
                    Contains("probe.json has no metrics.position.mean_probability") && Contains("use from=selection_rate"));
  CHECK_THROWS_WITH(position_prior_from_report(report, "probe.json", "rates"),
                    Contains("from=rates: expected auto, mean_probability or selection_rate"));
}
