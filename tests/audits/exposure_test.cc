// The exposure audit (audits/exposure_accumulator.h): release years from
// titles, shares computed by hand on a two-user fixture, a random ranker
// exposing each group as often as it is a candidate, and MovieLens 100K.
#include <cmath>

#include <catch2/catch.hpp>

#include "audits/audit_runner.h"
#include "audits/exposure_accumulator.h"
#include "core/errors.h"
#include "datasets/loader.h"
#include "tests/audits/audit_fixtures.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;

TEST_CASE("release years are read from the end of titles, and only there", "[audit][exposure]") {
  CHECK(release_year("Kolya (1996)") == 1996);
  CHECK(release_year("Toy Story (1995) ") == 1995);
  CHECK(release_year("City of Lost Children, The (Cité des enfants perdus, La) (1995)") == 1995);
  CHECK(release_year("No year") == 0);
  CHECK(release_year("(1995) Prefix only") == 0);
  CHECK(release_year("Short (95)") == 0);
  CHECK(release_year("Letters (19a5)") == 0);
  CHECK(release_year("Far future (3021)") == 0);
  CHECK(release_year("") == 0);
}

namespace {

// The two users of the hand fixtures over a four-item catalog (k = 2):
// user 0 is shown items 0, 1, 2, 3, answers positions 2, 0 and holds out item 1;
// user 1 is shown items 3, 2, 1, 0, answers positions 0, 2 and holds out item 0.
ExposureAccumulator two_user_exposure(std::shared_ptr<Catalog> catalog) {
  auto context = std::make_shared<PopularityContext>();
  context->catalog = std::move(catalog);
  ExposureAccumulator acc(context, 2);
  struct Fixture {
    std::vector<ItemIndex> candidates;
    std::vector<int> ranking;  // positions
    int positive;
  };
  const Fixture users[] = {{{0, 1, 2, 3}, {2, 0}, 1}, {{3, 2, 1, 0}, {0, 2}, 3}};
  const std::vector<int> weights = {1, 1};
  const BasePlan plan = identity_only_plan();
  for (std::size_t u = 0; u < 2; ++u) {
    const auto base = fixture_request(u, users[u].candidates, 2, users[u].positive);
    std::vector<RankResponse> responses(1);
    responses[0].ranking = users[u].ranking;
    acc.add(outcome_of(base, plan, responses, weights));
  }
  return acc;
}

}  // namespace

