#include <catch2/catch.hpp>

#include "datasets/describe.h"
#include "datasets/loader.h"
#include "tests/datasets/fixtures.h"

using namespace recbias;
using namespace recbias::testing;

TEST_CASE("Gini of exposure is 0 for equal values and (n-1)/n for one holder", "[describe]") {
  CHECK(gini({5, 5, 5, 5}) == 0.0);
  CHECK(gini({0, 0, 0, 8}) == Approx(0.75));
  // By hand: x = (1, 2, 3, 4), sum (2i - n - 1) x_i = -3 - 2 + 3 + 12 = 10; 10 / (4 * 10) = 0.25
  CHECK(gini({4, 1, 3, 2}) == Approx(0.25));
  CHECK(gini({}) == 0.0);
}

TEST_CASE("the short head is the fewest items covering 80% of interactions", "[describe]") {
  CHECK(short_head_size({50, 30, 10, 5, 5}) == 2);   // 50 + 30 = 80
  CHECK(short_head_size({40, 30, 20, 10}) == 3);     // 90 >= 80 at the third
  CHECK(short_head_size({0, 0}) == 0);
}

TEST_CASE("describe summarises a small dataset", "[describe]") {
  TempDir dir;
  write_tiny_ml100k(dir);
  const auto d = describe_dataset(load_dataset(dir.path().string()));
  CHECK(d["users"] == 3);
  CHECK(d["items"] == 4);
  CHECK(d["interactions"] == 6);
  CHECK(d["density"].get<double>() == Approx(0.5));
  CHECK(d["attributes"]["gender"]["M"] == 2);
  CHECK(d["attributes"]["gender"]["F"] == 1);
  CHECK(d["interactions_per_user"]["max"] == 3.0);
  CHECK(d["ratings"]["5"] == 1);
}

TEST_CASE("describe of the real MovieLens 100K reports its published counts", "[describe][real-data]") {
  RECBIAS_REQUIRE_DATASET(folder, "ml-100k", "u.data");
  const auto d = describe_dataset(load_dataset(folder));
  CHECK(d["users"] == 943);
  CHECK(d["items"] == 1682);
  CHECK(d["interactions"] == 100000);
  CHECK(d["attributes"]["gender"]["M"] == 670);
  CHECK(d["attributes"]["gender"]["F"] == 273);
  CHECK(d["interactions_per_user"]["min"] == 20.0);  // "Every user has at least 20 ratings"
  CHECK(d["ratings"]["4"] == 34174);                  // datasets/README: 4 -> 34,174
}
