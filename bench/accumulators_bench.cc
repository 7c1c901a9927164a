// Throughput and memory of the audit accumulators: N responses with K = 20
// (P = 20 cyclic permutations per request, so N / 20 requests) through the
// position, popularity, grounding and accuracy accumulators with 200
// bootstrap replicates. Goal: 1M responses in <= 2 s on one core, and peak
// memory flat in N (printed for N = 10k and 1M in the same process: the
// accumulators are fixed-size and plans are built and dropped per chunk).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>

#include "audits/audit_runner.h"
#include "core/bootstrap.h"
#include "core/rng.h"

using namespace recbias;

namespace {

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

struct Result {
  double accumulate_s = 0;
  double total_s = 0;
};

Result run(std::size_t responses, const Workload& workload) {
  constexpr int kK = 20;
  AuditOptions options;
  options.audits = {"position", "popularity", "grounding", "accuracy"};
  options.bootstrap_replicates = 200;
  auto context = std::make_shared<const PopularityContext>(make_popularity_context(workload, 0.8));
  AuditState state(options, context);
  const std::size_t bases = responses / kK;
  const std::size_t chunk = 256;
  Rng rng(1);
  Result result;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t begin = 0; begin < bases; begin += chunk) {
    std::vector<EvalRequest> slice;
    for (std::size_t b = begin; b < std::min(bases, begin + chunk); ++b) {
      EvalRequest e;
      e.request.id = "u" + std::to_string(b);
      e.request.user.id = std::to_string(b % workload.users.size() + 1);
      for (int h = 0; h < 20; ++h) e.request.user.history.push_back(static_cast<ItemIndex>(rng.uniform_int(workload.catalog->size())));
      for (int c = 0; c < kK; ++c) e.request.candidates.push_back(static_cast<ItemIndex>(rng.uniform_int(workload.catalog->size())));
      e.request.k = 10;
      e.positive_position = static_cast<int>(rng.uniform_int(kK));
      e.positive = e.request.candidates[static_cast<std::size_t>(e.positive_position)];
      slice.push_back(std::move(e));
    }
    const Plan plan = build_plan(slice, options);
    std::vector<RankResponse> answers(plan.calls.size());
    for (std::size_t c = 0; c < plan.calls.size(); ++c) {
      auto perm = rng.permutation(kK);
      perm.resize(10);
      answers[c].ranking = std::move(perm);
      answers[c].usage = {100, 20, 5.0 + static_cast<double>(c % 7), 1, 0};
    }
    const auto a0 = std::chrono::steady_clock::now();
    for (std::size_t b = 0; b < slice.size(); ++b) {
      const auto weights = poisson_weights(0, stable_hash(slice[b].request.id), 200);
      BaseOutcome o;
      o.base = &slice[b];
      o.plan = &plan.bases[b];
      o.responses = &answers;
      o.weights = &weights;
      state.add(o);
    }
    result.accumulate_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - a0).count();
  }
  nlohmann::ordered_json tests;
  const auto a1 = std::chrono::steady_clock::now();
  const auto metrics = state.metrics(tests);
  result.accumulate_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - a1).count();
  result.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!metrics.contains("position")) std::printf("no metrics?\n");
  return result;
}

}  // namespace

int main() {
  // A catalog of 1682 items with Zipf popularity and 943 users, like MovieLens 100K.
  Dataset ds;
  for (int i = 0; i < 1682; ++i) ds.catalog.add({std::to_string(i), "", {}, 0});
  Rng rng(3);
  for (int u = 0; u < 943; ++u) {
    ds.users.push_back({std::to_string(u + 1), {}});
    for (int t = 0; t < 30; ++t)
      ds.interactions.push_back({u, static_cast<ItemIndex>(std::min<std::uint64_t>(1681, rng.uniform_int(40) * rng.uniform_int(42))), 1, t});
  }
  const auto workload = split_leave_one_out(ds);
  std::printf("audit accumulators (position + popularity + grounding + accuracy/cost), K = 20, P = 20, 200 replicates, 1 thread\n");
  for (std::size_t n : {std::size_t{10'000}, std::size_t{1'000'000}}) {
    const auto r = run(n, workload);
    std::printf("  N = %8zu responses: accumulators %.3f s (total with plan and fake answers %.3f s), peak RSS %ld MiB\n", n,
                r.accumulate_s, r.total_s, max_rss_kib() / 1024);
    if (n == 1'000'000) std::printf("  1M responses: %.3f s, ratio to the 2 s goal %.2f\n", r.accumulate_s, r.accumulate_s / 2.0);
  }
  return 0;
}
