// The audits against ground truth: the simulated recommender with known,
// injected biases (adapters/simulated_recommender.h). Every replication uses
// its own seed, so these tests are deterministic; each states its tolerance.
#include <cmath>

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "audits/audit_runner.h"
#include "tests/audits/audit_fixtures.h"

using namespace recbias;
using namespace recbias::testing;

namespace {

AuditOptions position_only(std::uint64_t seed, int replicates = 200) {
  AuditOptions o;
  o.audits = {"position", "grounding"};
  o.seed = seed;
  o.bootstrap_replicates = replicates;
  return o;
}

std::vector<double> softmax(const std::vector<double>& b) {
  std::vector<double> p;
  double z = 0;
  for (double x : b) z += std::exp(x);
  for (double x : b) p.push_back(std::exp(x) / z);
  return p;
}

std::string logits_text(const std::vector<double>& b) {
  std::string out;
  for (double x : b) out += (out.empty() ? "" : ";") + std::to_string(x);
  return out;
}

bool covers(const nlohmann::ordered_json& metric, double truth) {
  return metric["ci"][0].get<double>() <= truth && truth <= metric["ci"][1].get<double>();
}

}  // namespace

TEST_CASE("interval coverage: selection rates, TVD and hallucination rate cover the injected truth", "[audit][validation]") {
  // Pure position bias b over K = 5 with Gumbel noise 1: the true top-1 rates are
  // softmax(b) (Gumbel-max), TVD_true = 1/2 sum |p - 1/5|. Hallucinations
  // replace one of the k = 5 entries of 10% of responses: entry share 0.1 / 5.
  // 200 replications x 150 requests x 5 cyclic permutations. With nominal 95%
  // intervals, the number covering is ~Binomial(200, 0.95) (mean 190, sd 3.1);
  // we require >= 180 (90%), which a correct interval misses with probability
  // < 0.5%; an interval that ignores sampling error covers almost never.
  const std::vector<double> b = {0.6, 0.2, 0.0, 0.0, 0.3};
  const auto p = softmax(b);
  double tvd = 0;
  for (double x : p) tvd += std::abs(x - 0.2) / 2;
  const double hallucination = 0.1 / 5;
  int cover_first = 0, cover_last = 0, cover_tvd = 0, cover_hallucination = 0;
  const int reps = 200;
  for (int rep = 0; rep < reps; ++rep) {
    auto s = synthetic_setup(150, 40, 5, static_cast<std::uint64_t>(rep), 5);
    auto model = simulated("relevance=none,noise=1,hallucination_rate=0.1,seed=" + std::to_string(rep) + ",position=" + logits_text(b),
                           s.context);
    const auto run = run_audit(*model, s.workload, s.requests, position_only(static_cast<std::uint64_t>(rep)), {}, {});
    const auto& m = run.report["metrics"];
    cover_first += covers(m["position"]["selection_rate"][0], p[0]);
    cover_last += covers(m["position"]["selection_rate"][4], p[4]);
    cover_tvd += covers(m["position"]["tvd"], tvd);
    cover_hallucination += covers(m["grounding"]["hallucination_rate"], hallucination);
  }
  INFO("coverage out of " << reps << ": s_0 " << cover_first << ", s_4 " << cover_last << ", TVD " << cover_tvd
                          << ", hallucination " << cover_hallucination);
  CHECK(cover_first >= 180);
  CHECK(cover_last >= 180);
  CHECK(cover_tvd >= 180);
  CHECK(cover_hallucination >= 180);
}

TEST_CASE("false alarms: without position bias the chi-square test rejects at most 7% of the time", "[audit][validation]") {
  // A model with preferences (popularity relevance, Gumbel noise) but no
  // position bias, independent random permutations (an exact null for the
  // chi-square test). 400 replications at alpha = 0.05: rejections are
  // Binomial(400, 0.05) (mean 20, sd 4.4); 7% is 28, 1.8 sd above.
  int rejections = 0;
  const int reps = 400;
  for (int rep = 0; rep < reps; ++rep) {
    auto s = synthetic_setup(100, 40, 10, static_cast<std::uint64_t>(1000 + rep));
    auto model = simulated("relevance=popularity,noise=1,seed=" + std::to_string(rep), s.context);
    auto options = position_only(static_cast<std::uint64_t>(rep), 20);
    options.design = PermutationDesign::kRandom;
    const auto run = run_audit(*model, s.workload, s.requests, options, {}, {});
    rejections += run.report["metrics"]["position"]["chi_square"]["p_value"].get<double>() < 0.05;
  }
  INFO("rejections: " << rejections << " of " << reps);
  CHECK(rejections <= reps * 7 / 100);
}

