// Validation of the audits' intervals and tests where they are hard: near
// zero, with heterogeneous users (a minority strongly position-driven,
// design effect >= 5), with per-user preferences that cancel, and with
// clustered hallucinations. Each scenario runs R independent replications of
// a whole audit against the `simulated` adapter, whose truth is known
// exactly (Gumbel-max: with relevance=none the top-1 position of a user with
// position logits b is distributed as softmax(b)), and checks an observed
// rate against a two-sided band derived from R:
//   rate in [target - 2.58 sqrt(target (1 - target) / R), target + ...]
// i.e. a 99% band around the nominal rate: a correct procedure fails it in 1%
// of seeds, and the seeds are fixed, so a pass is reproducible. The TVD
// interval's band has a wider upper edge, for a reason stated at tvd_band
// below. CTest label
// "validation" (several minutes on one core; see the README).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "audits/audit_runner.h"
#include "core/replicated_sums.h"
#include "reports/render_common.h"
#include "tests/audits/audit_fixtures.h"

using namespace recbias;
using namespace recbias::testing;

namespace {

constexpr int kK = 20;

int replications(int fallback) {
  if (const char* r = std::getenv("RECBIAS_VALIDATION_REPS"); r && *r) return std::atoi(r);
  return fallback;
}

std::vector<double> softmax(const std::vector<double>& b) {
  double m = -1e300, z = 0;
  for (double x : b) m = std::max(m, x);
  std::vector<double> p;
  for (double x : b) z += std::exp(x - m);
  for (double x : b) p.push_back(std::exp(x - m) / z);
  return p;
}

double tvd(const std::vector<double>& s) {
  double d = 0;
  for (double x : s) d += std::abs(x - 1.0 / static_cast<double>(s.size()));
  return d / 2;
}

std::string logits(const std::vector<double>& b) {
  std::string out;
  for (std::size_t j = 0; j < b.size(); ++j) out += (j ? ";" : "") + fmt::format("{:.17g}", b[j]);
  return out;
}

// Linear primacy logits beta (1 - j/(K-1)) with the given TVD of softmax (bisection).
std::vector<double> primacy_with_tvd(double target) {
  auto curve = [](double beta) {
    std::vector<double> b(kK);
    for (int j = 0; j < kK; ++j) b[static_cast<std::size_t>(j)] = beta * (1.0 - j / (kK - 1.0));
    return b;
  };
  double lo = 0, hi = 10;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (tvd(softmax(curve(mid))) < target ? lo : hi) = mid;
  }
  return curve((lo + hi) / 2);
}

// A spike of logit b at position 0 (a strongly position-driven user).
std::vector<double> spike(double b) {
  std::vector<double> v(kK, 0.0);
  v[0] = b;
  return v;
}

struct Scenario {
  std::string spec;            // simulated adapter keys (seed appended per replication)
  std::vector<double> truth;   // population selection rates
  int users = 200;
  // Bootstrap replicates of each audit. No interval checked by default uses
  // them: the selection rates and the TVD (by inversion) are computed from
  // the users' linearised covariance. The moment method's TVD interval does
  // (its SD over the replicates): 200 there, as in a default audit.
  int replicates = 20;
};

// One audit of the position audit alone; returns its metrics.
nlohmann::ordered_json position_audit(const SyntheticSetup& s, const Scenario& sc, int rep, TvdInterval method) {
  AuditOptions options;
  options.tvd_interval = method;
  options.audits = {"position", "grounding"};
  options.bootstrap_replicates = sc.replicates;
  options.seed = static_cast<std::uint64_t>(rep) + 1;  // bootstrap weights differ per replication too
  auto model = simulated(sc.spec + fmt::format(",seed={}", rep + 1), s.context);
  return run_audit(*model, s.workload, s.requests, options, {}, {}).report["metrics"];
}

const SyntheticSetup& setup(int users) {
  static std::map<int, SyntheticSetup> cache;
  auto it = cache.find(users);
  if (it == cache.end()) it = cache.emplace(users, synthetic_setup(users, 60, kK, 99, 10)).first;
  return it->second;
}

