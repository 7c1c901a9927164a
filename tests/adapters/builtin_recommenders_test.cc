#include <cmath>
#include <limits>
#include <tuple>

#include <catch2/catch.hpp>

#include "adapters/adapter_spec.h"
#include "adapters/itemknn_recommender.h"
#include "adapters/registry.h"
#include "adapters/simulated_recommender.h"
#include "core/errors.h"
#include "core/rng.h"
#include "tests/adapters/adapter_fixtures.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {
std::unique_ptr<Recommender> make(const std::string& spec, const AdapterContext& context = small_context()) {
  return make_recommender(AdapterSpec::parse(spec), context);
}
}  // namespace

TEST_CASE("popularity ranks by training popularity and ignores the presented order", "[builtin]") {
  auto rec = make("popularity");
  const std::vector<RankRequest> requests = {small_request("a", {5, 1, 3}), small_request("b", {3, 5, 1})};
  const auto out = rec->rank(requests);
  CHECK(out[0].ranking == std::vector<int>{1, 2, 0});  // items 1 (pop 50), 3 (30), 5 (10)
  CHECK(out[1].ranking == std::vector<int>{2, 0, 1});
  CHECK(out[0].scores->at(0) == 10.0f);
  CHECK(rec->id() == "popularity");
}

TEST_CASE("itemknn scores are sums of cosine similarities to the history", "[builtin]") {
  const auto context = small_context();
  ItemSimilarity sim(6, *context.training);
  // Users of item 0: {u0, u1}; item 1: {u0, u1}; item 2: {u0, u2}; item 3: {u2}.
  CHECK(sim.similarity(0, 1) == Approx(2.0 / std::sqrt(2.0 * 2.0)));
  CHECK(sim.similarity(1, 2) == Approx(1.0 / std::sqrt(2.0 * 2.0)));
  CHECK(sim.similarity(3, 2) == Approx(1.0 / std::sqrt(1.0 * 2.0)));
  CHECK(sim.similarity(5, 0) == 0.0);
  auto rec = make("itemknn", context);
  // History {0, 2}: score(1) = sim(1,0) + sim(1,2) = 1 + 0.5; score(3) = 0 + 0.7071; score(5) = 0.
  const auto out = rec->rank(std::vector<RankRequest>{small_request("a", {5, 3, 1})});
  CHECK(out[0].ranking == std::vector<int>{2, 1, 0});
  CHECK(out[0].scores->at(2) == Approx(1.5));
  CHECK(out[0].scores->at(1) == Approx(1.0 / std::sqrt(2.0)));
}

TEST_CASE("random scores do not depend on the presented order", "[builtin]") {
  auto rec = make("random:seed=4");
  const auto out = rec->rank(std::vector<RankRequest>{small_request("a", {0, 1, 2, 3}, 4), small_request("b", {3, 2, 1, 0}, 4)});
  for (int i = 0; i < 4; ++i) CHECK(out[0].scores->at(static_cast<std::size_t>(i)) == out[1].scores->at(static_cast<std::size_t>(3 - i)));
}

TEST_CASE("the simulated recommender's top-1 position follows softmax of its position bias", "[builtin][simulated]") {
  // Pure position bias b = (1, 0.5, 0, 0) with Gumbel noise 1: P(top-1 at j) = softmax(b)_j
  // (Gumbel-max). With 20,000 requests each rate has sd <= sqrt(0.25/20000) = 0.0035;
  // a tolerance of 0.015 is > 4 sd.
  auto rec = make("simulated:relevance=none,position=1;0.5;0;0,noise=1,seed=3");
  std::vector<RankRequest> requests;
  for (int i = 0; i < 20000; ++i) {
    auto r = small_request("r" + std::to_string(i), {0, 1, 2, 3}, 1);
    r.user.id = "user" + std::to_string(i);
    requests.push_back(r);
  }
  const auto out = rec->rank(requests);
  std::vector<double> counts(4, 0);
  for (const auto& r : out) counts[static_cast<std::size_t>(r.ranking.at(0))] += 1;
  const double z = std::exp(1.0) + std::exp(0.5) + 2;
  const std::vector<double> expected = {std::exp(1.0) / z, std::exp(0.5) / z, 1 / z, 1 / z};
  for (std::size_t j = 0; j < 4; ++j) CHECK(std::abs(counts[j] / 20000 - expected[j]) < 0.015);
}

TEST_CASE("the simulated recommender is deterministic per request content and varies with sample", "[builtin][simulated]") {
  auto rec = make("simulated:position=llmrank,noise=2,shift.gender.F=3");
  auto a = small_request("a", {0, 1, 2, 3, 4, 5}, 6), b = a;
  b.id = "b";
  auto c = a;
  c.sample = 1;
  const auto out = rec->rank(std::vector<RankRequest>{a, b, c});
  CHECK(out[0].ranking == out[1].ranking);
  CHECK(out[0].scores != out[2].scores);
  CHECK_THAT(rec->id(), Contains("shift.gender.F=3"));
}

