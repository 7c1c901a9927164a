// Mitigation operators on tensors. libtorch (through glog) defines CHECK;
// include it first and let Catch2's CHECK win.
#include <torch/cuda.h>

#include "mitigations/operators.h"
#undef CHECK

#include <algorithm>
#include <numeric>

#include <catch2/catch.hpp>

#include "core/errors.h"
#include "core/rng.h"
#include "mitigations/fair_topk.h"
#include "tests/test_support.h"

using namespace recbias;
using Catch::Matchers::Contains;

namespace {

std::vector<std::vector<double>> random_precedence(Rng& rng, int k, int members) {
  // Precedence from `members` random rankings.
  std::vector<std::vector<double>> p(static_cast<std::size_t>(k), std::vector<double>(static_cast<std::size_t>(k), 0.0));
  for (int m = 0; m < members; ++m) {
    const auto order = rng.permutation(k);
    for (int i = 0; i < k; ++i)
      for (int j = i + 1; j < k; ++j) p[static_cast<std::size_t>(order[static_cast<std::size_t>(i)])][static_cast<std::size_t>(order[static_cast<std::size_t>(j)])] += 1;
  }
  return p;
}

}  // namespace

TEST_CASE("Kemeny exact equals brute-force enumeration for K <= 6", "[mitigations][kemeny]") {
  Rng rng(5);
  for (int k = 2; k <= 6; ++k) {
    for (int trial = 0; trial < 20; ++trial) {
      const auto p = random_precedence(rng, k, 5);
      std::vector<int> order(static_cast<std::size_t>(k));
      std::iota(order.begin(), order.end(), 0);
      double best = -1;
      do best = std::max(best, kemeny_agreement(p, order));
      while (std::next_permutation(order.begin(), order.end()));
      CHECK(kemeny_agreement(p, kemeny_exact(p)) == Approx(best));
    }
  }
}

TEST_CASE("local Kemenisation is never worse than its start", "[mitigations][kemeny]") {
  Rng rng(6);
  for (int trial = 0; trial < 50; ++trial) {
    const auto p = random_precedence(rng, 15, 7);
    const auto start = rng.permutation(15);
    CHECK(kemeny_agreement(p, kemeny_local_search(p, start)) >= kemeny_agreement(p, start));
  }
}

TEST_CASE("ensembling over all K cyclic shifts removes a purely positional bias exactly", "[mitigations][permutation]") {
  // A scorer whose score is the item's true relevance plus a bias that depends
  // only on the position it is shown at. Averaged over every cyclic shift, each
  // item gets relevance + mean(bias): the ranking is the relevance ranking.
  const int64_t k = 6;
  const auto relevance = torch::tensor({0.1, 0.5, 0.3, 0.9, 0.2, 0.4}, torch::kFloat64);
  const auto bias = torch::tensor({3.0, 2.0, 1.0, 0.0, 0.0, 0.5}, torch::kFloat64);
  int calls = 0;
  auto scorer = [&](const torch::Tensor& shown) {
    ++calls;
    return relevance.index({shown}) + bias.unsqueeze(0);
  };
  const auto candidates = torch::arange(k, torch::kInt64).unsqueeze(0).repeat({2, 1});
  const PermutationEnsemble ensemble(PermutationEnsemble::cyclic(static_cast<int>(k), static_cast<int>(k)));
  const auto scores = ensemble(candidates, scorer);
  CHECK(calls == 1);  // one batched forward of B * m requests
  CHECK(scores.sizes() == torch::IntArrayRef({2, k, k}));
  const auto mean = RankAggregator(RankAggregator::Method::kMean)(scores);
  const auto expected = relevance + bias.mean();
  CHECK(torch::allclose(scores.mean(1)[0], expected));
  CHECK(torch::equal(mean[0].argsort(int64_t{0}, true), relevance.argsort(int64_t{0}, true)));
  // The biased single pass ranks by position instead.
  const auto single = scorer(candidates)[0];
  CHECK_FALSE(torch::equal(single.argsort(int64_t{0}, true), relevance.argsort(int64_t{0}, true)));
  for (auto method : {RankAggregator::Method::kBorda, RankAggregator::Method::kRrf, RankAggregator::Method::kKemeny}) {
    const auto agg = RankAggregator(method)(scores);
    CHECK(agg[0].argmax().item<int64_t>() == 3);  // the most relevant item wins under every aggregator
  }
}

