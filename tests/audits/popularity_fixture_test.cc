// The popularity audit's numbers computed by hand on a three-user fixture:
// six items with training popularity 50, 30, 10, 5, 3, 2 (the short head —
// 80% of interactions — is items 0 and 1), four candidates per user, k = 2.
#include <catch2/catch.hpp>

#include "audits/popularity_accumulator.h"
#include "tests/audits/audit_fixtures.h"

using namespace recbias;

TEST_CASE("popularity metrics match hand computation on a three-user fixture", "[audit][popularity]") {
  auto catalog = std::make_shared<Catalog>();
  const double pop[] = {50, 30, 10, 5, 3, 2};
  for (int i = 0; i < 6; ++i) catalog->add({std::to_string(i), "Item " + std::to_string(i), {}, pop[i]});
  auto context = std::make_shared<PopularityContext>();
  context->catalog = catalog;
  context->in_head = {1, 1, 0, 0, 0, 0};
  // ΔGAP groups: one user each (niche, diverse, blockbuster), with the histories below.
  context->user_group = {{"0", 0}, {"1", 1}, {"2", 2}};
  const std::vector<std::vector<ItemIndex>> histories = {{3, 4}, {2, 3}, {0, 1}};
  // user: candidates (presented = base order), the model's top 2 (positions), the held-out item's position.
  struct Fixture {
    std::vector<ItemIndex> candidates;
    std::vector<int> ranking;
    int positive;
  };
  const Fixture users[] = {
      {{0, 2, 4, 5}, {1, 0}, 3},  // recommends items 2, 0; held out item 5
      {{1, 3, 2, 0}, {3, 0}, 3},  // recommends items 0, 1; held out item 0
      {{5, 4, 3, 1}, {2, 3}, 0},  // recommends items 3, 1; held out item 5
  };
  PopularityAccumulator accumulator(context, 2);
  const std::vector<int> weights = {1, 1};
  const BasePlan plan = testing::identity_only_plan();
  for (std::size_t u = 0; u < 3; ++u) {
    auto base = testing::fixture_request(u, users[u].candidates, 2, users[u].positive);
    base.request.user.history = histories[u];
    std::vector<RankResponse> responses(1);
    responses[0].request_id = base.request.id;
    responses[0].ranking = users[u].ranking;
    accumulator.add(testing::outcome_of(base, plan, responses, weights));
  }
  const auto m = accumulator.result(0.95);
  // ARP: mean of (10 + 50)/2, (50 + 30)/2, (5 + 30)/2 = (30 + 40 + 17.5) / 3.
  CHECK(m["arp"]["value"].get<double>() == Approx(87.5 / 3).epsilon(1e-12));
  // APLT: long-tail shares 1/2, 0, 1/2; ACLT: counts 1, 0, 1.
  CHECK(m["aplt"]["value"].get<double>() == Approx(1.0 / 3).epsilon(1e-12));
  CHECK(m["aclt"]["value"].get<double>() == Approx(2.0 / 3).epsilon(1e-12));
  // PopRSP: P(recommended | head candidate) = 4/4, P(.. | tail candidate) = 2/8;
  // population SD of {1, 0.25} over their mean = 0.375 / 0.625.
  CHECK(m["pop_rsp"]["value"].get<double>() == Approx(0.6).epsilon(1e-12));
  // PopREO: held-out items in the head recommended 1/1, in the tail 0/2: SD {1, 0} / mean = 1.
  CHECK(m["pop_reo"]["value"].get<double>() == Approx(1.0).epsilon(1e-12));
  // Exposure (items 0..5): 2, 2, 1, 1, 0, 0. Gini = sum (2i - n - 1) x_(i) / (n sum x) = 16 / 36; coverage 4/6.
  CHECK(m["gini_exposure"]["value"].get<double>() == Approx(16.0 / 36).epsilon(1e-12));
  CHECK(m["catalog_coverage"]["value"].get<double>() == Approx(4.0 / 6).epsilon(1e-12));
  // Every item was a candidate twice: a random ranker (k/K = 1/2) has Gini 0
  // and covers each item with probability 1 - 1/4; the exposure per
  // appearance, [1, 1, 1/2, 1/2, 0, 0], has the exposure's Gini here.
  CHECK(m["gini_exposure_random"].get<double>() == Approx(0.0).margin(1e-12));
  CHECK(m["catalog_coverage_random"].get<double>() == Approx(0.75).epsilon(1e-12));
  CHECK(m["exposure_rate_gini"].get<double>() == Approx(16.0 / 36).epsilon(1e-12));
  CHECK(m["exposure_rate_gini_random"].get<double>() > 0.0);   // binomial noise of two appearances each
  CHECK(m["exposure_rate_gini_random"].get<double>() < 16.0 / 36);
  // Top-1 popularity percentile among the candidates: 2/3, 1, 2/3; held-out item's: 0, 1, 0.
  CHECK(m["top1_popularity_percentile"]["value"].get<double>() == Approx((2.0 / 3 + 1 + 2.0 / 3) / 3).epsilon(1e-12));
  CHECK(m["positive_popularity_percentile"]["value"].get<double>() == Approx(1.0 / 3).epsilon(1e-12));
  CHECK(m["top1_minus_positive_percentile"]["value"].get<double>() == Approx((2.0 / 3 + 1 + 2.0 / 3) / 3 - 1.0 / 3).epsilon(1e-12));
  // ΔGAP = (mean popularity recommended - of the profile) / of the profile:
  // niche: profile (5 + 3)/2 = 4, recommended (10 + 50)/2 = 30 -> 6.5;
  // diverse: (10 + 5)/2 = 7.5 vs 40 -> 32.5/7.5; blockbuster: 40 vs 17.5 -> -0.5625.
  CHECK(m["delta_gap"]["niche"]["value"].get<double>() == Approx(6.5).epsilon(1e-12));
  CHECK(m["delta_gap"]["diverse"]["value"].get<double>() == Approx(32.5 / 7.5).epsilon(1e-12));
  CHECK(m["delta_gap"]["blockbuster"]["value"].get<double>() == Approx(-0.5625).epsilon(1e-12));
  // Popularity by output rank: rank 1 holds 10, 50, 5; rank 2 holds 50, 30, 30.
  CHECK(m["popularity_by_rank"][0]["value"].get<double>() == Approx(65.0 / 3).epsilon(1e-12));
  CHECK(m["popularity_by_rank"][1]["value"].get<double>() == Approx(110.0 / 3).epsilon(1e-12));
}

