// The position audit's whole-ranking numbers computed by hand on a two-user
// fixture with K = 3: Kendall tau-b (factorised equal-length path and the
// general top-k path), extrapolated RBO (Webber et al. 2010, eq. 32, p = 0.9,
// even and uneven lengths), the input-position x output-rank transition
// matrix, the ground-truth item's row (STELLA), consistency and the plug-in
// selection rates.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <optional>

#include "audits/position_accumulator.h"
#include "tests/audits/audit_fixtures.h"

using namespace recbias;

namespace {

struct Shown {
  std::vector<int> order;    // order[j] = base candidate shown at position j
  std::vector<int> ranking;  // the answer, as presented positions
};

void add_user(PositionAccumulator& acc, const std::string& id, int positive, const std::vector<Shown>& shown) {
  EvalRequest base;
  base.request.id = id;
  base.request.user.id = id;
  base.request.candidates = {0, 1, 2};
  base.request.k = 3;
  base.positive_position = positive;
  base.positive = static_cast<ItemIndex>(positive);
  BasePlan plan;
  std::vector<RankResponse> responses;
  for (std::size_t s = 0; s < shown.size(); ++s) {
    plan.orders.push_back(shown[s].order);
    plan.permuted.push_back(s);
    plan.calls.push_back(s);
    RankResponse r;
    r.request_id = id;
    r.ranking = shown[s].ranking;
    responses.push_back(r);
  }
  const std::vector<int> weights = {1, 1};
  acc.add(testing::outcome_of(base, plan, responses, weights));
}

}  // namespace

TEST_CASE("position metrics match hand computation on a two-user fixture", "[audit][position]") {
  PositionAccumulator acc(2);
  // User A: a pure primacy model that answers in the presented order, under
  // the three cyclic orders. De-permuted lists: [0,1,2], [1,2,0], [2,0,1].
  add_user(acc, "A", 1, {{{0, 1, 2}, {0, 1, 2}}, {{1, 2, 0}, {0, 1, 2}}, {{2, 0, 1}, {0, 1, 2}}});
  // User B: two orders, answers of different lengths. Order [0,1,2], answer
  // positions [0,2] -> list [0,2]; order [2,1,0], answer [2,1,0] -> list [0,1,2].
  add_user(acc, "B", 1, {{{0, 1, 2}, {0, 2}}, {{2, 1, 0}, {2, 1, 0}}});
  const auto m = acc.result(0.95, 0.05, 1.0, 1);

  // Kendall tau-b, pairs of ids (0,1), (0,2), (1,2), + concordant. A:
  // [0,1,2] vs [1,2,0]: -, -, + -> -1/3; [0,1,2] vs [2,0,1]: +, -, - -> -1/3;
  // [1,2,0] vs [2,0,1]: -, +, - -> -1/3 (any two cyclic shifts of three).
  // B: [0,2] (one unlisted id, so no tie) vs [0,1,2]: +, +, - -> 1/3. Mean over users: 0.
  CHECK(m["kendall_tau"]["value"].get<double>() == Approx(0.0).margin(1e-15));
  CHECK(m["kendall_tau"]["n"].get<double>() == 2);
  {
    PositionAccumulator only_a(2);
    add_user(only_a, "A", 1, {{{0, 1, 2}, {0, 1, 2}}, {{1, 2, 0}, {0, 1, 2}}, {{2, 0, 1}, {0, 1, 2}}});
    const auto a = only_a.result(0.95, 0.05, 1.0, 1);
    CHECK(a["kendall_tau"]["value"].get<double>() == Approx(-1.0 / 3).epsilon(1e-12));
    CHECK(a["rbo"]["value"].get<double>() == Approx(0.855).epsilon(1e-12));
  }

  // RBO_ext, p = 0.9. A: every pair has overlaps X_1..3 = 0, 1, 3:
  // X_3/3 p^3 + (1-p)/p (X_1 p + X_2/2 p^2 + X_3/3 p^3) = 0.729 + (0.405 + 0.729)/9 = 0.855.
  // B (s = 2, l = 3): X_1..3 = 1, 1, 2, X_s = 1, X_l = 2:
  // (1-p)/p [0.9 + 0.405 + 2/3 0.729 + X_s (3-2)/(2 3) 0.729] + [(X_l - X_s)/3 + X_s/2] 0.729
  // = (1.791 + 0.1215)/9 + (5/6) 0.729 = 0.2125 + 0.6075 = 0.82. Mean 0.8375.
  CHECK(m["rbo"]["value"].get<double>() == Approx((0.855 + 0.82) / 2).epsilon(1e-12));

  // Transition counts (row = input position, column = output rank): A puts
  // position j at rank j three times; B: [0,2] -> (0,0), (2,1); [2,1,0] -> (2,0), (1,1), (0,2).
  const std::vector<std::vector<int>> transition = {{4, 0, 1}, {0, 4, 0}, {1, 1, 3}};
  for (std::size_t q = 0; q < 3; ++q)
    for (std::size_t r = 0; r < 3; ++r) {
      INFO("transition[" << q << "][" << r << "]");
      CHECK(m["transition_counts"][q][r].get<int>() == transition[q][r]);
    }
  // The ground-truth item's row (STELLA), by its input position, columns =
  // output rank 1..3 then "not listed". A (positive base 1): shown at 1, rank 2;
  // at 0, rank 1; at 2, rank 3. B: shown at 1 and absent from [0,2]; shown at 1, rank 2.
  const std::vector<std::vector<int>> positive = {{1, 0, 0, 0}, {0, 2, 0, 1}, {0, 0, 1, 0}};
  for (std::size_t q = 0; q < 3; ++q)
    for (std::size_t r = 0; r < 4; ++r) {
      INFO("positive_transition[" << q << "][" << r << "]");
      CHECK(m["positive_transition_counts"][q][r].get<int>() == positive[q][r]);
    }
  // Top-1 picks by presented position: A 0, 0, 0; B 0, 2 -> rates 4/5, 0, 1/5.
  CHECK(m["selection_rate"][0]["value"].get<double>() == Approx(0.8).epsilon(1e-12));
  CHECK(m["selection_rate"][1]["value"].get<double>() == Approx(0.0).margin(1e-15));
  CHECK(m["selection_rate"][2]["value"].get<double>() == Approx(0.2).epsilon(1e-12));
  // Plug-in TVD = (|0.8 - 1/3| + 1/3 + |0.2 - 1/3|) / 2 = 7/15.
  CHECK(m["tvd_plugin"].get<double>() == Approx(7.0 / 15).epsilon(1e-12));
  // Consistency: A's first items differ (0, 1, 2), B's agree (0, 0).
  CHECK(m["consistency"]["value"].get<double>() == Approx(0.5).epsilon(1e-12));
  // Hits of the positive (k = 3) by the position it was shown at: at position 1, two of the three times.
  CHECK(m["positive_by_input_position"][1]["hit_rate"]["value"].get<double>() == Approx(2.0 / 3).epsilon(1e-12));
}