TEST_CASE("missing items are masked, not penalised", "[mitigations][aggregation]") {
  // Member 0 ranks a > b > c; member 1 left out a and ranks b > c.
  const auto scores = torch::tensor({{{3.0, 2.0, 1.0}, {0.0, 2.0, 1.0}}}, torch::kFloat64);
  const auto valid = torch::tensor({{{true, true, true}, {false, true, true}}});
  const auto borda = RankAggregator(RankAggregator::Method::kBorda)(scores, valid);
  // a: 2 points from member 0 only -> mean 2; b: (1 + 1) / 2 = 1; c: (0 + 0) / 2 = 0.
  CHECK(borda[0][0].item<double>() == Approx(2.0));
  CHECK(borda[0][1].item<double>() == Approx(1.0));
  CHECK(borda[0][2].item<double>() == Approx(0.0));
  const auto ranks = ranks_from_scores(scores, valid);
  CHECK(ranks[0][1][0].item<int64_t>() == 2);  // missing: tied after the 2 valid ones
  CHECK_THROWS_WITH(RankAggregator::parse("median"), Contains("known aggregations: mean, borda, rrf, kemeny"));
}

TEST_CASE("calibrated re-ranking matches a plain loop and calibrates more as lambda grows", "[mitigations][calibration]") {
  Rng rng(8);
  const int64_t b = 20, k = 12, g = 4, top = 6;
  auto scores = torch::empty({b, k}, torch::kFloat64);
  auto cats = torch::zeros({b, k, g}, torch::kFloat64);
  auto target = torch::empty({b, g}, torch::kFloat64);
  for (int64_t r = 0; r < b; ++r) {
    for (int64_t i = 0; i < k; ++i) {
      scores[r][i] = rng.uniform01();
      cats[r][i][static_cast<int64_t>(rng.uniform_int(g))] = 1.0;  // one genre per item
    }
    double total = 0;
    for (int64_t c = 0; c < g; ++c) total += (target[r][c] = rng.uniform01() + 0.1).item<double>();
    target[r] /= total;
  }
  // Plain loop of Steck's greedy for row r.
  auto loop = [&](int64_t r, double lambda) {
    std::vector<int64_t> chosen;
    std::vector<double> q_sum(static_cast<std::size_t>(g), 0.0);
    double rel = 0;
    for (int64_t t = 0; t < top; ++t) {
      double best = -1e300;
      int64_t pick = -1;
      for (int64_t i = 0; i < k; ++i) {
        if (std::find(chosen.begin(), chosen.end(), i) != chosen.end()) continue;
        double kl = 0;
        for (int64_t c = 0; c < g; ++c) {
          const double p = target[r][c].item<double>();
          const double q = (q_sum[static_cast<std::size_t>(c)] + cats[r][i][c].item<double>()) / static_cast<double>(t + 1);
          if (p > 0) kl += p * std::log(p / (0.99 * q + 0.01 * p));
        }
        const double objective = (1 - lambda) * (rel + scores[r][i].item<double>()) - lambda * kl;
        if (objective > best) {
          best = objective;
          pick = i;
        }
      }
      chosen.push_back(pick);
      rel += scores[r][pick].item<double>();
      for (int64_t c = 0; c < g; ++c) q_sum[static_cast<std::size_t>(c)] += cats[r][pick][c].item<double>();
    }
    return chosen;
  };
  double previous_kl = 1e300;
  for (double lambda : {0.0, 0.3, 0.6, 0.9, 0.99}) {
    const CalibratedReranker rerank(lambda, static_cast<int>(top));
    const auto picks = rerank(scores, cats, target);
    for (int64_t r = 0; r < b; ++r) {
      const auto expected = loop(r, lambda);
      for (int64_t t = 0; t < top; ++t) CHECK(picks[r][t].item<int64_t>() == expected[static_cast<std::size_t>(t)]);
    }
    const double kl = rerank.kl(picks, cats, target).mean().item<double>();
    CHECK(kl <= previous_kl + 1e-12);  // mean KL(p || q~) does not increase as lambda grows
    previous_kl = kl;
  }
  CHECK_THROWS_WITH(CalibratedReranker(1.5, 3), Contains("lambda = 1.5: expected [0, 1]"));
}

