#include <algorithm>
#include <set>

#include <catch2/catch.hpp>

#include "core/errors.h"
#include "datasets/loader.h"
#include "datasets/workload.h"
#include "tests/datasets/fixtures.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

TEST_CASE("leave-one-out holds out each user's latest interaction, popularity counts training only", "[split]") {
  TempDir dir;
  write_tiny_ml100k(dir);
  const auto w = split_leave_one_out(load_dataset(dir.path().string()));
  const auto& cat = *w.catalog;
  // user 1: items 1@100, 2@200, 3@300 -> held out item 3
  CHECK(cat.at(*w.held_out[0]).id == "3");
  CHECK(w.users[0].history == std::vector<ItemIndex>{*cat.find("1"), *cat.find("2")});
  // user 2: items 2@150 and 4@150 tie on time -> broken by item index: 4 is held out
  CHECK(cat.at(*w.held_out[1]).id == "4");
  // user 3 has one interaction: no held-out item, it stays in training
  CHECK_FALSE(w.held_out[2].has_value());
  CHECK(w.users[2].history.size() == 1);
  // training popularity: item 1 by users 1 and 3, item 2 by users 1 and 2, items 3 and 4 held out
  CHECK(cat.at(*cat.find("1")).popularity == 2);
  CHECK(cat.at(*cat.find("2")).popularity == 2);
  CHECK(cat.at(*cat.find("3")).popularity == 0);
  CHECK(w.training_interactions == 4);
}

TEST_CASE("the split does not depend on the row order of the ratings file", "[split]") {
  TempDir a, b;
  write_tiny_ml100k(a);
  write_tiny_ml100k(b);
  write_file(b / "u.data", "3\t1\t1\t50\n2\t4\t2\t150\n1\t3\t4\t300\n2\t2\t4\t150\n1\t2\t3\t200\n1\t1\t5\t100\n");
  const auto wa = split_leave_one_out(load_dataset(a.path().string()));
  const auto wb = split_leave_one_out(load_dataset(b.path().string()));
  CHECK(wa.held_out == wb.held_out);
  for (std::size_t u = 0; u < wa.users.size(); ++u) CHECK(wa.users[u].history == wb.users[u].history);
}

TEST_CASE("candidate lists hold the positive and distinct unseen negatives, deterministically", "[candidates][real-data]") {
  RECBIAS_REQUIRE_DATASET(folder, "ml-100k", "u.data");
  const auto w = split_leave_one_out(load_dataset(folder));
  for (auto sampling : {NegativeSampling::kUniform, NegativeSampling::kPopularity}) {
    CandidateOptions options;
    options.sampling = sampling;
    options.seed = 17;
    const auto set = build_requests(w, options);
    CHECK(set.requests.size() == 943);
    CHECK(set.skipped_users == 0);
    for (const auto& r : set.requests) {
      const auto& c = r.request.candidates;
      REQUIRE(c.size() == 20);
      CHECK(std::set<ItemIndex>(c.begin(), c.end()).size() == 20);
      CHECK(c[static_cast<std::size_t>(r.positive_position)] == r.positive);
      const auto& history = w.users[static_cast<std::size_t>(r.user)].history;
      for (auto item : c) {
        CHECK(std::find(history.begin(), history.end(), item) == history.end());
        if (sampling == NegativeSampling::kPopularity && item != r.positive) CHECK(w.catalog->at(item).popularity > 0);
      }
    }
    const auto again = build_requests(w, options);
    for (std::size_t i = 0; i < set.requests.size(); ++i)
      CHECK(again.requests[i].request.candidates == set.requests[i].request.candidates);
  }
}

TEST_CASE("a user's candidates do not depend on which other users are sampled", "[candidates]") {
  TempDir dir;
  write_tiny_ml100k(dir);
  const auto w = split_leave_one_out(load_dataset(dir.path().string()));
  CandidateOptions all;
  all.negatives = 1;
  all.seed = 3;
  const auto full = build_requests(w, all);
  REQUIRE(full.requests.size() == 2);
  CandidateOptions one = all;
  one.max_users = 1;
  const auto sample = build_requests(w, one);
  REQUIRE(sample.requests.size() == 1);
  const auto& chosen = sample.requests[0];
  const auto& same = chosen.user == full.requests[0].user ? full.requests[0] : full.requests[1];
  CHECK(chosen.request.candidates == same.request.candidates);
}

TEST_CASE("popularity-weighted sampling never draws an item without training interactions", "[candidates]") {
  TempDir dir;
  write_tiny_ml100k(dir);
  const auto w = split_leave_one_out(load_dataset(dir.path().string()));
  CandidateOptions options;
  options.negatives = 1;
  options.sampling = NegativeSampling::kPopularity;
  const auto set = build_requests(w, options);
  // user 1 has seen 1, 2, 3; the only unseen item (4) has training popularity 0 -> skipped
  // user 2 has seen 2, 4; unseen 1 (popularity 2) and 3 (popularity 0) -> always 1
  REQUIRE(set.requests.size() == 1);
  CHECK(set.skipped_users == 1);
  const auto& c = set.requests[0].request.candidates;
  CHECK(std::find(c.begin(), c.end(), *w.catalog->find("1")) != c.end());
  CHECK_THROWS_WITH(build_requests(w, CandidateOptions{0}), Contains("expected at least 1 negative"));
}