TEST_CASE("exposure, candidate and relevance shares match hand computation on a two-user fixture", "[audit][exposure]") {
  // Items: 0 Drama 1990s, 1 Comedy 1990s, 2 Drama+Comedy 1980s, 3 no genre, no year.
  auto catalog = std::make_shared<Catalog>();
  catalog->add({"0", "A (1995)", {"Drama"}, 0});
  catalog->add({"1", "B (1991)", {"Comedy"}, 0});
  catalog->add({"2", "C (1984)", {"Drama", "Comedy"}, 0});
  catalog->add({"3", "D", {}, 0});
  // User 0 recommends items 2 (w = 1) then 0 (w = 1/log2 3), held out item 1.
  // User 1 recommends items 3 (w = 1) then 1 (w = 1/log2 3), held out item 0.
  const auto acc = two_user_exposure(catalog);
  const auto m = acc.result(0.95);
  const double w2 = 1 / std::log2(3.0), total = 2 * (1 + w2);
  const auto& drama = m["attributes"]["genre"]["groups"]["Drama"];
  // Drama exposure: item 2 (1) + item 0 (w2) for user 0; none for user 1.
  CHECK(drama["exposure_share"]["value"].get<double>() == Approx((1 + w2) / total).epsilon(1e-12));
  // Drama candidates: items 0 and 2 in both users' 4 candidates.
  CHECK(drama["candidate_share"]["value"].get<double>() == Approx(4.0 / 8).epsilon(1e-12));
  // Held out: item 1 (Comedy) and item 0 (Drama).
  CHECK(drama["relevance_share"]["value"].get<double>() == Approx(0.5).epsilon(1e-12));
  CHECK(drama["exposure_minus_relevance"]["value"].get<double>() == Approx((1 + w2) / total - 0.5).margin(1e-12));
  const auto& comedy = m["attributes"]["genre"]["groups"]["Comedy"];
  // Comedy: item 2 (1) for user 0, item 1 (w2) for user 1.
  CHECK(comedy["exposure_share"]["value"].get<double>() == Approx((1 + w2) / total).epsilon(1e-12));
  const auto& eighties = m["attributes"]["era"]["groups"]["1980s"];
  CHECK(eighties["exposure_share"]["value"].get<double>() == Approx(1 / total).epsilon(1e-12));
  CHECK(eighties["relevance_share"]["value"].get<double>() == 0.0);
  // Disparity over eras: exposure 1990s (w2 + w2) vs 1980s (1), normalised; relevance 1990s 2 of 2.
  const double e90 = 2 * w2 / (2 * w2 + 1);
  CHECK(m["attributes"]["era"]["disparity"].get<double>() == Approx((std::abs(e90 - 1) + std::abs((1 - e90) - 0)) / 2).epsilon(1e-12));
  // Recency: user 0 recommends 1984 and 1995 (mean 1989.5), held out 1991: -1.5; user 1 recommends
  // 1991 only (item 3 has no year), held out 1995: -4.
  CHECK(m["recency"]["recommended_year"]["value"].get<double>() == Approx((1989.5 + 1991) / 2).epsilon(1e-12));
  CHECK(m["recency"]["held_out_year"]["value"].get<double>() == Approx(1993).epsilon(1e-12));
  CHECK(m["recency"]["difference"]["value"].get<double>() == Approx(-2.75).epsilon(1e-12));
  // Against the candidates: user 0's candidates 1995, 1991, 1984 (mean 1990): -0.5; user 1's the same: 1991 - 1990 = 1.
  CHECK(m["recency"]["difference_vs_candidates"]["value"].get<double>() == Approx(0.25).epsilon(1e-12));
  // State round trip, and a state of other groups is refused.
  auto context = std::make_shared<PopularityContext>();
  context->catalog = catalog;
  ExposureAccumulator loaded(context, 2);
  loaded.load_state(acc.state());
  CHECK(loaded == acc);
  auto other = acc.state();
  other["groups"][0][1] = "Western";
  CHECK_THROWS_AS(loaded.load_state(other), BadInput);
}

TEST_CASE("a random ranker exposes each item group as often as it is a candidate", "[audit][exposure]") {
  auto s = synthetic_setup(400, 60, 10, 13, 5, true);  // movie-like titles with years, categories A/B
  AuditOptions options;
  options.audits = {"exposure"};
  options.bootstrap_replicates = 200;
  auto model = simulated("relevance=none,noise=1", s.context);
  const auto m = run_audit(*model, s.workload, s.requests, options, {}, {}).report["metrics"]["exposure"];
  int groups = 0;
  for (const char* attribute : {"genre", "era"})
    for (const auto& [name, g] : m["attributes"][attribute]["groups"].items()) {
      INFO(attribute << " " << name);
      const auto& ratio = g["exposure_over_candidates"]["ci"];
      // 95% intervals: with ~12 groups one may miss by chance; a miss far from 1 may not.
      CHECK(ratio[0].get<double>() < 1.25);
      CHECK(ratio[1].get<double>() > 0.8);
      ++groups;
    }
  CHECK(groups >= 8);  // A, B and the decades 1950s-2010s
  // A random ranker is not biased toward old or new among what it is shown. (Against the
  // held-out item it is: users chose popular items, whose years differ from the sampled negatives'.)
  CHECK(m["recency"]["difference_vs_candidates"]["ci"][0].get<double>() < 0);
  CHECK(m["recency"]["difference_vs_candidates"]["ci"][1].get<double>() > 0);
}

