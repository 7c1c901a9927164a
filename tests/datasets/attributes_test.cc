#include <catch2/catch.hpp>

#include "core/errors.h"
#include "datasets/attributes.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

TEST_CASE("exact ages fall into MovieLens 1M's bands at their edges", "[attributes]") {
  CHECK(age_band(7) == "<18");
  CHECK(age_band(17) == "<18");
  CHECK(age_band(18) == "18-24");
  CHECK(age_band(24) == "18-24");
  CHECK(age_band(25) == "25-34");
  CHECK(age_band(44) == "35-44");
  CHECK(age_band(45) == "45-49");
  CHECK(age_band(50) == "50-55");
  CHECK(age_band(55) == "50-55");
  CHECK(age_band(56) == "56+");
  CHECK(age_band(73) == "56+");
  CHECK_FALSE(age_band(0).has_value());
  CHECK(movielens_1m_age_band(35) == "35-44");
  CHECK_FALSE(movielens_1m_age_band(30).has_value());
  CHECK(movielens_1m_occupations().size() == 21);
}

TEST_CASE("FaiRLLM's sst_json.json gives 8 attributes with 31 values", "[attributes][real-data]") {
  RECBIAS_REQUIRE_DATASET(folder, "FaiRLLM", "sst_json.json");
  const auto sets = load_fairllm_attributes(folder + "/sst_json.json");
  REQUIRE(sets.size() == 8);
  std::size_t values = 0;
  for (const auto& s : sets) values += s.values.size();
  CHECK(values == 31);
  CHECK(sets[0].name == "age");
  CHECK(sets[0].values == std::vector<std::string>{"a middle aged", "an old", "a young"});
  CHECK(sets.back().name == "physics");
}

TEST_CASE("malformed FaiRLLM attribute files and unknown set names are rejected clearly", "[attributes]") {
  TempDir dir;
  write_file(dir / "bad.json", R"({"age": "old"})");
  CHECK_THROWS_WITH(load_fairllm_attributes(dir / "bad.json"), Contains("attribute \"age\": expected a non-empty array"));
  write_file(dir / "syntax.json", R"({"age": [)");
  CHECK_THROWS_WITH(load_fairllm_attributes(dir / "syntax.json"), Contains("invalid JSON"));
  CHECK_THROWS_WITH(load_fairllm_attributes(dir / "missing.json"), Contains("cannot open"));
  CHECK_THROWS_WITH(attribute_sets("fairlm", {}, ""), Contains("known attribute sets: dataset (alias movielens), fairllm"));
}
