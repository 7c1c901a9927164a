#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <vector>

#include <catch2/catch.hpp>

#include "core/errors.h"
#include "core/stats.h"
#include "datasets/jsonl_dataset.h"
#include "datasets/loader.h"
#include "datasets/synthetic.h"
#include "datasets/workload.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

// Least-squares slope of log(count) on log(rank) over ranks [from, to] of the
// items' interaction counts sorted in decreasing order.
double zipf_slope(const Dataset& d, int from, int to) {
  std::vector<double> counts(d.catalog.size(), 0.0);
  for (const auto& row : d.interactions) counts[static_cast<std::size_t>(row.item)] += 1;
  std::sort(counts.begin(), counts.end(), std::greater<>());
  double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
  for (int r = from; r <= to; ++r) {
    const double x = std::log(static_cast<double>(r)), y = std::log(counts[static_cast<std::size_t>(r - 1)]);
    sx += x, sy += y, sxx += x * x, sxy += x * y, n += 1;
  }
  return -(n * sxy - sx * sy) / (n * sxx - sx * sx);
}

// Interactions of each gender with the first half of the genres vs the rest.
std::vector<std::vector<double>> gender_by_genre_half(const Dataset& d, int genres) {
  std::vector<std::vector<double>> table(2, std::vector<double>(2, 0.0));
  for (const auto& row : d.interactions) {
    const auto& item = d.catalog.at(row.item);
    const int first_genre = std::stoi(item.categories.front().substr(std::string("genre-").size()));
    const int g = d.users[static_cast<std::size_t>(row.user)].attributes.at("gender") == "F" ? 0 : 1;
    table[static_cast<std::size_t>(g)][first_genre < genres / 2 ? 0 : 1] += 1;
  }
  return table;
}

}  // namespace

TEST_CASE("synthetic dataset is a pure function of its options", "[synthetic]") {
  SyntheticOptions o;
  o.users = 200;
  o.items = 300;
  TempDir dir;
  write_jsonl_dataset(make_synthetic_dataset(o), dir / "a");
  write_jsonl_dataset(make_synthetic_dataset(o), dir / "b");
  o.seed = 1;
  write_jsonl_dataset(make_synthetic_dataset(o), dir / "c");
  for (const char* file : {"items.jsonl", "users.jsonl", "interactions.jsonl"}) {
    INFO(file);
    CHECK(read_file(dir / "a/" + file) == read_file(dir / "b/" + file));
  }
  CHECK(read_file(dir / "a/interactions.jsonl") != read_file(dir / "c/interactions.jsonl"));
  // It reads back through the generic loader with the attributes it states.
  const auto back = load_dataset(dir / "a");
  CHECK(back.users.size() == 200);
  CHECK(back.catalog.size() == 300);
  REQUIRE(back.attributes.size() == 2);
  CHECK(back.attributes[0].name == "age");
  CHECK(back.attributes[1].values == std::vector<std::string>{"F", "M"});
}

TEST_CASE("synthetic dataset: every user can be audited with 1 + 19 candidates", "[synthetic]") {
  SyntheticOptions o;
  o.users = 300;
  o.items = 200;  // small catalog: the cap on interactions leaves room for 19 negatives
  o.mean_extra = 400;
  const auto w = split_leave_one_out(make_synthetic_dataset(o));
  CandidateOptions c;
  const auto requests = build_requests(w, c);
  CHECK(requests.skipped_users == 0);
  CHECK(requests.requests.size() == 300);
  for (const auto& user : w.users) CHECK(user.history.size() >= static_cast<std::size_t>(o.min_interactions - 1));
}

TEST_CASE("synthetic dataset has the popularity exponent it was asked for", "[synthetic]") {
  // Items are drawn without replacement per user, so the head saturates (an
  // item at rank 1 is in most histories) and the observed slope is a little
  // flatter than the exponent of the weights. Over ranks 50..500 of 1500
  // items with ~60 interactions per user the fitted slopes were 0.575 (for
  // 0.6) and 0.957 (for 1.0) at seed 0 when this test was written; the test
  // allows 0.15, and an exponent off by 0.3 falls outside it.
  for (double a : {0.6, 1.0}) {
    SyntheticOptions o;
    o.users = 2000;
    o.zipf_exponent = a;
    o.attribute_effect = 0;
    const double slope = zipf_slope(make_synthetic_dataset(o), 50, 500);
    INFO("exponent " << a << ", fitted slope " << slope);
    CHECK(slope == Approx(a).margin(0.15));
  }
}

TEST_CASE("synthetic dataset: gender shifts genre tastes by the stated effect, and not at all at effect 0", "[synthetic]") {
  SyntheticOptions o;
  o.users = 1000;
  o.genres = 8;
  o.attribute_effect = 1.0;
  const auto with_effect = gender_by_genre_half(make_synthetic_dataset(o), o.genres);
  o.attribute_effect = 0.0;
  const auto without = gender_by_genre_half(make_synthetic_dataset(o), o.genres);
  auto share_first_half = [](const std::vector<double>& row) { return row[0] / (row[0] + row[1]); };
  // Effect 1: F users' weights for genres 0-3 are e times M users' (and the
  // reverse for 4-7), so the odds ratio of the first half is about e^2 = 7.4
  // before saturation, popularity and two-genre items pull it down (3.79 at
  // seed 0 when this test was written); at least 3 is asked, and effect 0.5
  // (odds ratio about e = 2.7 before the same discount) falls below it.
  const double odds_f = share_first_half(with_effect[0]) / (1 - share_first_half(with_effect[0]));
  const double odds_m = share_first_half(with_effect[1]) / (1 - share_first_half(with_effect[1]));
  INFO("odds ratio " << odds_f / odds_m);
  CHECK(odds_f / odds_m > 3.0);
  CHECK(chi_square_independence(with_effect).p_value < 1e-12);
  // Effect 0: gender is independent of genre; a chi-square test at 0.001
  // would wrongly reject 1 time in 1000 seeds (this seed is fixed).
  CHECK(chi_square_independence(without).p_value > 0.001);
}

TEST_CASE("synthetic dataset rejects options it cannot honour", "[synthetic]") {
  SyntheticOptions o;
  o.items = 30;
  CHECK_THROWS_AS(make_synthetic_dataset(o), BadInput);
  CHECK_THROWS_WITH(make_synthetic_dataset(o), Contains("items = 30, expected > min_interactions + 20 = 40"));
  o = SyntheticOptions{};
  o.zipf_exponent = -1;
  CHECK_THROWS_WITH(make_synthetic_dataset(o), Contains("zipf_exponent = -1"));
}