struct Band {
  double lo, hi;
};
Band band(double target, int r) {
  const double half = 2.58 * std::sqrt(target * (1 - target) / r);
  return {target - half, target + half};
}

struct Rates {
  int r = 0;
  int s0_covered = 0, tvd_covered = 0, zero_included = 0, detected = 0, not_detected = 0;
  int hallucination_covered = 0;
  int tvd_above = 0, tvd_below = 0;  // intervals wholly above / below the true TVD
  double mean_width = 0, sum_tvd2 = 0;
  double mean_power = 0, mean_design_effect = 0, mean_tvd = 0, mean_plugin = 0;
  double mean_deff0 = 0;  // design effect of the selection rate at position 0
  double rate(int x) const { return static_cast<double>(x) / r; }
  double sd_tvd() const { return std::sqrt(std::max(0.0, sum_tvd2 / r - mean_tvd * mean_tvd)); }
  std::string tvd_summary() const {
    return fmt::format("TVD estimate mean {:.4f} (sd over replications {:.4f}; plug-in {:.4f}), interval width {:.4f}, "
                       "misses above {:.3f}, below {:.3f}",
                       mean_tvd, sd_tvd(), mean_plugin, mean_width, rate(tvd_above), rate(tvd_below));
  }
};

Rates run_scenario(const Scenario& sc, int r, double hallucination_truth = -1, TvdInterval method = AuditOptions{}.tvd_interval) {
  Rates out;
  out.r = r;
  const double true_tvd = tvd(sc.truth);
  for (int rep = 0; rep < r; ++rep) {
    const auto m = position_audit(setup(sc.users), sc, rep, method);
    const auto& p = m["position"];
    const auto& s0 = p["selection_rate"][0]["ci"];
    out.s0_covered += s0[0].get<double>() <= sc.truth[0] && sc.truth[0] <= s0[1].get<double>();
    const auto& ci = p["tvd"]["ci"];
    out.tvd_covered += ci[0].get<double>() <= true_tvd && true_tvd <= ci[1].get<double>();
    out.tvd_above += ci[0].get<double>() > true_tvd;
    out.tvd_below += ci[1].get<double>() < true_tvd;
    out.mean_width += (ci[1].get<double>() - ci[0].get<double>()) / r;
    out.sum_tvd2 += std::pow(p["tvd"]["value"].get<double>(), 2);
    out.zero_included += ci[0].get<double>() <= 0.0;
    const bool detected = p["chi_square"]["p_adjusted"].get<double>() < 0.05;
    out.detected += detected;
    out.not_detected += p["verdict"].get<std::string>().starts_with("not detected");
    out.mean_power += p["power_tvd_0_05"].get<double>() / r;
    out.mean_design_effect += p["design_effect"].get<double>() / r;
    out.mean_deff0 += p["selection_rate_design_effect"][0].get<double>() / r;
    out.mean_tvd += p["tvd"]["value"].get<double>() / r;
    out.mean_plugin += p["tvd_plugin"].get<double>() / r;
    if (hallucination_truth >= 0) {
      const auto& h = m["grounding"]["hallucination_rate"]["ci"];
      out.hallucination_covered += h[0].get<double>() <= hallucination_truth && hallucination_truth <= h[1].get<double>();
    }
  }
  return out;
}

// The band for the TVD interval's coverage (the default, by test inversion,
// audits/tvd_inversion.h): [95% - 2.58 SE, 97.5% + 2.58 SE]. Its lower edge
// is the validity requirement, as for every interval here. Its upper edge is
// wider than the symmetric band's because the two sides of this interval are
// not equally sharp. Both are calibrated at the rates nearest the data with
// each TVD t; where the lower bound is decided (t below the data's TVD) that
// nearest shape carries the data's noise and is more spread than a
// concentrated truth, whose plug-in is less biased, so the lower bound
// misses less than its alpha/2 (measured: 1.1-1.9% of the intervals lie
// wholly above the truth where 2.5% are allowed). Calibrating for
// concentrated shapes instead fails spread ones: no procedure is exact for
// every shape at once (TVD is not smooth where some rate is 1/K; Cai and Low
// 2011), and the moment method, exact for concentrated shapes, missed 10.8%
// above the truth for a spread one. 97.5% is the coverage of an interval
// whose upper side misses its alpha/2 and whose lower side never does; an
// interval much wider than needed (e.g. twice the width: > 99.5%) still
// fails the band, and so does any anti-conservative one.
Band tvd_band(int r) { return {band(0.95, r).lo, band(0.975, r).hi}; }

