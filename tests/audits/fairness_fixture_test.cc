// The fairness audit's numbers computed by hand on a 60-user fixture: one
// attribute "age" with values young / mid / old, K = 4, k = 2, Jaccard as the
// tested metric. Every user gets the neutral list [0,1], the noise-floor list
// [0,1], young [0,1], old [2,3], and mid [0,2] for even users, [0,1] for odd
// ones. Users 0..29 are really young with the held-out item at base position
// 0; users 30..59 are really old with it at position 3.
#include <catch2/catch.hpp>

#include <cmath>

#include <fmt/format.h>

#include "audits/fairness_accumulator.h"
#include "tests/audits/audit_fixtures.h"

using namespace recbias;

namespace {

AuditOptions fixture_options() {
  AuditOptions options;
  options.attributes = {{"age", {"young", "mid", "old"}}};
  options.fairness_test_metric = "jaccard";
  options.bootstrap_replicates = 2;
  return options;
}

const std::vector<Profile> kProfiles = {{{"age", "young"}}, {{"age", "mid"}}, {{"age", "old"}}};

// Adds the fixture's users first..last-1 (see the top of the file).
void add_users(FairnessAccumulator& acc, int first, int last) {
  BasePlan plan;
  plan.identity = 0;
  plan.counterfactual = {1, 2, 3};
  plan.noise = 4;
  plan.calls = {0, 1, 2, 3, 4};
  const std::vector<int> weights = {1, 1};
  for (int u = first; u < last; ++u) {
    const bool young = u < 30;
    EvalRequest base;
    base.request.id = fmt::format("u{}", u);
    base.request.user.id = base.request.id;
    base.request.candidates = {0, 1, 2, 3};
    base.request.k = 2;
    base.positive_position = young ? 0 : 3;
    base.positive = static_cast<ItemIndex>(base.positive_position);
    const std::vector<std::vector<int>> lists = {{0, 1}, {0, 1}, u % 2 == 0 ? std::vector<int>{0, 2} : std::vector<int>{0, 1}, {2, 3}, {0, 1}};
    std::vector<RankResponse> responses;
    for (const auto& l : lists) {
      RankResponse r;
      r.request_id = base.request.id;
      r.ranking = l;
      responses.push_back(r);
    }
    const std::map<std::string, std::string> real = {{"age", young ? "young" : "old"}};
    acc.add(testing::outcome_of(base, plan, responses, weights, &real));
  }
}

}  // namespace