TEST_CASE("FA*IR minimum counts match the reference implementation's binom.ppf", "[mitigations][fair]") {
  // fairsearch's mtable: [int(scipy.stats.binom.ppf(alpha, i, p)) for i in 1..k]
  CHECK(fair_minimum_counts(10, 0.5, 0.1) == std::vector<int>{0, 0, 0, 1, 1, 1, 2, 2, 3, 3});
  CHECK(fair_minimum_counts(20, 0.3, 0.1) == std::vector<int>{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3});
  CHECK(fair_minimum_counts(15, 0.7, 0.05) == std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 7});
  // The adjusted alpha makes the family-wise failure probability of a fair ranking alpha.
  const double adjusted = fair_adjusted_alpha(20, 0.3, 0.1);
  CHECK(adjusted < 0.1);
  CHECK(fair_failure_probability(fair_minimum_counts(20, 0.3, adjusted), 0.3) <= 0.1 + 1e-9);
  CHECK(fair_failure_probability(fair_minimum_counts(20, 0.3, 0.1), 0.3) > 0.1);
  CHECK_THROWS_WITH(fair_minimum_counts(10, 1.5, 0.1), Contains("expected a protected share in (0, 1)"));
}

TEST_CASE("fair top-k puts protected items where the table demands them", "[mitigations][fair]") {
  // Scores favour the unprotected items 0..3; 4..7 are protected.
  const auto scores = torch::tensor({{8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0}}, torch::kFloat64);
  const auto prot = torch::tensor({{false, false, false, false, true, true, true, true}});
  const std::vector<int> table = {0, 1, 1, 2};
  const auto picks = fair_topk(scores, prot, table);
  // Prefix 1 needs 0 -> item 0; prefix 2 needs 1 -> item 4; prefix 3 needs 1 -> item 1; prefix 4 needs 2 -> item 5.
  CHECK(torch::equal(picks[0], torch::tensor({0, 4, 1, 5}, torch::kInt64)));
}

TEST_CASE("score ties are broken by item id in FA*IR (protected first) and calibrated re-ranking, never by position",
          "[mitigations][fair]") {
  // Four candidates with equal scores, shown in two different orders: the
  // picks, as items, must not depend on the order (a position-based tie rule
  // would itself create primacy for score-tied models such as popularity counts).
  const auto scores = torch::tensor({{1.0, 1.0, 1.0, 1.0}}, torch::kFloat64);
  const std::vector<int> table = {0, 0, 1};
  // Order A: items 40, 10, 30, 20 (item 30 protected). Order B: reversed.
  const auto items_a = torch::tensor({{40.0, 10.0, 30.0, 20.0}}, torch::kFloat64);
  const auto prot_a = torch::tensor({{false, false, true, false}});
  const auto items_b = items_a.flip(1);
  const auto prot_b = prot_a.flip(1);
  auto as_items = [](const torch::Tensor& picks, const torch::Tensor& items) {
    std::vector<double> out;
    for (int64_t t = 0; t < picks.size(1); ++t) out.push_back(items[0][picks[0][t].item<int64_t>()].item<double>());
    return out;
  };
  const auto a = as_items(fair_topk(scores, prot_a, table, items_a), items_a);
  const auto b = as_items(fair_topk(scores, prot_b, table, items_b), items_b);
  CHECK(a == b);
  // Ties go to the protected item first, then the smallest id.
  CHECK(a == std::vector<double>{30, 10, 20});
  // Calibrated re-ranking with no category signal (one category): the tie of scores picks by item id.
  const auto cats = torch::ones({1, 4, 1}, torch::kFloat64);
  const auto target = torch::ones({1, 1}, torch::kFloat64);
  const CalibratedReranker rerank(0.5, 3);
  CHECK(as_items(rerank(scores, cats, target, items_a), items_a) == std::vector<double>{10, 20, 30});
  CHECK(as_items(rerank(scores, cats, target, items_b), items_b) == std::vector<double>{10, 20, 30});
}

TEST_CASE("position calibration and counterfactual ensembling", "[mitigations]") {
  const auto scores = torch::tensor({{1.0, 1.0, 1.0}}, torch::kFloat64);
  const PositionCalibration calibrate(torch::tensor({0.5, 0.25, 0.25}, torch::kFloat64));
  const auto corrected = calibrate(scores);
  CHECK(corrected[0][0].item<double>() == Approx(1.0 - std::log(0.5)));
  CHECK(corrected[0][1].item<double>() > corrected[0][0].item<double>());  // the favoured first position is discounted
  CHECK_THROWS_WITH(PositionCalibration(torch::tensor({0.5, 0.0}, torch::kFloat64)), Contains("must be > 0"));
  // Counterfactual ensembling: the same output whichever value the user really has.
  const auto by_value = torch::tensor({{{0.2, 0.9}, {0.8, 0.1}}}, torch::kFloat64);
  const auto swapped = torch::tensor({{{0.8, 0.1}, {0.2, 0.9}}}, torch::kFloat64);
  CHECK(torch::equal(counterfactual_mean(by_value), counterfactual_mean(swapped)));
}