void check_in(const char* what, double observed, Band b) {
  INFO(fmt::format("{}: {:.4f}, band [{:.4f}, {:.4f}]", what, observed, b.lo, b.hi));
  WARN(fmt::format("{}: {:.4f}, band [{:.4f}, {:.4f}]", what, observed, b.lo, b.hi));
  CHECK(observed >= b.lo);
  CHECK(observed <= b.hi);
}

Scenario homogeneous(double target_tvd) {
  Scenario sc;
  const auto b = target_tvd > 0 ? primacy_with_tvd(target_tvd) : std::vector<double>(kK, 0.0);
  sc.spec = "relevance=none,noise=1,position=" + logits(b);
  sc.truth = softmax(b);
  return sc;
}

// A share `f` of users with a spike of logit `b` at position 0, the rest none.
Scenario heterogeneous(double f, double b) {
  Scenario sc;
  sc.spec = fmt::format("relevance=none,noise=1,position=none,position_share={},position_users={}", f, logits(spike(b)));
  const auto p = softmax(spike(b));
  sc.truth.assign(kK, 0.0);
  for (int j = 0; j < kK; ++j) sc.truth[static_cast<std::size_t>(j)] = (1 - f) / kK + f * p[static_cast<std::size_t>(j)];
  return sc;
}

// The spike logit that makes a share f of users give the population a TVD of `target`:
// TVD = f (p0 - 1/K), p0 = e^b / (e^b + K - 1).
double spike_for(double f, double target) {
  const double p0 = 1.0 / kK + target / f;
  return std::log(p0 * (kK - 1) / (1 - p0));
}

// --sequential: R audits of `users` users, the monitor looking after every
// chunk of 10 users at the rule "position.tvd max 0.05".
struct SequentialRates {
  int r = 0, failed = 0, passed = 0, undecided = 0;
  double mean_users = 0;
};
SequentialRates run_sequential(const Scenario& sc, int r, int users) {
  SequentialRates out;
  out.r = r;
  for (int rep = 0; rep < r; ++rep) {
    AuditOptions options;
    options.audits = {"position"};
    options.bootstrap_replicates = 20;
    options.chunk_bases = 10;
    options.seed = static_cast<std::uint64_t>(rep) + 1;
    auto model = simulated(sc.spec + fmt::format(",seed={}", rep + 1), setup(users).context);
    SequentialMonitor monitor({{"position bias", "position.tvd", 0.05, std::nullopt, std::nullopt}}, 0.05);
    const auto run = run_audit(*model, setup(users).workload, setup(users).requests, options, {}, {}, {}, {}, &monitor);
    const int code = monitor.exit_code();
    out.failed += code == 1;
    out.passed += code == 0;
    out.undecided += code == 3;
    out.mean_users += static_cast<double>(run.users_measured) / r;
  }
  return out;
}

}  // namespace

// Sharp null: no user has any position bias.
TEST_CASE("validation: no position bias: intervals cover, 0 is included, false alarms at the nominal rate", "[validation][position]") {
  const int r = replications(1000);
  const auto out = run_scenario(homogeneous(0), r);
  check_in("selection rate at position 0 covered", out.rate(out.s0_covered), band(0.95, r));
  check_in("TVD interval or bound includes 0", out.rate(out.zero_included), tvd_band(r));
  check_in("false alarms (detected)", out.rate(out.detected), band(0.05, r));
  CHECK(out.rate(out.zero_included) >= 0.93);  // DESIGN's bar
  CHECK(out.rate(out.not_detected) >= 0.95 - 2.58 * std::sqrt(0.05 * 0.95 / r));
}