TEST_CASE("power: a position bias with TVD 0.05 is detected at N = 1000 requests, K = 20", "[audit][validation]") {
  // Linear primacy p_j = 1/20 + d (1 - 2j/19) with TVD 0.05 (the flattest
  // shape of that TVD), cyclic design, P = K = 20 permutations per request.
  // Noncentrality 20000 * 20 * sum (p_j - 1/20)^2 ~ 266: power ~ 1 in theory;
  // we require >= 80% of 100 replications.
  const int k = 20;
  double abs_shape = 0;
  for (int j = 0; j < k; ++j) abs_shape += std::abs(1.0 - 2.0 * j / (k - 1));
  const double d = 2 * 0.05 / abs_shape;
  std::vector<double> logits;
  for (int j = 0; j < k; ++j) logits.push_back(std::log(1.0 / k + d * (1.0 - 2.0 * j / (k - 1))));
  int detected = 0;
  const int reps = 100;
  for (int rep = 0; rep < reps; ++rep) {
    auto s = synthetic_setup(1000, 60, k, static_cast<std::uint64_t>(5000 + rep));
    REQUIRE(s.requests.requests.size() == 1000);
    auto model = simulated("relevance=none,noise=1,seed=" + std::to_string(rep) + ",position=" + logits_text(logits), s.context);
    const auto run = run_audit(*model, s.workload, s.requests, position_only(static_cast<std::uint64_t>(rep), 20), {}, {});
    detected += run.report["metrics"]["position"]["chi_square"]["p_adjusted"].get<double>() < 0.05;
  }
  INFO("detected in " << detected << " of " << reps);
  CHECK(detected >= 80);
}

TEST_CASE("four shards merged equal one run bit for bit", "[audit][shard]") {
  auto s = synthetic_setup(120, 40, 6, 7);
  AuditOptions options;
  options.attributes = s.workload.attributes;
  options.bootstrap_replicates = 50;
  auto model = simulated("position=llmrank,popularity_tilt=0.3,shift.gender.F=1,hallucination_rate=0.05", s.context);
  nlohmann::ordered_json provenance = {{"adapter", model->id()}};
  auto single = run_audit(*model, s.workload, s.requests, options, {0, 1}, provenance);
  std::vector<nlohmann::json> parts;
  for (int i = 0; i < 4; ++i) {
    provenance["shard"] = {{"index", i}, {"count", 4}};
    parts.push_back(run_audit(*model, s.workload, s.requests, options, {i, 4}, provenance).report);
  }
  std::swap(parts[0], parts[3]);  // merge order must not matter
  const auto merged = merge_reports(parts);
  CHECK(merged["metrics"] == single.report["metrics"]);
  CHECK(merged["tests"] == single.report["tests"]);
  CHECK(merged["state"] == single.report["state"]);
  CHECK(merged["counts"] == single.report["counts"]);
  CHECK(merged["metrics"].dump() == single.report["metrics"].dump());
}

TEST_CASE("the fairness audit finds an injected attribute shift and not a fake one", "[audit][fairness]") {
  // shift.gender.F = 3 moves female-stated lists far from neutral; M is untouched,
  // so its lists equal the neutral ones up to noise 0 (deterministic): similarity 1.
  auto s = synthetic_setup(200, 40, 10, 3);
  AuditOptions options;
  options.audits = {"fairness"};
  options.attributes = s.workload.attributes;
  options.bootstrap_replicates = 50;
  auto model = simulated("relevance=popularity,noise=0,shift.gender.F=3", s.context);
  const auto run = run_audit(*model, s.workload, s.requests, options, {}, {});
  const auto& g = run.report["metrics"]["fairness"]["attributes"]["gender"];
  CHECK(g["values"]["M"]["serp"]["value"].get<double>() == Approx(1.0));
  CHECK(g["values"]["F"]["serp"]["value"].get<double>() < 0.8);
  CHECK(g["snsr"]["serp"]["value"].get<double>() > 0.2);
  CHECK(g["snsr"]["serp"]["ci"][0].get<double>() > 0.1);
  CHECK(g["values"]["F"]["test"]["significant"].get<bool>());
  CHECK_FALSE(g["values"]["M"]["test"]["significant"].get<bool>());
  CHECK(run.report["metrics"]["fairness"]["noise_floor"]["serp"]["value"].get<double>() == Approx(1.0));  // noise 0
  CHECK(g["swap"]["F vs M"]["jaccard"]["value"].get<double>() < 1.0);
}

