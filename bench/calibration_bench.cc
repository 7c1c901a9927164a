// Calibrated re-ranking (Steck 2018) of B = 10,000 requests x K = 100
// candidates, top 10, over G = 18 genres: the batched tensor operator vs a
// plain per-request loop over the same numbers (the loop a user would write
// first), side by side in one run. Prints the time of each and their ratio.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "mitigations/operators.h"

using namespace recbias;

namespace {

// Steck's greedy for one request on plain arrays (row-major [K], [K, G], [G]).
std::vector<int> greedy(const double* scores, const double* cats, const double* target, int k, int g, int top, double lambda,
                        double alpha) {
  std::vector<int> chosen;
  std::vector<char> used(static_cast<std::size_t>(k), 0);
  std::vector<double> q_sum(static_cast<std::size_t>(g), 0.0);
  double rel = 0;
  for (int t = 0; t < top; ++t) {
    double best = -INFINITY;
    int pick = -1;
    for (int i = 0; i < k; ++i) {
      if (used[static_cast<std::size_t>(i)]) continue;
      double kl = 0;
      for (int c = 0; c < g; ++c) {
        const double p = target[c];
        if (p <= 0) continue;
        const double q = (q_sum[static_cast<std::size_t>(c)] + cats[i * g + c]) / (t + 1);
        kl += p * std::log(p / ((1 - alpha) * q + alpha * p));
      }
      const double objective = (1 - lambda) * (rel + scores[i]) - lambda * kl;
      if (objective > best) best = objective, pick = i;
    }
    used[static_cast<std::size_t>(pick)] = 1;
    chosen.push_back(pick);
    rel += scores[pick];
    for (int c = 0; c < g; ++c) q_sum[static_cast<std::size_t>(c)] += cats[pick * g + c];
  }
  return chosen;
}

}  // namespace

int main(int argc, char** argv) {
  // Usage: bench_calibration [device=cpu] [threads] [repeats=3]
  const std::string device_name = argc > 1 ? argv[1] : "cpu";
  if (argc > 2 && std::stoi(argv[2]) > 0) at::set_num_threads(std::stoi(argv[2]));
  const int repeats = argc > 3 ? std::stoi(argv[3]) : 3;
  constexpr int64_t kB = 10'000, kK = 100, kG = 18, kTop = 10;
  constexpr double kLambda = 0.5, kAlpha = 0.01;
  const torch::Device device(device_name);
  torch::manual_seed(0);
  const auto scores = torch::rand({kB, kK}, torch::kFloat64);
  // One or two genres per item, as in MovieLens; each row a distribution.
  auto cats = (torch::rand({kB, kK, kG}, torch::kFloat64) < 0.08).to(torch::kFloat64);
  cats.select(2, 0).masked_fill_(cats.sum(2) == 0, 1.0);
  cats = cats / cats.sum(2, true);
  auto target = torch::rand({kB, kG}, torch::kFloat64) + 0.05;
  target = target / target.sum(1, true);

  const CalibratedReranker rerank(kLambda, kTop, kAlpha);
  const auto s_dev = scores.to(device), c_dev = cats.to(device), t_dev = target.to(device);
  auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  auto picks = rerank(s_dev, c_dev, t_dev).cpu();  // warm-up, and the answer to compare
  sync();

  double t_tensor = 0, t_loop = 0;
  std::vector<std::vector<int>> loop_picks(kB);
  for (int rep = 0; rep < repeats; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    auto out = rerank(s_dev, c_dev, t_dev);
    sync();
    auto t1 = std::chrono::steady_clock::now();
    const double* sp = scores.data_ptr<double>();
    const double* cp = cats.data_ptr<double>();
    const double* tp = target.data_ptr<double>();
    for (int64_t r = 0; r < kB; ++r)
      loop_picks[static_cast<std::size_t>(r)] = greedy(sp + r * kK, cp + r * kK * kG, tp + r * kG, kK, kG, kTop, kLambda, kAlpha);
    auto t2 = std::chrono::steady_clock::now();
    t_tensor += std::chrono::duration<double>(t1 - t0).count();
    t_loop += std::chrono::duration<double>(t2 - t1).count();
  }
  int64_t mismatches = 0;
  auto pa = picks.accessor<int64_t, 2>();
  for (int64_t r = 0; r < kB; ++r)
    for (int64_t t = 0; t < kTop; ++t) mismatches += pa[r][t] != loop_picks[static_cast<std::size_t>(r)][static_cast<std::size_t>(t)];
  std::printf("calibrated re-ranking B = %lld, K = %lld, G = %lld, top %lld, lambda %.1f, %s, %d threads, %d repeats\n",
              static_cast<long long>(kB), static_cast<long long>(kK), static_cast<long long>(kG), static_cast<long long>(kTop), kLambda,
              device.str().c_str(), at::get_num_threads(), repeats);
  std::printf("  batched operator   %.3f s per batch (%.0f requests/s)\n  plain loop (1 core) %.3f s per batch (%.0f requests/s)\n"
              "  ratio              %.3f\n  picks that differ  %lld of %lld\n",
              t_tensor / repeats, kB * repeats / t_tensor, t_loop / repeats, kB * repeats / t_loop, t_tensor / t_loop,
              static_cast<long long>(mismatches), static_cast<long long>(kB * kTop));
  return mismatches == 0 ? 0 : 1;
}