// Per-user favourite positions that cancel in the population: the population
// selection rates are uniform, but each user's picks are not. Pearson's
// chi-square rejects about half the time here (review: 51%); the Rao-Scott
// test must not.
TEST_CASE("validation: per-user position preferences that cancel do not make the test reject", "[validation][position]") {
  const int r = replications(1000);
  Scenario sc = homogeneous(0);
  sc.spec += ",favourite_position=2";
  const auto out = run_scenario(sc, r);
  check_in("false alarms (detected)", out.rate(out.detected), band(0.05, r));
  check_in("selection rate at position 0 covered", out.rate(out.s0_covered), band(0.95, r));
  CHECK(out.mean_design_effect > 1.5);  // the scenario is clustered
}

TEST_CASE("validation: TVD 0.02 and 0.05 with homogeneous users: TVD and selection-rate intervals cover", "[validation][position]") {
  const int r = replications(1000);
  for (double t : {0.02, 0.05}) {
    const auto out = run_scenario(homogeneous(t), r);
    INFO("TVD " << t);
    check_in(fmt::format("TVD {} covered", t).c_str(), out.rate(out.tvd_covered), tvd_band(r));
    check_in(fmt::format("TVD {}: selection rate at position 0 covered", t).c_str(), out.rate(out.s0_covered), band(0.95, r));
    // The corrected estimate is close to the truth where the plug-in is not.
    WARN(fmt::format("homogeneous TVD {}: {}", t, out.tvd_summary()));
  }
}

TEST_CASE("validation: a minority strongly position-driven (design effect >= 5): intervals cover", "[validation][position]") {
  // 10% of users with a spike at position 0 that makes the population TVD
  // 0.05 (design effect of s_0 about 5.7).
  const int r = replications(1000);
  const auto sc = heterogeneous(0.1, spike_for(0.1, 0.05));
  const auto out = run_scenario(sc, r);
  check_in("heterogeneous TVD 0.05: selection rate at position 0 covered", out.rate(out.s0_covered), band(0.95, r));
  check_in("heterogeneous TVD 0.05: TVD covered", out.rate(out.tvd_covered), tvd_band(r));
  WARN(fmt::format("heterogeneous TVD 0.05: design effect at position 0 {:.2f}; {}", out.mean_deff0, out.tvd_summary()));
  CHECK(out.mean_deff0 >= 5);
}

TEST_CASE("validation: a minority mildly position-driven (TVD 0.02): TVD and selection-rate intervals cover", "[validation][position]") {
  // The same at TVD 0.02: the other 19 positions each sit 0.001 (0.3 SD)
  // below uniform and carry half the TVD. Any estimator of |mu| from one
  // N(mu, 1) draw has bias or variance there (Cai and Low 2011): the
  // moment-matched interval (`--tvd-interval moment`, the default before
  // 2026-11-30) covered 89.2% here, every miss above the truth (mean
  // estimate 0.028; the manual [moment] case below). Test inversion does
  // not need an unbiased estimator.
  const int r = replications(1000);
  const auto out = run_scenario(heterogeneous(0.1, spike_for(0.1, 0.02)), r);
  check_in("heterogeneous TVD 0.02: selection rate at position 0 covered", out.rate(out.s0_covered), band(0.95, r));
  check_in("heterogeneous TVD 0.02: TVD covered", out.rate(out.tvd_covered), tvd_band(r));
  WARN(fmt::format("heterogeneous TVD 0.02: {}", out.tvd_summary()));
}

