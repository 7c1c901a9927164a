// FaiRLLM's similarity functions (Zhang et al., RecSys 2023; process.ipynb
// and its metric helpers), transcribed statement by statement into C++ as a
// test oracle for audits/list_similarity.h and as the reference loop of
// bench/list_similarity_bench.cc. Deliberately naive: nested loops, Python's
// semantics (last occurrence wins in calc_prag's inner loop; calc_serp_ms
// counts every equal (x_i, y_j) pair; calc_metric_at_k slices both lists to
// top_k). Never used by recbias itself.
#pragma once

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace recbias::testing::fairllm {

// calc_serp_ms(x, y)
inline double calc_serp_ms(const std::vector<int>& x, const std::vector<int>& y) {
  double temp = 0;
  if (y.empty()) return 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t j = 0; j < y.size(); ++j)
      if (x[i] == y[j]) temp = temp + static_cast<double>(x.size()) - static_cast<double>(i) + 1;
  const double ly = static_cast<double>(y.size());
  return temp * 0.5 / ((ly + 1) * ly);
}

// calc_prag(x, y)
inline double calc_prag(const std::vector<int>& x, const std::vector<int>& y) {
  double temp = 0, sum = 0;
  if (y.empty() || x.empty()) return 0;
  if (x.size() == 1) return x == y ? 1 : 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t j = 0; j < x.size(); ++j) {
      if (i >= j) continue;
      long id1 = -1, id2 = -1;
      for (std::size_t k = 0; k < y.size(); ++k) {
        if (y[k] == x[i]) id1 = static_cast<long>(k);
        if (y[k] == x[j]) id2 = static_cast<long>(k);
      }
      sum = sum + 1;
      if (id1 == -1) continue;
      if (id2 == -1) temp = temp + 1;
      if (id1 < id2) temp = temp + 1;
    }
  }
  return temp / sum;
}

// calc_metric_at_k(list1, list2, top_k, metric); metric in {"jaccard", "serp_ms", "prag"}.
inline double calc_metric_at_k(const std::vector<int>& list1, const std::vector<int>& list2, std::size_t top_k,
                               const std::string& metric) {
  const std::vector<int> x(list1.begin(), list1.begin() + static_cast<std::ptrdiff_t>(std::min(top_k, list1.size())));
  const std::vector<int> y(list2.begin(), list2.begin() + static_cast<std::ptrdiff_t>(std::min(top_k, list2.size())));
  if (metric == "jaccard") {
    const std::set<int> sx(x.begin(), x.end()), sy(y.begin(), y.end());
    std::vector<int> both, either;
    std::set_intersection(sx.begin(), sx.end(), sy.begin(), sy.end(), std::back_inserter(both));
    std::set_union(sx.begin(), sx.end(), sy.begin(), sy.end(), std::back_inserter(either));
    return static_cast<double>(both.size()) / static_cast<double>(either.size());
  }
  if (metric == "serp_ms") return calc_serp_ms(x, y);
  return calc_prag(x, y);
}

// return_min_max_delta_std over per-value mean similarities: {max - min, np.std (ddof = 0)}.
inline std::pair<double, double> min_max_delta_std(const std::vector<double>& means) {
  const auto [lo, hi] = std::minmax_element(means.begin(), means.end());
  double mean = 0, var = 0;
  for (double m : means) mean += m;
  mean /= static_cast<double>(means.size());
  for (double m : means) var += (m - mean) * (m - mean);
  return {*hi - *lo, std::sqrt(var / static_cast<double>(means.size()))};
}

}  // namespace recbias::testing::fairllm
