#include <catch2/catch.hpp>

#include "core/errors.h"
#include "datasets/jsonl_dataset.h"
#include "datasets/loader.h"
#include "tests/datasets/fixtures.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

TEST_CASE("JSON Lines datasets load items, users with attributes and interactions", "[jsonl]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  const auto ds = load_dataset(dir.path().string());
  CHECK(ds.format == "jsonl");
  CHECK(ds.catalog.size() == 3);
  CHECK(ds.catalog.at(2).title == "Gamma \xc3\xa9");
  CHECK(ds.users.size() == 2);
  CHECK(ds.interactions.size() == 3);
  CHECK(ds.interactions[1].rating == 4.5);
  CHECK(ds.interactions[0].rating == 1.0);  // implicit feedback default
  REQUIRE(ds.attributes.size() == 2);       // sorted by name: age, gender
  CHECK(ds.attributes[0].name == "age");
  CHECK(ds.attributes[1].values == std::vector<std::string>{"F", "M"});
}

TEST_CASE("a dataset written as JSON Lines reads back identically, and is never overwritten", "[jsonl]") {
  TempDir src, out;
  write_tiny_ml100k(src);
  const auto original = load_dataset(src.path().string());
  write_jsonl_dataset(original, out / "copy");
  const auto copy = load_dataset(out / "copy");
  REQUIRE(copy.catalog.size() == original.catalog.size());
  for (std::size_t i = 0; i < copy.catalog.size(); ++i) {
    CHECK(copy.catalog.items()[i].title == original.catalog.items()[i].title);
    CHECK(copy.catalog.items()[i].categories == original.catalog.items()[i].categories);
  }
  REQUIRE(copy.interactions.size() == original.interactions.size());
  CHECK(copy.interactions[3].timestamp == original.interactions[3].timestamp);
  CHECK(copy.users[1].attributes == original.users[1].attributes);
  const auto before = read_file(out / "copy/items.jsonl");
  CHECK_THROWS_WITH(write_jsonl_dataset(original, out / "copy"), Contains("refusing to overwrite"));
  CHECK(read_file(out / "copy/items.jsonl") == before);
}