// `--tvd-interval moment` (the moment-matched estimate +- z bootstrap SD) in
// the same five regimes. Not run in CI (108 s on one core; run it
// with `build/tests/validation_tests '[moment]'`), and marked [!mayfail]: it
// covers 89.2% where a minority's bias is spread thinly. Measured at
// R = 1000 (README): no bias 95.1% include 0; homogeneous TVD 0.02 93.9%,
// 0.05 94.7%; the minority at TVD 0.05 94.1%, at TVD 0.02 89.2%.
TEST_CASE("validation (manual): the moment-matched TVD interval in the five regimes", "[.][moment][!mayfail]") {
  const int r = replications(1000);
  const auto method = TvdInterval::kMoment;
  auto with_replicates = [](Scenario sc) {
    sc.replicates = 200;
    return sc;
  };
  const auto none = run_scenario(with_replicates(homogeneous(0)), r, -1, method);
  check_in("moment, no bias: TVD interval or bound includes 0", none.rate(none.zero_included), band(0.95, r));
  for (double t : {0.02, 0.05}) {
    const auto out = run_scenario(with_replicates(homogeneous(t)), r, -1, method);
    check_in(fmt::format("moment, homogeneous TVD {} covered", t).c_str(), out.rate(out.tvd_covered), band(0.95, r));
    WARN(fmt::format("moment, homogeneous TVD {}: {}", t, out.tvd_summary()));
  }
  for (double t : {0.05, 0.02}) {
    const auto out = run_scenario(with_replicates(heterogeneous(0.1, spike_for(0.1, t))), r, -1, method);
    check_in(fmt::format("moment, heterogeneous TVD {} covered", t).c_str(), out.rate(out.tvd_covered), band(0.95, r));
    WARN(fmt::format("moment, heterogeneous TVD {}: {}", t, out.tvd_summary()));
  }
}

// Paired TVD changes (the trade-off table, gate --baseline): two models
// audited on the same plan and seed, the interval of their TVD difference
// from the replicate-wise differences of each run's estimate, under both TVD
// methods. Manual (not in CI; 90 s on one core at R = 300:
// `build/tests/validation_tests '[paired]'`) and may-fail: measured
// (README), the inversion's changes cover 98.7%, 96.7% and 99.7% (valid,
// conservative in two), the moment method's 92.0%, 73.3% and 99.7% (every
// miss below the truth: its change towards 0 was too small).
TEST_CASE("validation (manual): the paired TVD change between two models covers the true change", "[.][paired][!mayfail]") {
  const int r = replications(300);
  struct Pair {
    double a, b;  // the two models' true TVDs (linear primacy)
  };
  for (const auto method : {TvdInterval::kInversion, TvdInterval::kMoment})
  for (const Pair pair : {Pair{0.05, 0.02}, Pair{0.02, 0.0}, Pair{0.05, 0.05}}) {
    const auto sa = homogeneous(pair.a), sb = homogeneous(pair.b);
    const double truth = tvd(sa.truth) - tvd(sb.truth);
    int covered = 0, above = 0, below = 0;
    double mean = 0;
    for (int rep = 0; rep < r; ++rep) {
      auto run = [&](const Scenario& sc, int model_seed) {
        AuditOptions options;
        options.audits = {"position"};
        options.tvd_interval = method;
        options.bootstrap_replicates = 200;
        options.seed = static_cast<std::uint64_t>(rep) + 1;  // the same users' weights in both runs
        auto model = simulated(sc.spec + fmt::format(",seed={}", model_seed), setup(200).context);
        return run_audit(*model, setup(200).workload, setup(200).requests, options, {}, {}).report;
      };
      const auto ra = run(sa, 1000 + rep), rb = run(sb, 5000 + rep);  // independent answers, same plan
      const auto d = paired_difference(ra["state"]["replicates"]["position.tvd"], rb["state"]["replicates"]["position.tvd"]);
      REQUIRE(d);
      covered += d->ci.lo <= truth && truth <= d->ci.hi;
      above += d->ci.lo > truth;
      below += d->ci.hi < truth;
      mean += d->value / r;
    }
    WARN(fmt::format("{}: paired TVD change {} - {} (truth {:.4f}): covered {:.3f} (misses above {:.3f}, below {:.3f}); mean change {:.4f}",
                     tvd_interval_name(method), pair.a, pair.b, truth, double(covered) / r, double(above) / r, double(below) / r, mean));
    check_in(fmt::format("paired TVD change {} - {} covered", pair.a, pair.b).c_str(), double(covered) / r, band(0.95, r));
  }
}