TEST_CASE("the simulated recommender injects grounding faults at the configured rates", "[builtin][simulated]") {
  // 10,000 responses: each rate's sd is <= 0.005; tolerance 0.02 is 4 sd.
  auto rec = make("simulated:relevance=none,hallucination_rate=0.2,duplicate_rate=0.1,parse_failure_rate=0.05");
  std::vector<RankRequest> requests;
  for (int i = 0; i < 10000; ++i) {
    auto r = small_request("r" + std::to_string(i), {0, 1, 2, 3}, 3);
    r.user.id = std::to_string(i);
    requests.push_back(r);
  }
  double hallucinated = 0, duplicated = 0, failed = 0;
  for (const auto& r : rec->rank(requests)) {
    hallucinated += !r.ungrounded.empty();
    duplicated += r.duplicates > 0;
    failed += r.parse_failures > 0;
  }
  CHECK(std::abs(failed / 10000 - 0.05) < 0.02);
  CHECK(std::abs(hallucinated / 10000 - 0.2 * 0.95) < 0.02);
  CHECK(std::abs(duplicated / 10000 - 0.1 * 0.95) < 0.02);
}

TEST_CASE("adapter specs and the registry reject what they do not know, listing what they do", "[registry]") {
  CHECK_THROWS_WITH(make("popularty"), Contains("unknown adapter \"popularty\"; known adapters: openai, torchscript, exec, popularity, itemknn, random, simulated"));
  CHECK_THROWS_WITH(make("random:sed=3"), Contains("adapter random: unknown key \"sed\"; known keys: seed"));
  CHECK_THROWS_WITH(make("simulated:noise=-1"), Contains("noise=-1: expected a number in [0, 100]"));
  CHECK_THROWS_WITH(make("simulated:position=zigzag"), Contains("expected none, primacy, recency, llmrank"));
  CHECK_THROWS_WITH(make("simulated:shift.gender=1"), Contains("expected shift.<attribute>.<value>"));
  CHECK_THROWS_WITH(AdapterSpec::parse("openai:model"), Contains("expected key=value"));
  CHECK_THROWS_WITH(AdapterSpec::parse("openai:a=1,a=2"), Contains("key a given twice"));
  CHECK_THROWS_WITH(make("openai:base_url=http://127.0.0.1:1/v1"), Contains("model=... is required"));
  CHECK_THROWS_WITH(make("exec"), Contains("command=... is required"));
  CHECK_THROWS_WITH(make("openai:model=m,api_key_env=RECBIAS_SURELY_UNSET_VAR"), Contains("that environment variable is not set"));
  AdapterContext no_training{small_context().catalog, nullptr, nullptr};
  CHECK_THROWS_WITH(make("itemknn", no_training), Contains("needs training interactions"));
}

TEST_CASE("adapter config files work like specs", "[registry]") {
  TempDir dir;
  write_file(dir / "sim.json", R"({"adapter": "simulated", "noise": 0, "position": "primacy", "scores": false})");
  auto rec = make("@" + (dir / "sim.json"));
  CHECK_THAT(rec->id(), Contains("position=primacy"));
  CHECK_FALSE(rec->capabilities().scores);
  write_file(dir / "bad.json", R"({"noise": 0})");
  CHECK_THROWS_WITH(make(dir / "bad.json"), Contains("field adapter: expected the adapter name"));
  CHECK(AdapterSpec::parse("openai:model=m,api_key_env=X").to_string() == "openai:api_key_env=***,model=m");
  // A spec whose value is a .json path is a spec, not a config file.
  const auto spec = AdapterSpec::parse("calibrate-position:prior=" + (dir / "probe.json"));
  CHECK(spec.name() == "calibrate-position");
  CHECK(spec.get_string("prior", "") == dir / "probe.json");
}

TEST_CASE("top_k_by_score orders by score, then item, then position, whatever k, with ties and NaN", "[adapters]") {
  // A brute-force reference: every position pair compared by the documented
  // order (NaN as -infinity), positions counted by how many go before.
  Rng rng(5);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int trial = 0; trial < 300; ++trial) {
    const int n = static_cast<int>(rng.uniform_int(25));
    std::vector<float> scores(static_cast<std::size_t>(n));
    std::vector<ItemIndex> items(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      const auto u = rng.uniform_int(10);
      scores[static_cast<std::size_t>(i)] = u == 0 ? nan : u == 1 ? -std::numeric_limits<float>::infinity() : static_cast<float>(u % 4);
      items[static_cast<std::size_t>(i)] = static_cast<ItemIndex>(rng.uniform_int(8));  // repeats
    }
    auto key = [&](int i) {
      const float s = scores[static_cast<std::size_t>(i)];
      return std::tuple(std::isnan(s) ? std::numeric_limits<float>::infinity() : -s, items[static_cast<std::size_t>(i)], i);
    };
    std::vector<int> expected(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      int before = 0;
      for (int j = 0; j < n; ++j) before += key(j) < key(i);
      expected[static_cast<std::size_t>(before)] = i;
    }
    for (int k : {0, 1, n / 3, n / 2, n - 1, n, n + 3}) {
      if (k < 0) continue;
      const auto got = top_k_by_score(scores, items, k);
      const auto want = std::vector<int>(expected.begin(), expected.begin() + std::min(k, n));
      INFO("n = " << n << ", k = " << k);
      CHECK(got == want);
    }
  }
}