TEST_CASE("mean_probability is the softmax of the scores by presented position, averaged over scored responses", "[audit][position]") {
  // K = 3. User A's two responses score the presented positions
  // log(0.5, 0.3, 0.2) + c (softmax: 0.5, 0.3, 0.2 whatever c), user B's one
  // response masks position 0 (-inf) and ties 1 and 2 (0, 0.5, 0.5); a
  // response without scores adds nothing. Mean over the three scored
  // responses: ((0.5 + 0.5 + 0) / 3, (0.3 + 0.3 + 0.5) / 3, (0.2 + 0.2 + 0.5) / 3).
  PositionAccumulator acc(4);
  const float inf = std::numeric_limits<float>::infinity();
  auto add = [&](const std::string& id, const std::vector<std::optional<std::vector<float>>>& scores) {
    EvalRequest base;
    base.request.id = id;
    base.request.user.id = id;
    base.request.candidates = {0, 1, 2};
    base.request.k = 3;
    base.positive_position = 0;
    BasePlan plan;
    std::vector<RankResponse> responses;
    for (std::size_t s = 0; s < scores.size(); ++s) {
      plan.orders.push_back({0, 1, 2});
      plan.permuted.push_back(s);
      plan.calls.push_back(s);
      RankResponse r;
      r.ranking = {0, 1, 2};
      r.scores = scores[s];
      responses.push_back(r);
    }
    const std::vector<int> weights = {1, 2, 0, 1};
    acc.add(testing::outcome_of(base, plan, responses, weights));
  };
  const std::vector<float> a = {std::log(0.5f) + 3, std::log(0.3f) + 3, std::log(0.2f) + 3};
  add("A", {a, a});
  add("B", {std::vector<float>{-inf, 1.5f, 1.5f}, std::nullopt});
  const auto m = acc.result(0.95, 0.05, 1.0, 1);
  REQUIRE(m.contains("mean_probability"));
  const std::vector<double> expected = {1.0 / 3, 1.1 / 3, 0.9 / 3};
  for (std::size_t j = 0; j < 3; ++j) {
    CHECK(m["mean_probability"][j]["value"].get<double>() == Approx(expected[j]).epsilon(1e-6));
    CHECK(m["mean_probability"][j]["n"].get<double>() == 3);
  }
  // The state round-trips it; a merge adds it.
  CHECK(PositionAccumulator::from_state(acc.state()) == acc);
  auto twice = acc;
  twice.merge(acc);
  CHECK(twice.result(0.95, 0.05, 1.0, 1)["mean_probability"][1]["value"].get<double>() == Approx(expected[1]).epsilon(1e-6));
  CHECK(twice.result(0.95, 0.05, 1.0, 1)["mean_probability"][1]["n"].get<double>() == 6);
  // A model without scores has no mean_probability, and its state none.
  PositionAccumulator unscored(2);
  add_user(unscored, "C", 0, {{{0, 1, 2}, {0, 1, 2}}});
  CHECK_FALSE(unscored.result(0.95, 0.05, 1.0, 1).contains("mean_probability"));
  CHECK(unscored.state()["probability"].is_null());
  CHECK(PositionAccumulator::from_state(unscored.state()) == unscored);
}