TEST_CASE("validation: 10% of users almost always pick the first position: the selection-rate interval covers", "[validation][position]") {
  // Review scenario F: Wilson over all picks covered 44% here.
  const int r = replications(1000);
  const auto out = run_scenario(heterogeneous(0.1, 5), r);
  check_in("selection rate at position 0 covered", out.rate(out.s0_covered), band(0.95, r));
  WARN(fmt::format("design effect at position 0 {:.2f}", out.mean_deff0));
  CHECK(out.mean_deff0 >= 5);
}

TEST_CASE("validation: the reported power is the power the test has", "[validation][position]") {
  // The least-favourable TVD-0.05 shape (half the positions up, half down),
  // with the number of users at which the reported power is near 0.5.
  const int r = replications(1000);
  Scenario sc;
  std::vector<double> step(kK, 0.0);
  for (int j = 0; j < kK / 2; ++j) step[static_cast<std::size_t>(j)] = std::log(0.55 / 0.45);
  sc.spec = "relevance=none,noise=1,position=" + logits(step);
  sc.truth = softmax(step);
  sc.users = 60;
  REQUIRE(tvd(sc.truth) == Approx(0.05).margin(1e-12));
  const auto out = run_scenario(sc, r);
  const double observed = out.rate(out.detected);
  const double se = std::sqrt(observed * (1 - observed) / r);
  INFO(fmt::format("rejected {:.4f} vs mean reported power {:.4f} (3 SE = {:.4f})", observed, out.mean_power, 3 * se));
  WARN(fmt::format("rejected {:.4f} vs mean reported power {:.4f} (3 SE = {:.4f})", observed, out.mean_power, 3 * se));
  CHECK(out.mean_power > 0.3);
  CHECK(out.mean_power < 0.7);
  CHECK(std::abs(observed - out.mean_power) <= 3 * se);
}

TEST_CASE("validation: clustered hallucinations: the hallucination-rate interval covers", "[validation][grounding]") {
  // 10% of users hallucinate 3 of their 10 entries in every response, and
  // every user one more title in 5% of responses. Truth per entry:
  // 0.1 * (0.3 + 0.05 * 0.1) + 0.9 * 0.05 * 0.1 = 0.035.
  const int r = replications(1000);
  Scenario sc = homogeneous(0);
  sc.spec += ",hallucination_rate=0.05,hallucination_share=0.1,hallucination_burst=3";
  sc.replicates = 20;
  const double truth = 0.1 * (0.3 + 0.05 * 0.1) + 0.9 * 0.05 * 0.1;
  const auto out = run_scenario(sc, r, truth);
  check_in("hallucination rate covered", out.rate(out.hallucination_covered), band(0.95, r));
}