TEST_CASE("ΔGAP groups users by the share of popular items in their profile, as the source does", "[audit][popularity]") {
  // Ten items; the popular ones are the top 20% by popularity: items 0 and 1.
  // User B watched item 2 twice: a high mean popularity (9.9) but no popular
  // item, so the source's grouping makes B niche (grouping by mean
  // popularity would make B diverse).
  auto catalog = std::make_shared<Catalog>();
  const double pop[] = {10, 9.95, 9.9, 3, 2, 1, 1, 1, 1, 1};
  for (int i = 0; i < 10; ++i) catalog->add({std::to_string(i), "Item " + std::to_string(i), {}, pop[i]});
  Workload w;
  w.catalog = catalog;
  const std::vector<std::pair<std::string, std::vector<ItemIndex>>> users = {
      {"A", {5, 6}}, {"B", {2, 2}}, {"C", {0, 5}}, {"D", {0, 6}}, {"E", {0, 7}},
      {"F", {1, 8}}, {"G", {1, 9}}, {"H", {1, 5}}, {"I", {0, 1}}, {"J", {0, 0}}};
  for (const auto& [id, history] : users) {
    w.users.push_back({id, history, {}});
    w.held_out.push_back(ItemIndex{3});
  }
  const auto c = make_popularity_context(w, 0.8);
  // Shares: A 0, B 0, C..H 0.5, I 1, J 1 -> niche A, B; blockbuster I, J (10 users: 2 / 6 / 2).
  CHECK(c.user_group.at("A") == 0);
  CHECK(c.user_group.at("B") == 0);
  for (const char* id : {"C", "D", "E", "F", "G", "H"}) CHECK(c.user_group.at(id) == 1);
  CHECK(c.user_group.at("I") == 2);
  CHECK(c.user_group.at("J") == 2);
}