TEST_CASE("operators reject tensors of the wrong shape and say what they got", "[mitigations]") {
  const PermutationEnsemble ensemble(PermutationEnsemble::cyclic(3, 3));
  CHECK_THROWS_WITH(ensemble(torch::zeros({3}, torch::kInt64), [](const torch::Tensor& t) { return t.to(torch::kFloat32); }),
                    Contains("candidates should be a 2D tensor [B, K] int64, got 1D [3]"));
  CHECK_THROWS_WITH(ensemble(torch::zeros({2, 4}, torch::kInt64), [](const torch::Tensor& t) { return t.to(torch::kFloat32); }),
                    Contains("candidates have K = 4, permutations K = 3"));
  CHECK_THROWS_WITH(RankAggregator(RankAggregator::Method::kMean)(torch::zeros({2, 3})), Contains("scores should be a 3D tensor"));
  CHECK_THROWS_WITH(PermutationEnsemble(torch::tensor({{0, 0, 1}}, torch::kInt64)), Contains("every row must be a permutation"));
}

TEST_CASE("CPU and CUDA agree", "[mitigations][cuda]") {
  if (!torch::cuda::is_available()) {
    testing::skip_missing("no CUDA device (Debian's libtorch is CPU-only)");
    return;
  }
  torch::manual_seed(2);
  const torch::Device cuda(torch::kCUDA);
  // Rank aggregation (mean, Borda, RRF run on the input's device).
  auto member_scores = torch::rand({8, 3, 10}, torch::kFloat64);
  for (auto method : {RankAggregator::Method::kMean, RankAggregator::Method::kBorda, RankAggregator::Method::kRrf}) {
    const auto cpu = RankAggregator(method)(member_scores);
    const auto gpu = RankAggregator(method)(member_scores.to(cuda));
    CHECK(gpu.device().is_cuda());
    CHECK(torch::allclose(cpu, gpu.cpu()));
  }
  // Permutation ensembling: gather, one scorer call on the device, scatter back.
  const auto candidates = torch::randint(1, 100, {6, 10}, torch::kInt64);
  const auto weights = torch::rand({101}, torch::kFloat32);
  auto scorer = [&](const torch::Tensor& shown) {
    // item weight plus a primacy bonus: position-dependent, like an LLM
    const auto bonus = torch::linspace(1.0, 0.0, shown.size(1), torch::TensorOptions().dtype(torch::kFloat32).device(shown.device()));
    return weights.to(shown.device()).index({shown}) + bonus;
  };
  const PermutationEnsemble ensemble(PermutationEnsemble::cyclic(10, 10));
  const auto on_cpu = ensemble(candidates, scorer);
  const auto on_gpu = ensemble(candidates.to(cuda), scorer);
  CHECK(on_gpu.device().is_cuda());
  CHECK(torch::allclose(on_cpu, on_gpu.cpu()));
  // Position calibration.
  const auto scores = torch::randn({5, 10}, torch::kFloat64);
  const PositionCalibration calibration(torch::linspace(2.0, 1.0, 10, torch::kFloat64));
  CHECK(torch::allclose(calibration(scores), calibration(scores.to(cuda)).cpu()));
  // Calibrated re-ranking (identical picks).
  auto cats = torch::rand({5, 10, 4}, torch::kFloat64);
  cats = cats / cats.sum(2, true);
  auto target = torch::rand({5, 4}, torch::kFloat64) + 0.1;
  target = target / target.sum(1, true);
  const CalibratedReranker rerank(0.5, 4);
  const auto picks_gpu = rerank(scores.to(cuda), cats.to(cuda), target.to(cuda));
  CHECK(picks_gpu.device().is_cuda());
  CHECK(torch::equal(rerank(scores, cats, target), picks_gpu.cpu()));
  // Counterfactual mean and FA*IR.
  const auto by_value = torch::randn({5, 3, 10}, torch::kFloat64);
  CHECK(torch::allclose(counterfactual_mean(by_value), counterfactual_mean(by_value.to(cuda)).cpu()));
  const auto prot = torch::rand({5, 10}) < 0.4;
  const auto table = fair_minimum_counts(6, 0.5, 0.1);
  CHECK(torch::equal(fair_topk(scores, prot, table), fair_topk(scores.to(cuda), prot.to(cuda), table).cpu()));
}
