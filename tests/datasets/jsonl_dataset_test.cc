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

TEST_CASE("JSON Lines items may give a release year and item attributes (groups), written back as read", "[jsonl]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  write_file(dir / "items.jsonl",
             "{\"id\": \"a\", \"title\": \"Alpha\", \"year\": 1972, \"attributes\": {\"provider\": \"indie\", \"language\": [\"fr\", \"en\", \"fr\"]}}\n"
             "{\"id\": \"b\", \"title\": \"Beta (1999)\", \"attributes\": null}\n"
             "{\"id\": \"c\", \"title\": \"Gamma (2001)\", \"year\": null, \"attributes\": {\"provider\": [\"studio\"]}}\n");
  const auto ds = load_dataset(dir.path().string());
  const auto& a = ds.catalog.at(0);
  CHECK(a.year == 1972);
  CHECK(release_year(a) == 1972);  // the given year: the title has none
  CHECK(a.attributes.at("provider") == std::vector<std::string>{"indie"});
  CHECK(a.attributes.at("language") == std::vector<std::string>{"fr", "en"});  // a repeated value once
  CHECK(release_year(ds.catalog.at(1)) == 1999);  // from the title
  CHECK(ds.catalog.at(1).attributes.empty());
  CHECK(in_item_group(a, "provider", "indie"));
  CHECK(in_item_group(a, "language", "en"));
  CHECK(in_item_group(a, "era", "1970s"));
  CHECK(!in_item_group(ds.catalog.at(2), "provider", "indie"));
  CHECK(!in_item_group(a, "studio", "indie"));
  TempDir out;
  write_jsonl_dataset(ds, out / "copy");
  const auto copy = load_dataset(out / "copy");
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(copy.catalog.at(static_cast<ItemIndex>(i)).attributes == ds.catalog.at(static_cast<ItemIndex>(i)).attributes);
    CHECK(copy.catalog.at(static_cast<ItemIndex>(i)).year == ds.catalog.at(static_cast<ItemIndex>(i)).year);
  }
  // Bad item attributes and years name the line, the field, the value and what was expected.
  const std::pair<const char*, const char*> bad[] = {
      {"{\"id\": \"a\", \"attributes\": [\"indie\"]}", "items.jsonl:1: field attributes: found \"[\\\"indie\\\"]\", expected an object mapping"},
      {"{\"id\": \"a\", \"attributes\": {\"genre\": \"Drama\"}}", "field attributes.genre: found \"genre\", expected an attribute name other than genre"},
      {"{\"id\": \"a\", \"attributes\": {\"provider\": \"\"}}", "field attributes.provider: found \"\\\"\\\"\", expected a non-empty string"},
      {"{\"id\": \"a\", \"attributes\": {\"provider\": [1]}}", "field attributes.provider: found \"1\", expected a non-empty string"},
      {"{\"id\": \"a\", \"attributes\": {\"provider\": []}}", "field attributes.provider: found \"[]\", expected a non-empty string or a non-empty array"},
      {"{\"id\": \"a\", \"year\": 95}", "items.jsonl:1: field year: found \"95\", expected an integer release year in 1800-2100"},
      {"{\"id\": \"a\", \"year\": \"1995\"}", "field year: found \"\\\"1995\\\"\", expected an integer release year"},
  };
  for (const auto& [line, message] : bad) {
    INFO(line);
    write_file(dir / "items.jsonl", std::string(line) + "\n{\"id\": \"b\"}\n{\"id\": \"c\"}\n");
    CHECK_THROWS_WITH(load_dataset(dir.path().string()), Contains(message));
  }
}