TEST_CASE("the fairness audit's SNSR and SNSV intervals contain their point estimates", "[audit][fairness]") {
  // With no attribute effect and noise, the range (and SD) of the values'
  // mean similarities is small and biased upward under resampling, so a
  // percentile interval sat above the point (e.g. 0.015 [0.017, 0.032]);
  // the recentred interval holds it, for every attribute and metric.
  auto s = synthetic_setup(120, 40, 10, 5);
  AuditOptions options;
  options.audits = {"fairness"};
  options.attributes = s.workload.attributes;
  // Many values (as FaiRLLM's 21 occupations) make the upward bias of the
  // range of their means large relative to its spread.
  AttributeSet many{"occupation", {}};
  for (int v = 0; v < 16; ++v) many.values.push_back(fmt::format("job{}", v));
  options.attributes.push_back(many);
  options.bootstrap_replicates = 100;
  auto model = simulated("relevance=popularity,noise=1", s.context);
  const auto run = run_audit(*model, s.workload, s.requests, options, {}, {});
  int checked = 0;
  for (const auto& [attribute, a] : run.report["metrics"]["fairness"]["attributes"].items())
    for (const char* spread : {"snsr", "snsv"})
      for (const auto& [metric, m] : a[spread].items()) {
        INFO(attribute << " " << spread << " " << metric << ": " << m.dump());
        REQUIRE(m["ci"][0].is_number());
        CHECK(m["ci"][0].get<double>() <= m["value"].get<double>());
        CHECK(m["value"].get<double>() <= m["ci"][1].get<double>());
        CHECK(m["ci"][0].get<double>() < m["ci"][1].get<double>());
        ++checked;
      }
  CHECK(checked >= 8);
}

TEST_CASE("popularity metrics see a popularity tilt, accuracy sees relevance", "[audit][popularity]") {
  auto s = synthetic_setup(200, 40, 10, 4);
  AuditOptions options;
  options.audits = {"popularity", "accuracy"};
  options.bootstrap_replicates = 50;
  auto tilted = simulated("relevance=none,popularity_tilt=3,noise=0.5", s.context);
  auto flat = simulated("relevance=none,popularity_tilt=0,noise=0.5", s.context);
  auto popular = run_audit(*tilted, s.workload, s.requests, options, {}, {}).report["metrics"];
  auto neutral = run_audit(*flat, s.workload, s.requests, options, {}, {}).report["metrics"];
  CHECK(popular["popularity"]["arp"]["value"].get<double>() > neutral["popularity"]["arp"]["value"].get<double>());
  CHECK(popular["popularity"]["spearman_popularity_model"]["value"].get<double>() > 0.5);
  CHECK(std::abs(neutral["popularity"]["spearman_popularity_model"]["value"].get<double>()) < 0.1);
  CHECK(popular["popularity"]["aplt"]["value"].get<double>() < neutral["popularity"]["aplt"]["value"].get<double>());
  for (const char* name : {"arp", "aplt", "gini_exposure", "pop_rsp"}) {
    const auto& m = popular["popularity"][name];
    CHECK(m["ci"][1].get<double>() > m["ci"][0].get<double>());  // every number has uncertainty
  }
  CHECK(popular["accuracy"]["hit_rate"]["ci"][1].get<double>() > popular["accuracy"]["hit_rate"]["ci"][0].get<double>());
  // Like for like: the tilted model's top-1 is more popular, within the
  // candidates, than the held-out item; the flat model's is not (both read
  // the same held-out items, so their "positive" percentiles are equal).
  const auto& pp = popular["popularity"];
  const auto& np = neutral["popularity"];
  CHECK(pp["top1_popularity_percentile"]["value"].get<double>() > 0.8);
  CHECK(pp["top1_minus_positive_percentile"]["ci"][0].get<double>() > 0.1);
  CHECK(pp["positive_popularity_percentile"]["value"] == np["positive_popularity_percentile"]["value"]);
  CHECK(np["top1_minus_positive_percentile"]["ci"][0].get<double>() < np["positive_popularity_percentile"]["value"].get<double>());
  CHECK(std::abs(np["top1_popularity_percentile"]["value"].get<double>() - 0.5) < 0.1);
}

TEST_CASE("a deterministic popularity ranker's top-1 sits at the top popularity percentile of its candidates", "[audit][popularity]") {
  // Hand-computed: the popularity adapter always picks the most popular
  // candidate, whose percentile within the candidates is 1 unless it ties
  // (ties count half), so the mean is exactly 1 when no candidate set has a
  // tie at the top.
  auto s = synthetic_setup(100, 40, 10, 7);
  AuditOptions options;
  options.audits = {"popularity"};
  options.bootstrap_replicates = 20;
  auto model = make_recommender(AdapterSpec::parse("popularity"), s.context);
  const auto m = run_audit(*model, s.workload, s.requests, options, {}, {}).report["metrics"]["popularity"];
  double expected = 0;
  for (const auto& r : s.requests.requests) {
    std::vector<double> pop;
    for (auto c : r.request.candidates) pop.push_back(s.workload.catalog->at(c).popularity);
    const double top = *std::max_element(pop.begin(), pop.end());
    const double ties = static_cast<double>(std::count(pop.begin(), pop.end(), top)) - 1;
    expected += (static_cast<double>(pop.size()) - 1 - ties + 0.5 * ties) / static_cast<double>(pop.size() - 1);
  }
  expected /= static_cast<double>(s.requests.requests.size());
  CHECK(m["top1_popularity_percentile"]["value"].get<double>() == Approx(expected).epsilon(1e-12));
}
