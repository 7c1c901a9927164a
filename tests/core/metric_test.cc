#include "core/metric.h"

#include <catch2/catch.hpp>

using namespace recbias;
using nlohmann::json;

TEST_CASE("the metric reader takes objects and numbers and reads anything malformed as absent or NaN", "[metric]") {
  const auto doc = json::parse(R"({"position": {"tvd": {"value": 0.05, "ci": [0.03, 0.07], "n": 1000},
                                                "selection_rate": [{"value": 0.1, "ci": [0.08, 0.12]}, 0.2],
                                                "uniform_rate": 0.05,
                                                "short_ci": {"value": 0.4, "ci": [0.1]},
                                                "empty_ci": {"value": 0.4, "ci": []},
                                                "text_ci": {"value": 0.4, "ci": ["a", null]},
                                                "no_value": {"ci": [0, 1]}}})");
  const auto tvd = metric_at(doc, "position.tvd");
  REQUIRE(tvd);
  CHECK(tvd->value == 0.05);
  CHECK(tvd->ci.lo == 0.03);
  CHECK(tvd->ci.hi == 0.07);
  CHECK(tvd->n == 1000);
  // Array indices in the path; a bare number reads as value = both bounds; n absent -> NaN.
  const auto first = metric_at(doc, "position.selection_rate.0");
  REQUIRE(first);
  CHECK(std::isnan(first->n));
  const auto bare = metric_at(doc, "position.selection_rate.1");
  REQUIRE(bare);
  CHECK(bare->ci.lo == 0.2);
  CHECK(bare->ci.hi == 0.2);
  CHECK(metric_at(doc, "position.uniform_rate")->value == 0.05);
  // A ci of the wrong length or type: the value stands, the bounds are NaN (never an out-of-bounds read).
  for (const char* path : {"position.short_ci", "position.empty_ci", "position.text_ci"}) {
    INFO(path);
    const auto m = metric_at(doc, path);
    REQUIRE(m);
    CHECK(m->value == 0.4);
    CHECK(std::isnan(m->ci.lo));
    CHECK(std::isnan(m->ci.hi));
  }
  // Absent: missing keys, indices out of range or not numbers, paths through scalars, objects without a value.
  for (const char* path : {"position.missing", "position.selection_rate.2", "position.selection_rate.-1", "position.selection_rate.x",
                           "position.selection_rate.99999999999", "position.uniform_rate.value", "position.no_value", "", "position."}) {
    INFO(path);
    CHECK_FALSE(metric_at(doc, path));
  }
  CHECK(json_at_path(doc, "position.selection_rate") != nullptr);
  CHECK(json_at_path(json::array({1, 2}), "1")->get<int>() == 2);
}