TEST_CASE("on MovieLens 100K the exposure audit reports genre and era exposure against candidate and relevance shares",
          "[audit][exposure][movielens]") {
  RECBIAS_REQUIRE_DATASET(path, "ml-100k", "u.data");
  const auto workload = split_leave_one_out(load_dataset(path));
  CandidateOptions candidates;
  candidates.max_users = 300;
  const auto requests = build_requests(workload, candidates);
  auto training = std::make_shared<std::vector<std::vector<ItemIndex>>>();
  for (const auto& u : workload.users) training->push_back(u.history);
  AuditOptions options;
  options.audits = {"exposure"};
  auto model = make_recommender(AdapterSpec::parse("popularity"), AdapterContext{workload.catalog, training, nullptr});
  const auto m = run_audit(*model, workload, requests, options, {}, {}).report["metrics"]["exposure"];
  CHECK(m["attributes"]["genre"]["groups"].size() >= 18);
  CHECK(m["attributes"]["era"]["groups"].contains("1990s"));
  const auto& drama = m["attributes"]["genre"]["groups"]["Drama"];
  for (const char* field : {"exposure_share", "candidate_share", "relevance_share", "exposure_minus_relevance"}) {
    INFO(field);
    CHECK(std::isfinite(drama[field]["value"].get<double>()));
    CHECK(drama[field]["ci"][0].get<double>() <= drama[field]["value"].get<double>());
    CHECK(drama[field]["value"].get<double>() <= drama[field]["ci"][1].get<double>());
  }
  CHECK(std::isfinite(m["recency"]["difference"]["value"].get<double>()));
}

TEST_CASE("item attributes (items.jsonl) are exposure groups, and a given year sets the era and recency", "[audit][exposure]") {
  // The hand fixture's items with providers: X = items 0 and 2 (both Drama),
  // Y = items 1 and 2 (an item in two providers counts in each), item 3 none;
  // item 3 gets a given release year, 1972.
  auto catalog = std::make_shared<Catalog>();
  catalog->add({"0", "A (1995)", {"Drama"}, 0, {{"provider", {"X"}}}});
  catalog->add({"1", "B (1991)", {"Comedy"}, 0, {{"provider", {"Y"}}}});
  catalog->add({"2", "C (1984)", {"Drama", "Comedy"}, 0, {{"provider", {"X", "Y"}}}});
  catalog->add({"3", "D", {}, 0, {}, 1972});
  const auto acc = two_user_exposure(catalog);
  const auto m = acc.result(0.95);
  const double w2 = 1 / std::log2(3.0), total = 2 * (1 + w2);
  // Provider X is the Drama group (items 0 and 2): the same numbers.
  const auto& x = m["attributes"]["provider"]["groups"]["X"];
  const auto& drama = m["attributes"]["genre"]["groups"]["Drama"];
  for (const char* field : {"exposure_share", "candidate_share", "relevance_share", "exposure_minus_relevance"})
    CHECK(x[field]["value"].get<double>() == Approx(drama[field]["value"].get<double>()).margin(1e-12));
  // Provider Y: items 1 and 2 -- user 0 shows item 2 first (1), user 1 item 1 second (w2); held out item 1 once.
  const auto& y = m["attributes"]["provider"]["groups"]["Y"];
  CHECK(y["exposure_share"]["value"].get<double>() == Approx((1 + w2) / total).epsilon(1e-12));
  CHECK(y["relevance_share"]["value"].get<double>() == Approx(0.5).epsilon(1e-12));
  CHECK(m["attributes"]["provider"]["disparity"].is_number());
  // Item 3's given year: era 1970s, exposed first by user 1 (weight 1).
  CHECK(m["attributes"]["era"]["groups"]["1970s"]["exposure_share"]["value"].get<double>() == Approx(1 / total).epsilon(1e-12));
  // Recency: user 1 now recommends 1972 and 1991 (mean 1981.5) and holds out item 0 (1995).
  CHECK(m["recency"]["recommended_year"]["value"].get<double>() == Approx((1989.5 + 1981.5) / 2).epsilon(1e-12));
  // The state round trip keeps the item attribute's groups.
  ExposureAccumulator loaded(nullptr, 2);
  loaded.load_state(acc.state());
  CHECK(loaded == acc);
}
