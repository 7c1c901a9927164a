// The confidence sequences behind `audit --sequential` (audits/sequential.h):
// time-uniform coverage where it is hard (small variance near a bound, a
// skewed distribution), widths that shrink, and the monitor's decisions on
// a whole audit (a clear position bias fails early; a rule it cannot decide
// stays undecided; unsupported rules are refused).
#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "audits/audit_runner.h"
#include "core/errors.h"
#include "tests/audits/audit_fixtures.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

TEST_CASE("a confidence sequence covers the mean at every time at once in at least 95% of runs", "[sequential]") {
  // R = 400 runs of 2,000 values each, the interval checked after every
  // value. Each end holds at level 0.025, so the rate of runs that ever miss
  // must stay <= 0.05 (one-sided: a confidence sequence may be conservative;
  // the band is 0.05 + 2.58 SE = 0.078). Its width must still shrink, so an
  // interval that covers by being [0, 1] fails.
  struct Case {
    const char* name;
    double mean, sd;
    std::function<double(std::mt19937_64&)> draw;
  };
  const Case cases[] = {
      {"Bernoulli(0.05)", 0.05, std::sqrt(0.05 * 0.95), [](std::mt19937_64& g) { return std::bernoulli_distribution(0.05)(g) ? 1.0 : 0.0; }},
      {"Bernoulli(0.5)", 0.5, 0.5, [](std::mt19937_64& g) { return std::bernoulli_distribution(0.5)(g) ? 1.0 : 0.0; }},
      {"share of 20 picks, p = 0.06", 0.06, std::sqrt(0.06 * 0.94 / 20),
       [](std::mt19937_64& g) { return std::binomial_distribution<int>(20, 0.06)(g) / 20.0; }},
  };
  const int runs = 400, steps = 2000;
  for (const auto& c : cases) {
    std::mt19937_64 g(42);
    int missed = 0;
    double width = 0;
    for (int r = 0; r < runs; ++r) {
      ConfidenceSequence cs(0.025);
      bool miss = false;
      for (int t = 0; t < steps; ++t) {
        cs.add(c.draw(g));
        miss = miss || cs.lo() > c.mean || cs.hi() < c.mean;
      }
      missed += miss;
      width += (cs.hi() - cs.lo()) / runs;
    }
    INFO(c.name << ": missed in " << missed << " of " << runs << " runs; mean width at n = 2000: " << width);
    CHECK(missed / double(runs) <= 0.05 + 2.58 * std::sqrt(0.05 * 0.95 / runs));
    // Against a fixed-n 95% interval at n = 2000 (2 x 1.96 sd / sqrt(n)):
    // the sequence pays for holding at every n (about sqrt(log(1/a) log n)
    // over z), measured 2.1-2.8 times here; more than 4 would mean it has
    // stopped adapting to the variance.
    const double fixed = 2 * 1.96 * c.sd / std::sqrt(double(steps));
    INFO("fixed-n width " << fixed << ", ratio " << width / fixed);
    CHECK(width < 4 * fixed);
    CHECK(width > fixed);  // no interval narrower than a fixed-n one can hold at every n
  }
}

TEST_CASE("the sequential monitor fails a clear position bias early and leaves an undecidable rule undecided", "[sequential]") {
  const auto setup = synthetic_setup(400, 80, 10, 7, 5);
  AuditOptions options;
  options.audits = {"position"};
  options.bootstrap_replicates = 20;
  options.chunk_bases = 25;
  SECTION("clear bias") {
    auto model = simulated("relevance=none,noise=1,position=primacy,position_strength=2,seed=3", setup.context);
    SequentialMonitor monitor({{"position bias", "position.tvd", 0.05, std::nullopt, std::nullopt}}, 0.05);
    const auto run = run_audit(*model, setup.workload, setup.requests, options, {}, {}, {}, {}, &monitor);
    CHECK(run.decided_early);
    CHECK(monitor.exit_code() == 1);
    CHECK(run.users_measured < run.users_planned / 2);
    CHECK(run.users_measured % 25 == 0);
    const auto result = monitor.result();
    CHECK(result["rules"][0]["decision"] == "fail");
    const double lo = result["rules"][0]["interval"][0];
    CHECK(lo > 0.05);
    // The fixed-n estimate on the same users agrees that the bias is there.
    CHECK(run.report["metrics"]["position"]["tvd"]["value"].get<double>() > lo);
  }
  SECTION("a rule that no number of these users decides") {
    auto model = simulated("relevance=none,noise=1,position=none,seed=3", setup.context);
    SequentialMonitor monitor({{"tiny", "position.tvd", 0.001, std::nullopt, std::nullopt}, {"hit rate", "accuracy.hit_rate", std::nullopt, 0.0, std::nullopt}},
                              0.05);
    const auto run = run_audit(*model, setup.workload, setup.requests, options, {}, {}, {}, {}, &monitor);
    CHECK_FALSE(run.decided_early);
    CHECK(monitor.exit_code() == 3);
    const auto result = monitor.result();
    CHECK(result["rules"][0]["decision"] == "undecided");
    CHECK(result["rules"][1]["decision"] == "pass");  // hit rate >= 0 holds at once
  }
}

TEST_CASE("the sequential monitor refuses rules it has no sequence for, naming the rule", "[sequential][bad-input]") {
  CHECK_THROWS_WITH(SequentialMonitor({{"pop", "popularity.arp", 10.0, std::nullopt, std::nullopt}}, 0.05),
                    Contains("rule \"pop\": metric popularity.arp has no confidence sequence"));
  CHECK_THROWS_WITH(SequentialMonitor({{"x", "position.selection_rate.first", 0.1, std::nullopt, std::nullopt}}, 0.05),
                    Contains("expected position.selection_rate.<position>"));
  CHECK_THROWS_WITH(SequentialMonitor({{"x", "accuracy.ndcg", std::nullopt, std::nullopt, std::nullopt}}, 0.05), Contains("give max or min"));
  CHECK_THROWS_WITH(SequentialMonitor({{"x", "accuracy.ndcg", std::nullopt, std::nullopt, 0.0}}, 0.05),
                    Contains("--target-width accuracy.ndcg=0: expected a width > 0"));
  CHECK_THROWS_WITH(SequentialMonitor({}, 0.05), Contains("no rules"));
}

TEST_CASE("a target width stops the audit once the metric is that precise", "[sequential]") {
  const auto setup = synthetic_setup(400, 80, 10, 7, 5);
  AuditOptions options;
  options.audits = {"position", "accuracy"};
  options.bootstrap_replicates = 20;
  options.chunk_bases = 25;
  auto model = simulated("position=primacy,seed=3", setup.context);
  SequentialMonitor monitor({{"width of accuracy.hit_rate", "accuracy.hit_rate", std::nullopt, std::nullopt, 0.3}}, 0.05);
  const auto run = run_audit(*model, setup.workload, setup.requests, options, {}, {}, {}, {}, &monitor);
  CHECK(run.decided_early);
  CHECK(monitor.exit_code() == 0);
  const auto r = monitor.result()["rules"][0];
  CHECK(r["decision"] == "precise");
  CHECK(r["bound"] == "width <= 0.3");
  const double width = r["interval"][1].get<double>() - r["interval"][0].get<double>();
  CHECK(width <= 0.3);
  CHECK(run.users_measured < run.users_planned);
}
