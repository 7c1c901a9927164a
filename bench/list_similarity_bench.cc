// Pairs per second of the fairness audit's list similarities at K = 20
// (Jaccard, SERP* in FaiRLLM's compat and normalised forms, PRAG*, RBO) and
// of the position and history audits' top-k Kendall tau, recbias's
// implementation against a straightforward reference on the same pairs in
// the same run: FaiRLLM's functions transcribed statement by statement
// (tests/audits/fairllm_reference.h; Jaccard through two std::sets), core's
// general rbo_ext (hash sets), and core's kendall_tau_b over double ranks.
// Goal: >= 2M pairs/s on one core for each fairness metric (the tau row has
// no goal: it prints its ratio to the general path), and the position
// audit's mean tau over a user's answers of mixed lengths, factorised
// against the pairwise loop (no goal). Results must agree to 1e-12; the
// bench checks and exits 1 otherwise.
// Usage: bench_list_similarity [pairs=200000]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "audits/list_similarity.h"
#include "core/rng.h"
#include "core/stats.h"
#include "tests/audits/fairllm_reference.h"

using namespace recbias;

namespace {

using Metric = std::function<double(const std::vector<int>&, const std::vector<int>&)>;

// Seconds for one pass over all pairs; `sink` keeps the results alive.
double time_pass(const std::vector<std::vector<int>>& a, const std::vector<std::vector<int>>& b, const Metric& f, std::vector<double>& out) {
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = f(a[i], b[i]);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t pairs = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 200000;
  constexpr int kK = 20;
  // Lists of K = 20 of 40 ids (an LLM's top 20 for two prompts): overlaps of every size occur.
  Rng rng(20231);
  std::vector<std::vector<int>> a(pairs), b(pairs);
  for (std::size_t i = 0; i < pairs; ++i) {
    a[i] = rng.permutation(2 * kK);
    b[i] = rng.permutation(2 * kK);
    a[i].resize(kK);
    b[i].resize(kK);
  }
  struct Row {
    const char* name;
    Metric ours;
    Metric reference;
    bool goal = true;  // held to >= 2M pairs/s
  };
  namespace ref = recbias::testing::fairllm;
  const std::vector<Row> rows = {
      {"jaccard", [](const auto& x, const auto& y) { return jaccard(x, y); },
       [](const auto& x, const auto& y) { return ref::calc_metric_at_k(x, y, kK, "jaccard"); }},
      {"serp (compat)", [](const auto& x, const auto& y) { return serp_star(x, y, true); },
       [](const auto& x, const auto& y) { return ref::calc_serp_ms(x, y); }},
      {"serp (normalised)", [](const auto& x, const auto& y) { return serp_star(x, y, false); },
       [](const auto& x, const auto& y) {  // the normalised form by the same naive loop as calc_serp_ms
         double sum = 0;
         const double n = static_cast<double>(std::max(x.size(), y.size()));
         for (std::size_t i = 0; i < x.size(); ++i)
           for (std::size_t j = 0; j < y.size(); ++j)
             if (x[i] == y[j]) sum += n - static_cast<double>(i);
         return sum / (n * (n + 1) / 2.0);
       }},
      {"prag", [](const auto& x, const auto& y) { return prag_star(x, y); },
       [](const auto& x, const auto& y) { return ref::calc_prag(x, y); }},
      {"rbo", [](const auto& x, const auto& y) { return rbo(x, y); },
       [](const auto& x, const auto& y) { return rbo_ext(x, y, 0.9); }},
      // The position and history audits' top-k tau over the 2K ids: the
      // stack/integer path against core's kendall_tau_b over double ranks.
      {"top-k kendall tau", [](const auto& x, const auto& y) { return topk_kendall_tau(x, y, 2 * kK); },
       [](const auto& x, const auto& y) {
         std::vector<double> rx(2 * kK, static_cast<double>(x.size())), ry(2 * kK, static_cast<double>(y.size()));
         for (std::size_t i = 0; i < x.size(); ++i) rx[static_cast<std::size_t>(x[i])] = static_cast<double>(i);
         for (std::size_t i = 0; i < y.size(); ++i) ry[static_cast<std::size_t>(y[i])] = static_cast<double>(i);
         return kendall_tau_b(rx, ry);
       },
       false},
  };
  std::printf("list similarity, K = %d, %zu pairs, one thread\n", kK, pairs);
  std::printf("%-18s %14s %14s %8s %s\n", "metric", "recbias/s", "reference/s", "speedup", "goal >= 2M/s");
  bool ok = true;
  std::vector<double> ours(pairs), theirs(pairs);
  for (const auto& row : rows) {
    // Warm up once, then the better of three passes each, interleaved.
    time_pass(a, b, row.ours, ours);
    double best_ours = 1e300, best_ref = 1e300;
    for (int rep = 0; rep < 3; ++rep) {
      best_ours = std::min(best_ours, time_pass(a, b, row.ours, ours));
      best_ref = std::min(best_ref, time_pass(a, b, row.reference, theirs));
    }
    double worst = 0;
    for (std::size_t i = 0; i < pairs; ++i) worst = std::max(worst, std::abs(ours[i] - theirs[i]));
    const double rate = static_cast<double>(pairs) / best_ours, ref_rate = static_cast<double>(pairs) / best_ref;
    const char* verdict = !row.goal ? "(no goal)" : rate >= 2e6 ? "met" : "NOT met";
    std::printf("%-18s %14.0f %14.0f %7.1fx %s (max |diff| %.1e)\n", row.name, rate, ref_rate, rate / ref_rate, verdict, worst);
    if (worst > 1e-12) ok = false;
  }

  // The position audit's mean tau over one user's answers: 20 permutations'
  // lists of up to 10 of K = 20 positions, of mixed lengths (an answer
  // loses the entries that named no candidate), factorised over length
  // classes against the mean of topk_kendall_tau over the 190 pairs.
  const std::size_t users = std::max<std::size_t>(1, pairs / 200);
  std::vector<std::vector<std::vector<int>>> answers(users);
  for (auto& lists : answers) {
    lists.resize(20);
    for (auto& l : lists) {
      l = rng.permutation(kK);
      l.resize(8 + rng.uniform_int(3));  // 8, 9 or 10 entries
    }
  }
  auto time_users = [&](const std::function<double(const std::vector<std::vector<int>>&)>& f, std::vector<double>& out) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t u = 0; u < users; ++u) out[u] = f(answers[u]);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const auto factorised = [](const std::vector<std::vector<int>>& lists) { return mean_pairwise_topk_tau(lists, kK); };
  const auto pairwise = [](const std::vector<std::vector<int>>& lists) {
    double sum = 0;
    for (std::size_t x = 0; x < lists.size(); ++x)
      for (std::size_t y = x + 1; y < lists.size(); ++y) sum += topk_kendall_tau(lists[x], lists[y], kK);
    return sum / (static_cast<double>(lists.size()) * (static_cast<double>(lists.size()) - 1) / 2);
  };
  std::vector<double> ours_u(users), theirs_u(users);
  time_users(factorised, ours_u);
  double best_ours = 1e300, best_ref = 1e300;
  for (int rep = 0; rep < 3; ++rep) {
    best_ours = std::min(best_ours, time_users(factorised, ours_u));
    best_ref = std::min(best_ref, time_users(pairwise, theirs_u));
  }
  double worst = 0;
  for (std::size_t u = 0; u < users; ++u) worst = std::max(worst, std::abs(ours_u[u] - theirs_u[u]));
  std::printf("\nmean pairwise top-k tau over a user's 20 answers of 8-10 entries, %zu users\n", users);
  std::printf("%-18s %14.0f %14.0f %7.1fx (no goal) (max |diff| %.1e)\n", "users/s", static_cast<double>(users) / best_ours,
              static_cast<double>(users) / best_ref, best_ref / best_ours, worst);
  if (worst > 1e-12) ok = false;
  return ok ? 0 : 1;
}
