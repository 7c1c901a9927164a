// The history probe and audit (audits/history_accumulator.h): the variants
// the plan sends, values recomputed by hand from the model's answers, an
// order-blind model against one that weighs recent items more, and shards.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include <catch2/catch.hpp>

#include "audits/audit_runner.h"
#include "audits/list_similarity.h"
#include "core/errors.h"
#include "tests/audits/audit_fixtures.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

AuditOptions history_only(int replicates = 100) {
  AuditOptions o;
  o.audits = {"history"};
  o.bootstrap_replicates = replicates;
  return o;
}

}  // namespace

TEST_CASE("history variants: the last W items as they are, shuffled, reversed, and the recent half", "[audit][history]") {
  std::vector<ItemIndex> h(12);
  std::iota(h.begin(), h.end(), 1);  // 1..12, oldest first
  const auto original = history_variant(h, kHistoryOriginal, 10, 0, "u1");
  CHECK(original == std::vector<ItemIndex>{3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  CHECK(history_variant(h, kHistoryResample, 10, 0, "u1") == original);
  CHECK(history_variant(h, kHistoryReversed, 10, 0, "u1") == std::vector<ItemIndex>{12, 11, 10, 9, 8, 7, 6, 5, 4, 3});
  CHECK(history_variant(h, kHistoryTruncated, 10, 0, "u1") == std::vector<ItemIndex>{8, 9, 10, 11, 12});
  auto shuffled = history_variant(h, kHistoryShuffled, 10, 0, "u1");
  CHECK(shuffled != original);
  CHECK(history_variant(h, kHistoryShuffled, 10, 0, "u1") == shuffled);  // seeded by the request
  CHECK(history_variant(h, kHistoryShuffled, 10, 0, "u2") != shuffled);
  std::sort(shuffled.begin(), shuffled.end());
  CHECK(shuffled == original);  // the same items
  // Two items: the only other order.
  CHECK(history_variant({5, 9}, kHistoryShuffled, 10, 3, "x") == std::vector<ItemIndex>{9, 5});
  CHECK(history_variant({5, 9, 11}, kHistoryTruncated, 10, 0, "x") == std::vector<ItemIndex>{9, 11});
}

TEST_CASE("profile samples: the top-rated and a random W of the whole history, in time order", "[audit][history]") {
  std::vector<ItemIndex> h(12);
  std::iota(h.begin(), h.end(), 1);  // 1..12, oldest first
  const std::vector<double> ratings = {5, 1, 4, 4, 2, 5, 3, 1, 5, 2, 4, 3};
  // Rated 5: items 1, 6, 9; of the three rated 4 (3, 4, 11) the most recent, 11. In time order.
  CHECK(history_variant(h, kHistoryTopRated, 4, 0, "u1", ratings) == std::vector<ItemIndex>{1, 6, 9, 11});
  // No ratings (implicit feedback): all tie, the most recent win -- the recent window itself.
  CHECK(history_variant(h, kHistoryTopRated, 4, 0, "u1") == history_variant(h, kHistoryOriginal, 4, 0, "u1"));
  const auto sampled = history_variant(h, kHistorySampled, 4, 0, "u1");
  REQUIRE(sampled.size() == 4);
  CHECK(std::is_sorted(sampled.begin(), sampled.end()));  // time order
  CHECK(std::set<ItemIndex>(sampled.begin(), sampled.end()).size() == 4);
  CHECK(history_variant(h, kHistorySampled, 4, 0, "u1") == sampled);  // seeded by the request
  // Over many users the random sample reaches the whole history evenly: each of 12 items in 4/12 of the samples.
  std::vector<int> hits(13, 0);
  for (int u = 0; u < 3000; ++u)
    for (auto item : history_variant(h, kHistorySampled, 4, 0, "u" + std::to_string(u))) ++hits[static_cast<std::size_t>(item)];
  for (std::size_t item = 1; item <= 12; ++item) {
    INFO(item);
    // 1000 expected of 3000 (binomial sd 25.8): 5 sd each way.
    CHECK(hits[item] > 1000 - 130);
    CHECK(hits[item] < 1000 + 130);
  }
  // A history of at most W items: both samples are the whole history, the original.
  CHECK(history_variant({4, 2, 7}, kHistoryTopRated, 4, 0, "x", {1, 5, 3}) == std::vector<ItemIndex>{4, 2, 7});
  CHECK(history_variant({4, 2, 7}, kHistorySampled, 4, 0, "x") == std::vector<ItemIndex>{4, 2, 7});
}

TEST_CASE("the history probe adds four calls per user and reuses the identity call when the whole history fits", "[audit][history][plan]") {
  auto s = synthetic_setup(30, 40, 6, 7);  // 5 history items per user
  const auto plan = build_plan(s.requests.requests, history_only());
  REQUIRE(plan.bases.size() == 30);
  CHECK(plan.calls.size() == 30 * 5);  // identity (= original) + resample, shuffled, reversed, truncated
  for (const auto& bp : plan.bases) {
    REQUIRE(bp.history.size() == kHistoryVariants);
    CHECK(bp.history[kHistoryOriginal] == bp.identity);
    // The whole history fits the window: the profile samples would show the same items, so they are not asked.
    CHECK(bp.history[kHistoryTopRated] == SIZE_MAX);
    CHECK(bp.history[kHistorySampled] == SIZE_MAX);
    std::set<std::size_t> distinct(bp.history.begin(), bp.history.begin() + kHistoryTopRated);
    CHECK(distinct.size() == kHistoryTopRated);
    CHECK(plan.calls[bp.history[kHistoryResample]].user.history == plan.calls[bp.identity].user.history);
    CHECK(plan.calls[bp.history[kHistoryResample]].sample != plan.calls[bp.identity].sample);  // its own draw
    CHECK(plan.calls[bp.history[kHistoryTruncated]].user.history.size() == 3);
  }
  // A window shorter than the history: the original is a call of its own.
  auto windowed = history_only();
  windowed.history_window = 3;
  // With ratings, the top-rated sample differs from the recent window for most users.
  for (auto& q : s.requests.requests) {
    q.history_ratings.clear();
    for (std::size_t i = 0; i < q.request.user.history.size(); ++i) q.history_ratings.push_back(static_cast<double>((i * 7 + q.request.id.size()) % 5));
  }
  const auto plan3 = build_plan(s.requests.requests, windowed);
  std::size_t samples = 0;  // profile samples that show other items than the recent window
  for (const auto& q : s.requests.requests) {
    const auto recent = history_variant(q.request.user.history, kHistoryOriginal, 3, 0, q.request.id);
    samples += history_variant(q.request.user.history, kHistoryTopRated, 3, 0, q.request.id, q.history_ratings) != recent;
    samples += history_variant(q.request.user.history, kHistorySampled, 3, 0, q.request.id) != recent;
  }
  CHECK(samples > 30);
  CHECK(plan3.calls.size() == 30 * 6 + samples);
  CHECK(plan3.calls[plan3.bases[0].history[kHistoryOriginal]].user.history.size() == 3);
  // Not asked for: no history variants.
  AuditOptions position;
  position.audits = {"position"};
  CHECK(build_plan(s.requests.requests, position).bases[0].history.empty());
  windowed.history_window = 1;
  CHECK_THROWS_WITH(build_plan(s.requests.requests, windowed), Contains("--history-window 1: expected at least 2"));
}

TEST_CASE("history metrics equal the values recomputed from the model's answers", "[audit][history]") {
  auto s = synthetic_setup(60, 40, 8, 5, 4);
  auto model = simulated("relevance=itemknn,noise=0.5,recency=2", s.context);
  auto options = history_only();
  options.history_window = 3;  // shorter than the 5-item histories: the profile samples are asked too
  for (auto& q : s.requests.requests) {
    q.history_ratings.clear();  // the synthetic ratings are all 1: the top-rated sample would be the recent window
    for (std::size_t i = 0; i < q.request.user.history.size(); ++i) q.history_ratings.push_back(static_cast<double>((i * 3 + q.request.id.size()) % 4));
  }
  const auto report = run_audit(*model, s.workload, s.requests, options, {}, {}).report;
  const auto& m = report["metrics"]["history"];
  // By hand: send the plan's calls (base requests state no attribute, as
  // the runner sends them), then per user and variant tau-b, Jaccard@k and
  // the NDCG change against the original.
  auto neutral = s.requests.requests;
  for (auto& q : neutral) q.request.user.attributes.clear();
  const auto plan = build_plan(neutral, options);
  const auto answers = model->rank(plan.calls);

  for (std::size_t v = kHistoryResample; v < kHistoryVariants; ++v) {
    double tau = 0, jaccard = 0, change = 0;
    int users = 0;
    for (std::size_t b = 0; b < plan.bases.size(); ++b) {
      const auto& base = s.requests.requests[b];
      auto cut = [&](std::size_t call) {
        auto r = answers[call].ranking;
        if (r.size() > static_cast<std::size_t>(base.request.k)) r.resize(static_cast<std::size_t>(base.request.k));
        return r;
      };
      if (plan.bases[b].history[v] == SIZE_MAX) continue;  // a profile sample equal to the recent window
      const auto a = cut(plan.bases[b].history[kHistoryOriginal]), o = cut(plan.bases[b].history[v]);
      tau += topk_kendall_tau(a, o, static_cast<int>(base.request.candidates.size()));
      std::set<int> sa(a.begin(), a.end()), so(o.begin(), o.end()), all = sa;
      all.insert(so.begin(), so.end());
      jaccard += static_cast<double>(sa.size() + so.size() - all.size()) / static_cast<double>(all.size());
      auto ndcg = [&](const std::vector<int>& r) {
        const int rank = rank_of(r, base.positive_position);
        return rank > 0 ? 1.0 / std::log2(rank + 1.0) : 0.0;
      };
      change += ndcg(o) - ndcg(a);
      ++users;
    }
    INFO(kHistoryVariantNames[v]);
    CHECK(users > 20);
    const auto& entry = m[kHistoryVariantNames[v]];
    CHECK(entry["kendall_tau"]["value"].get<double>() == Approx(tau / users).epsilon(1e-12));
    CHECK(entry["jaccard"]["value"].get<double>() == Approx(jaccard / users).epsilon(1e-12));
    CHECK(entry["ndcg_change"]["value"].get<double>() == Approx(change / users).margin(1e-12));
    CHECK(entry["kendall_tau"]["n"].get<double>() == users);
  }
}

TEST_CASE("a model that ignores history order has tau 1 under shuffling, and one that weighs recent items does not", "[audit][history]") {
  auto s = synthetic_setup(200, 60, 10, 9, 5);
  SECTION("order-blind (item-kNN over the history as a set), deterministic") {
    auto model = simulated("relevance=itemknn,noise=0", s.context);
    const auto report = run_audit(*model, s.workload, s.requests, history_only(), {}, {}).report;
    const auto& m = report["metrics"]["history"];
    for (const char* v : {"resample", "shuffled", "reversed"}) {
      INFO(v);
      CHECK(m[v]["kendall_tau"]["value"].get<double>() == 1.0);
      CHECK(m[v]["kendall_tau"]["ci"] == nlohmann::json::array({1.0, 1.0}));
      CHECK(m[v]["ndcg_change"]["value"].get<double>() == 0.0);
    }
    CHECK(m["shuffled"]["test"]["p_value"].get<double>() == 1.0);
    CHECK_FALSE(m["shuffled"]["test"]["significant"].get<bool>());
    // Dropping the older half changes the set, and so the answer.
    CHECK(m["truncated"]["kendall_tau"]["ci"][1].get<double>() < 0.95);
    CHECK(m["truncated"]["test"]["significant"].get<bool>());
    CHECK_THAT(m["verdict"].get<std::string>(), Contains("when the history is truncated"));
  }
  SECTION("order-blind, shown another sample of a longer history (window 3 of 5): the set changes, so does the answer") {
    auto model = simulated("relevance=itemknn,noise=0", s.context);
    auto options = history_only();
    options.history_window = 3;
    const auto m = run_audit(*model, s.workload, s.requests, options, {}, {}).report["metrics"]["history"];
    CHECK(m["shuffled"]["kendall_tau"]["value"].get<double>() == 1.0);  // still order-blind
    CHECK(m["sampled"]["kendall_tau"]["n"].get<double>() > 150);       // users whose sample differs from the recent 3
    CHECK(m["sampled"]["kendall_tau"]["ci"][1].get<double>() < 0.95);
    CHECK(m["sampled"]["test"]["significant"].get<bool>());
    CHECK_THAT(m["verdict"].get<std::string>(), Contains("sampled"));
  }
  SECTION("order-blind with answer noise: shuffling moves the answer as much as asking again") {
    auto model = simulated("relevance=itemknn,noise=0.3", s.context);
    const auto m = run_audit(*model, s.workload, s.requests, history_only(), {}, {}).report["metrics"]["history"];
    const double resample = m["resample"]["kendall_tau"]["value"].get<double>();
    CHECK(resample < 1.0);
    // The shuffled and re-asked answers are the same noise around the same scores.
    CHECK(std::abs(m["shuffled"]["kendall_tau"]["value"].get<double>() - resample) < 0.05);
    CHECK_FALSE(m["shuffled"]["test"]["significant"].get<bool>());
    CHECK_FALSE(m["reversed"]["test"]["significant"].get<bool>());
  }
  SECTION("recent items weigh more (recency=3): shuffling and reversing move the answer") {
    auto model = simulated("relevance=itemknn,noise=0,recency=3", s.context);
    const auto report = run_audit(*model, s.workload, s.requests, history_only(), {}, {}).report;
    const auto& m = report["metrics"]["history"];
    CHECK(m["resample"]["kendall_tau"]["value"].get<double>() == 1.0);
    for (const char* v : {"shuffled", "reversed"}) {
      INFO(v);
      CHECK(m[v]["kendall_tau"]["ci"][1].get<double>() < 0.95);
      CHECK(m[v]["test"]["significant"].get<bool>());
    }
    CHECK_THAT(m["verdict"].get<std::string>(), Contains("shuffled, reversed"));
    // The tests are one family, corrected on their own: three perturbations
    // (the 5-item histories fit the window: no profile samples).
    int history_tests = 0;
    for (const auto& t : report["tests"]) history_tests += t["name"].get<std::string>().starts_with("history.");
    CHECK(history_tests == 3);
    CHECK(m["sampled"]["kendall_tau"]["n"].get<double>() == 0);
  }
}

TEST_CASE("history audits of four shards merge to the single run bit for bit", "[audit][history][shard]") {
  auto s = synthetic_setup(80, 40, 6, 7);
  auto options = history_only(40);
  options.audits = {"history", "accuracy"};
  auto model = simulated("relevance=itemknn,noise=0.5,recency=1", s.context);
  nlohmann::ordered_json provenance = {{"adapter", model->id()}};
  const auto single = run_audit(*model, s.workload, s.requests, options, {0, 1}, provenance).report;
  std::vector<nlohmann::json> parts;
  for (int i = 3; i >= 0; --i) {
    provenance["shard"] = {{"index", i}, {"count", 4}};
    parts.push_back(run_audit(*model, s.workload, s.requests, options, {i, 4}, provenance).report);
  }
  const auto merged = merge_reports(parts);
  CHECK(merged["metrics"].dump() == single["metrics"].dump());
  CHECK(merged["tests"] == single["tests"]);
  CHECK(merged["state"] == single["state"]);
}