TEST_CASE("fairness metrics match hand computation on a 60-user fixture", "[audit][fairness]") {
  FairnessAccumulator acc(fixture_options(), kProfiles);
  add_users(acc, 0, 60);
  const auto m = acc.result(0.95, {}, 0.05);
  const auto& age = m["attributes"]["age"];
  // Jaccard to neutral [0,1]: young 1; mid [0,2] 1/3 and [0,1] 1, mean 2/3; old 0.
  CHECK(age["values"]["young"]["jaccard"]["value"].get<double>() == Approx(1.0).epsilon(1e-12));
  CHECK(age["values"]["mid"]["jaccard"]["value"].get<double>() == Approx(2.0 / 3).epsilon(1e-12));
  CHECK(age["values"]["old"]["jaccard"]["value"].get<double>() == Approx(0.0).margin(1e-15));
  CHECK(m["noise_floor"]["jaccard"]["value"].get<double>() == Approx(1.0).epsilon(1e-12));
  // SNSR = 1 - 0; SNSV = population SD of {1, 2/3, 0}: mean 5/9, squared
  // deviations (16 + 1 + 25)/81, over 3 -> sqrt(14)/9.
  CHECK(age["snsr"]["jaccard"]["value"].get<double>() == Approx(1.0).epsilon(1e-12));
  CHECK(age["snsv"]["jaccard"]["value"].get<double>() == Approx(std::sqrt(14.0) / 9).epsilon(1e-12));
  // The permutation nulls over the 60 complete users: the observed spread is
  // the largest any within-user shuffle can give, and no shuffle of 60 users
  // reaches it (probability < 1e-15), so p = 1 / (1 + 1000).
  CHECK(age["snsr_null"]["value"].get<double>() == Approx(1.0).epsilon(1e-12));
  CHECK(age["snsr_null"]["users_complete"].get<int>() == 60);
  CHECK(age["snsr_null"]["test"]["p_value"].get<double>() == Approx(1.0 / 1001).epsilon(1e-12));
  CHECK(age["snsv_null"]["value"].get<double>() == Approx(std::sqrt(14.0) / 9).epsilon(1e-12));
  CHECK(age["snsv_null"]["p_value_unadjusted"].get<double>() == Approx(1.0 / 1001).epsilon(1e-12));
  // E0: each user's row shuffled, each value's mean is close to the row mean 5/9 (odd users 2/3, even 4/9).
  CHECK(age["snsr_null"]["e0"].get<double>() < 0.3);
  CHECK(age["snsv_null"]["e0"].get<double>() < age["snsv_null"]["value"].get<double>() / 3);
  // Swap (the later value's list against the earlier one's): mid vs young
  // = mid vs [0,1] -> 2/3; old vs young -> 0; old vs mid: [2,3] vs [0,2] 1/3, vs [0,1] 0 -> 1/6.
  CHECK(age["swap"]["young vs mid"]["jaccard"]["value"].get<double>() == Approx(2.0 / 3).epsilon(1e-12));
  CHECK(age["swap"]["young vs old"]["jaccard"]["value"].get<double>() == Approx(0.0).margin(1e-15));
  CHECK(age["swap"]["mid vs old"]["jaccard"]["value"].get<double>() == Approx(1.0 / 6).epsilon(1e-12));
  // Utility with the real value stated: young users find item 0 at rank 1
  // (NDCG 1), old users item 3 at rank 2 (NDCG 1/log2 3). Both groups have
  // 30 users (>= the minimum), so the gap is 1 - 1/log2 3 = 0.36907, and no
  // relabelling of 30 + 30 users but the observed one (or its mirror) reaches it.
  const auto& utility = age["utility"];
  const double old_ndcg = 1.0 / std::log2(3.0);
  CHECK(utility["ndcg_by_group"]["young"]["value"].get<double>() == Approx(1.0).epsilon(1e-12));
  CHECK(utility["ndcg_by_group"]["old"]["value"].get<double>() == Approx(old_ndcg).epsilon(1e-12));
  CHECK(utility["gap"]["value"].get<double>() == Approx(1.0 - old_ndcg).epsilon(1e-12));
  CHECK(utility["pooled_into_other"].empty());
  CHECK(utility["test"]["p_value"].get<double>() == Approx(1.0 / 1001).epsilon(1e-12));
  // E0 of the range of two group means of 30 under shuffling: the labels mix
  // the two NDCG values, a small range (hypergeometric SD of the difference
  // of means: 0.369 * 2 sqrt(0.25 * 30 / 59) / 30 ... about 0.05).
  CHECK(utility["gap_e0"].get<double>() > 0.0);
  CHECK(utility["gap_e0"].get<double>() < 0.1);
  // Change from the neutral prompt (neutral [0,1]): young 1 -> 1, change 0;
  // old: item 3 absent from [0,1] (0) -> 1/log2 3.
  CHECK(utility["change_from_neutral"]["young"]["value"].get<double>() == Approx(0.0).margin(1e-15));
  CHECK(utility["change_from_neutral"]["old"]["value"].get<double>() == Approx(old_ndcg).epsilon(1e-12));
  // The per-value one-sided test: old's lists are always less similar than the noise floor's.
  CHECK(age["values"]["old"]["test"]["p_value"].get<double>() < 1e-6);
  CHECK(age["values"]["young"]["test"]["direction"].get<std::string>() == "not less similar than the noise floor");
}

// The permutation nulls are computed once per report and kept: a result
// read before more users arrive (by add, merge or load_state) must not be
// served again afterwards.
TEST_CASE("fairness: the permutation nulls kept between tests() and result() are recomputed after add, merge and load_state",
          "[audit][fairness]") {
  FairnessAccumulator all(fixture_options(), kProfiles);
  add_users(all, 0, 60);
  const auto expected = all.result(0.95, {}, 0.05)["attributes"]["age"];
  auto nulls_of = [](const nlohmann::ordered_json& age) {
    return nlohmann::json{age["snsr_null"], age["utility"]["gap"], age["utility"]["test"], age["utility"]["ndcg_by_group"]};
  };
  // Users 0..29 are all young: no complete group of old users yet, a different null.
  auto read_early = [](FairnessAccumulator& acc) {
    (void)acc.tests();
    return acc.result(0.95, {}, 0.05)["attributes"]["age"];
  };
  SECTION("add") {
    FairnessAccumulator acc(fixture_options(), kProfiles);
    add_users(acc, 0, 30);
    const auto early = read_early(acc);
    REQUIRE(nulls_of(early) != nulls_of(expected));  // the check below can tell a stale null from a fresh one
    add_users(acc, 30, 60);
    CHECK(nulls_of(acc.result(0.95, {}, 0.05)["attributes"]["age"]) == nulls_of(expected));
  }
  SECTION("merge") {
    FairnessAccumulator acc(fixture_options(), kProfiles), rest(fixture_options(), kProfiles);
    add_users(acc, 0, 30);
    add_users(rest, 30, 60);
    (void)read_early(acc);
    acc.merge(rest);
    CHECK(nulls_of(acc.result(0.95, {}, 0.05)["attributes"]["age"]) == nulls_of(expected));
  }
  SECTION("load_state") {
    FairnessAccumulator acc(fixture_options(), kProfiles);
    add_users(acc, 0, 30);
    (void)read_early(acc);
    acc.load_state(all.state());
    CHECK(nulls_of(acc.result(0.95, {}, 0.05)["attributes"]["age"]) == nulls_of(expected));
  }
}
