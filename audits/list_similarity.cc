#include "audits/list_similarity.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "core/stats.h"

namespace recbias {

double jaccard(std::span<const int> a, std::span<const int> b) {
  std::unordered_set<int> sa(a.begin(), a.end()), sb(b.begin(), b.end());
  if (sa.empty() && sb.empty()) return 1.0;
  std::size_t both = 0;
  for (int v : sa) both += sb.count(v);
  return static_cast<double>(both) / static_cast<double>(sa.size() + sb.size() - both);
}

double serp_star(std::span<const int> x, std::span<const int> y, bool fairllm_compat) {
  std::unordered_set<int> in_y(y.begin(), y.end());
  const double k = static_cast<double>(x.size());
  double sum = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!in_y.count(x[i])) continue;
    // compat: FaiRLLM's len(x) - i + 1 (0-based i); normalised: K - i.
    sum += fairllm_compat ? k - static_cast<double>(i) + 1 : k - static_cast<double>(i);
  }
  if (fairllm_compat) {
    if (y.empty()) return 0.0;
    const double ly = static_cast<double>(y.size());
    // calc_serp_ms counts every (x, y) equal pair; lists of unique ids match at most once.
    return sum * 0.5 / ((ly + 1) * ly);
  }
  if (x.empty()) return y.empty() ? 1.0 : 0.0;
  return sum / (k * (k + 1) / 2);
}

double prag_star(std::span<const int> x, std::span<const int> y) {
  if (x.empty() || y.empty()) return 0.0;
  if (x.size() == 1) return std::equal(x.begin(), x.end(), y.begin(), y.end()) ? 1.0 : 0.0;
  std::unordered_map<int, std::size_t> rank_in_y;
  for (std::size_t k = 0; k < y.size(); ++k) rank_in_y[y[k]] = k;  // last occurrence, as calc_prag
  double kept = 0, pairs = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      pairs += 1;
      auto a = rank_in_y.find(x[i]);
      if (a == rank_in_y.end()) continue;
      auto b = rank_in_y.find(x[j]);
      if (b == rank_in_y.end() || a->second < b->second) kept += 1;
    }
  }
  return kept / pairs;
}

double rbo(std::span<const int> a, std::span<const int> b) { return rbo_ext(a, b, 0.9); }

double topk_kendall_tau(std::span<const int> a, std::span<const int> b, int n) {
  std::vector<double> ra(static_cast<std::size_t>(n), static_cast<double>(a.size())),
      rb(static_cast<std::size_t>(n), static_cast<double>(b.size()));
  for (std::size_t i = 0; i < a.size(); ++i) ra[static_cast<std::size_t>(a[i])] = static_cast<double>(i);
  for (std::size_t i = 0; i < b.size(); ++i) rb[static_cast<std::size_t>(b[i])] = static_cast<double>(i);
  return kendall_tau_b(ra, rb);
}

}  // namespace recbias
