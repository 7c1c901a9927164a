#include <catch2/catch.hpp>

#include "core/errors.h"
#include "datasets/loader.h"
#include "datasets/movielens.h"
#include "tests/datasets/fixtures.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

TEST_CASE("MovieLens 100K reader parses every file of a small folder", "[movielens]") {
  TempDir dir;
  write_tiny_ml100k(dir);
  const auto ds = load_movielens_100k(dir.path().string());
  CHECK(ds.format == "movielens-100k");
  REQUIRE(ds.catalog.size() == 4);
  CHECK(ds.catalog.at(2).title == "Caf\xc3\xa9 au lait (1993)");  // ISO-8859-1 -> UTF-8
  CHECK(ds.catalog.at(0).categories == std::vector<std::string>{"Comedy"});
  REQUIRE(ds.users.size() == 3);
  CHECK(ds.users[0].attributes.at("age") == "18-24");
  CHECK(ds.users[1].attributes.at("age") == "50-55");
  CHECK(ds.users[2].attributes.at("age") == "<18");
  CHECK(ds.users[1].attributes.at("gender") == "F");
  CHECK(ds.interactions.size() == 6);
  REQUIRE(ds.attributes.size() == 3);
  CHECK(ds.attributes[2].values == std::vector<std::string>{"engineer", "other", "writer"});
}

TEST_CASE("MovieLens 1M reader maps age and occupation codes to names", "[movielens]") {
  TempDir dir;
  write_tiny_ml1m(dir);
  const auto ds = load_movielens_1m(dir.path().string());
  REQUIRE(ds.users.size() == 2);
  CHECK(ds.users[0].attributes.at("age") == "<18");
  CHECK(ds.users[0].attributes.at("occupation") == "K-12 student");
  CHECK(ds.users[1].attributes.at("age") == "56+");
  CHECK(ds.users[1].attributes.at("occupation") == "self-employed");
  CHECK(ds.catalog.at(0).categories == std::vector<std::string>{"Animation", "Children's", "Comedy"});
  CHECK(ds.catalog.at(2).title == "Caf\xc3\xa9 au lait (1993)");
  CHECK(ds.interactions.size() == 3);
  CHECK(ds.interactions[0].timestamp == 978300760);
}

TEST_CASE("a missing MovieLens 1M ratings file says where to get it", "[movielens]") {
  TempDir dir;
  write_tiny_ml1m(dir);
  std::filesystem::remove(dir / "ratings.dat");
  CHECK_THROWS_WITH(load_movielens_1m(dir.path().string()), Contains("ratings.dat: MovieLens 1M ratings file is missing"));
}

TEST_CASE("the real MovieLens 100K loads with the published counts", "[movielens][real-data]") {
  RECBIAS_REQUIRE_DATASET(folder, "ml-100k", "u.data");
  const auto ds = load_dataset(folder);
  CHECK(ds.format == "movielens-100k");
  CHECK(ds.users.size() == 943);
  CHECK(ds.catalog.size() == 1682);
  CHECK(ds.interactions.size() == 100000);
  int female = 0;
  for (const auto& u : ds.users) female += u.attributes.at("gender") == "F";
  CHECK(female == 273);
  CHECK(ds.attributes[2].values.size() == 21);  // u.occupation
  // u.item line 1 and a Latin-1 title (item 1633: "Á köldum klaka (Cold Fever) (1994)")
  CHECK(ds.catalog.at(0).title == "Toy Story (1995)");
  CHECK(ds.catalog.at(*ds.catalog.find("1633")).title.rfind("\xc3\x81 k\xc3\xb6ldum klaka", 0) == 0);
}

TEST_CASE("the real MovieLens 1M users and movies load, its missing ratings file is reported", "[movielens][real-data]") {
  RECBIAS_REQUIRE_DATASET(folder, "ml-1m", "movies.dat");
  if (std::filesystem::exists(std::filesystem::path(folder) / "ratings.dat")) {
    const auto ds = load_dataset(folder);
    CHECK(ds.users.size() == 6040);
    CHECK(ds.interactions.size() == 1000209);
  } else {
    CHECK_THROWS_WITH(load_dataset(folder), Contains("ratings.dat: MovieLens 1M ratings file is missing"));
  }
}