TEST_CASE("validation: a model with the same utility in every group: the utility gap is not significant and no finding is raised",
          "[validation][fairness]") {
  // 300 users with an "occupation" of 8 values of very unequal sizes (as
  // MovieLens occupations are: some groups of a handful of users), drawn
  // independently of what they watched, and a model that ignores every
  // attribute: each group's NDCG has the same distribution. The old
  // max - min over groups of 3 users read as a large gap (review: 0.42 with
  // no gap at all); now small groups are pooled, the gap is compared with
  // its permutation null, and the test rejects at its nominal rate.
  const int r = replications(1000);
  const std::vector<std::string> occupations = {"a", "b", "c", "d", "e", "f", "g", "h"};
  const double shares[] = {0.40, 0.22, 0.14, 0.10, 0.06, 0.04, 0.02, 0.02};
  auto occupation_of = [&](const std::string& user, int rep) {
    const double x = static_cast<double>(stable_hash(fmt::format("occupation/{}/{}", rep, user)) >> 11) * 0x1.0p-53;
    double cumulative = 0;
    std::size_t v = 0;
    while (v + 1 < occupations.size() && x >= (cumulative += shares[v])) ++v;
    return occupations[v];
  };
  auto s = synthetic_setup(300, 60, kK, 41, 10);
  s.workload.attributes = {{"occupation", occupations}};
  int rejected_raw = 0, raised = 0, pooled_seen = 0;
  double mean_gap = 0, mean_e0 = 0;
  for (int rep = 0; rep < r; ++rep) {
    AuditOptions options;
    options.audits = {"fairness"};
    options.attributes = s.workload.attributes;
    options.bootstrap_replicates = 20;
    options.seed = static_cast<std::uint64_t>(rep) + 1;
    auto model = simulated(fmt::format("relevance=popularity,noise=1,seed={}", rep + 1), s.context);
    // Each replication draws the users' groups anew (independently of what
    // they watched), so the null holds over replications, not only for one
    // assignment.
    auto requests = s.requests;
    for (auto& q : requests.requests) q.request.user.attributes = {{"occupation", occupation_of(q.request.user.id, rep)}};
    auto report = run_audit(*model, s.workload, requests, options, {}, {}).report;
    auto& utility = report["metrics"]["fairness"]["attributes"]["occupation"]["utility"];
    rejected_raw += utility["test"]["p_value"].get<double>() < 0.05;
    mean_gap += utility["gap"]["value"].get<double>() / r;
    mean_e0 += utility["gap_e0"].get<double>() / r;
    pooled_seen += !utility["pooled_into_other"].empty();
    nlohmann::json plain = report;  // the renderers read plain (unordered) JSON
    for (const auto& line : render::findings(plain))
      if (line.starts_with("Fairness:") && line.find("NDCG gap") != std::string::npos) ++raised;
  }
  WARN(fmt::format("utility gap: raw p < 0.05 in {:.4f}; finding raised in {:.4f}; mean gap {:.4f}, mean E0 {:.4f}", rejected_raw / double(r),
                   raised / double(r), mean_gap, mean_e0));
  check_in("utility gap test rejections at alpha = 0.05 (raw p)", rejected_raw / double(r), band(0.05, r));
  CHECK(raised / double(r) <= band(0.05, r).hi);  // never more often than a false alarm
  CHECK(pooled_seen == r);                        // the small groups were pooled every time
  CHECK(std::abs(mean_gap - mean_e0) < 0.01);      // with no gap, the gap is what E0 says
}

// Sequential decisions (audits/sequential.h): with the monitor looking after
// every chunk of 10 users, a model whose TVD is exactly at the rule's bound
// (the hardest null) or far below it is declared failing in at most alpha
// = 5% of runs, ever. One-sided: a confidence sequence may be conservative,
// and is (the measured rates are printed); the band's upper end is
// 0.05 + 2.58 SE. A clear bias is declared failing in nearly every run,
// early.
TEST_CASE("validation: sequential monitoring after every chunk never declares a false failure more often than alpha",
          "[validation][sequential]") {
  const int r = replications(500);
  const double hi = 0.05 + 2.58 * std::sqrt(0.05 * 0.95 / r);
  struct Case {
    const char* name;
    Scenario scenario;
  };
  Scenario cancelling = homogeneous(0);
  cancelling.spec += ",favourite_position=2";
  const Case nulls[] = {{"TVD at the bound (0.05), homogeneous", homogeneous(0.05)},
                        {"TVD at the bound (0.05), 10% of users strongly driven", heterogeneous(0.1, spike_for(0.1, 0.05))},
                        {"no bias", homogeneous(0)},
                        {"per-user preferences that cancel", cancelling}};
  for (const auto& c : nulls) {
    const auto out = run_sequential(c.scenario, r, 200);
    const double rate = static_cast<double>(out.failed) / r;
    WARN(fmt::format("{}: declared failing in {:.4f} of {} runs (band <= {:.4f}); passed {:.4f}, undecided {:.4f}", c.name, rate, r, hi,
                     static_cast<double>(out.passed) / r, static_cast<double>(out.undecided) / r));
    CHECK(rate <= hi);
  }
  const auto clear = run_sequential(homogeneous(0.1), r, 500);
  WARN(fmt::format("TVD 0.1: declared failing in {:.4f} of runs after {:.1f} of 500 users on average", double(clear.failed) / r,
                   clear.mean_users));
  CHECK(double(clear.failed) / r >= 0.95);
  CHECK(clear.mean_users <= 250);
}
