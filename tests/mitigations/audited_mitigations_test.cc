// Mitigations measured by the audits that found the bias (the simulated
// recommender with injected, known biases; deterministic seeds), and the
// re-ranking decorators' promises checked on their answers.
#include <algorithm>
#include <numeric>

#include <catch2/catch.hpp>

#include "audits/audit_runner.h"
#include "mitigations/fair_topk.h"
#include "mitigations/registry.h"
#include "tests/audits/audit_fixtures.h"

using namespace recbias;
using namespace recbias::testing;

TEST_CASE("mitigations are measured by the audits that found the bias", "[audit][mitigation]") {
  // A deterministic model with preferences (popularity) and a primacy bias.
  auto s = synthetic_setup(120, 40, 8, 21);
  AuditOptions options;
  options.audits = {"position", "fairness"};
  options.attributes = s.workload.attributes;
  options.bootstrap_replicates = 50;
  const std::string keys = "relevance=popularity,noise=0,position=primacy,position_strength=2,shift.gender.F=3";
  auto biased = simulated(keys, s.context);
  const auto before = run_audit(*biased, s.workload, s.requests, options, {}, {}).report["metrics"];
  CHECK(before["position"]["tvd"]["value"].get<double>() > 0.05);
  // Mean of scores over all K cyclic shifts: every candidate gets the same position
  // bonus, so the top-1 no longer depends on the order at all.
  MitigationContext context{s.context.catalog, s.workload.attributes};
  auto ensembled = make_mitigation(AdapterSpec::parse("permutation:agg=mean"), simulated(keys, s.context), context);
  const auto after = run_audit(*ensembled, s.workload, s.requests, options, {}, {}).report["metrics"];
  CHECK(after["position"]["tvd"]["value"].get<double>() == 0.0);
  CHECK(after["position"]["consistency"]["value"].get<double>() == 1.0);
  // Counterfactual ensembling over gender: the answer cannot depend on it.
  CHECK(before["fairness"]["attributes"]["gender"]["snsr"]["serp"]["value"].get<double>() > 0.1);
  auto fair = make_mitigation(AdapterSpec::parse("counterfactual:attribute=gender"), simulated(keys, s.context), context);
  const auto fair_metrics = run_audit(*fair, s.workload, s.requests, options, {}, {}).report["metrics"];
  CHECK(fair_metrics["fairness"]["attributes"]["gender"]["snsr"]["serp"]["value"].get<double>() == 0.0);
  auto request = s.requests.requests[0].request;
  request.user.attributes = {{"gender", "F"}};
  auto other = request;
  other.user.attributes = {{"gender", "M"}};
  const auto answers = fair->rank(std::vector<RankRequest>{request, other});
  CHECK(answers[0].ranking == answers[1].ranking);
  CHECK(answers[0].scores == answers[1].scores);  // bit-identical across attribute values
  CHECK(answers[0].usage.calls == 2);            // one call per value
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("permutaton"), simulated(keys, s.context), context),
                    Catch::Matchers::Contains("known mitigations: permutation, calibrate-position, calibrate, fair, counterfactual, neutralize"));
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("counterfactual:attribute=race"), simulated(keys, s.context), context),
                    Catch::Matchers::Contains("attribute=race: the dataset has gender"));
}

TEST_CASE("calibrated re-ranking and fair top-k decorators do what they promise", "[mitigation]") {
  auto s = synthetic_setup(100, 40, 12, 31, 6);
  MitigationContext context{s.context.catalog, s.workload.attributes};
  const std::string keys = "relevance=none,popularity_tilt=3,noise=0";
  std::vector<RankRequest> requests;
  for (const auto& e : s.requests.requests) requests.push_back(e.request);
  // FA*IR: every prefix holds at least the table's number of long-tail items whenever enough exist.
  auto fair = make_mitigation(AdapterSpec::parse("fair:p=0.5,alpha=0.1"), simulated(keys, s.context), context);
  auto plain = simulated(keys, s.context);
  const auto fair_answers = fair->rank(requests);
  const auto plain_answers = plain->rank(requests);
  const auto table = fair_minimum_counts(6, 0.5, fair_adjusted_alpha(6, 0.5, 0.1));
  std::vector<double> popularity;
  for (const auto& item : s.context.catalog->items()) popularity.push_back(item.popularity);
  // Long tail as the decorator defines it: outside the items making up 80% of interactions.
  std::vector<std::size_t> order(popularity.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return popularity[a] > popularity[b]; });
  double total = std::accumulate(popularity.begin(), popularity.end(), 0.0), running = 0;
  std::vector<char> tail(popularity.size(), 0);
  for (auto i : order) {
    if (running >= 0.8 * total) tail[i] = 1;
    running += popularity[i];
  }
  double tail_fair = 0, tail_plain = 0;
  for (std::size_t r = 0; r < requests.size(); ++r) {
    int available = 0;
    for (auto c : requests[r].candidates) available += tail[static_cast<std::size_t>(c)];
    int count = 0;
    for (std::size_t t = 0; t < fair_answers[r].ranking.size(); ++t) {
      count += tail[static_cast<std::size_t>(requests[r].candidates[static_cast<std::size_t>(fair_answers[r].ranking[t])])];
      if (available >= table[t]) CHECK(count >= table[t]);
      tail_fair += tail[static_cast<std::size_t>(requests[r].candidates[static_cast<std::size_t>(fair_answers[r].ranking[t])])];
    }
    for (int p : plain_answers[r].ranking) tail_plain += tail[static_cast<std::size_t>(requests[r].candidates[static_cast<std::size_t>(p)])];
  }
  CHECK(tail_fair > tail_plain);  // the popularity-tilted model shows more long tail once FA*IR applies
  // Calibrated popularity: lambda = 1 brings the lists' head/mid/tail mix toward the users' history.
  auto calibrated = make_mitigation(AdapterSpec::parse("calibrate:target=popularity,lambda=0.9"), simulated(keys, s.context), context);
  const auto calibrated_answers = calibrated->rank(requests);
  CHECK(calibrated_answers[0].ranking.size() == 6);
  CHECK(calibrated->id().rfind("calibrate(target=popularity,lambda=0.9", 0) == 0);
  int changed = 0;
  for (std::size_t r = 0; r < requests.size(); ++r) changed += calibrated_answers[r].ranking != plain_answers[r].ranking;
  CHECK(changed > 0);
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("calibrate:target=mood"), simulated(keys, s.context), context),
                    Catch::Matchers::Contains("target=mood: expected genre or popularity"));
}
