// What one base request produced, handed to every accumulator, and helpers
// shared by the audits.
#pragma once

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/plan.h"
#include "core/rank.h"
#include "core/stats.h"
#include "datasets/workload.h"

namespace recbias {

// k vs K. Every answer is cut to its request's k once, here, before any
// audit reads it: response() is that top-k view, and every set or "@k"
// metric reads it (fairness similarities, popularity's ARP/APLT/ACLT/
// exposure/PopRSP/PopREO/ΔGAP, HR/NDCG/MRR@k, utility). full_response() is
// the whole answer as the model gave it (an LLM often lists all K
// candidates), for the metrics defined on whole rankings: the position
// audit's Kendall τ, RBO and transition matrix, popularity by output rank and
// the within-list Spearman preference, and the grounding audit's entry
// counts. `truncated` keeps its meaning: the model gave fewer than k.
struct BaseOutcome {
  const EvalRequest* base = nullptr;                         // neutral profile, base candidate order
  const BasePlan* plan = nullptr;
  const std::vector<RankResponse>* responses = nullptr;      // top-k views, by call index of the current chunk
  const std::vector<RankResponse>* full = nullptr;           // whole answers (null: `responses` are whole)
  std::size_t call_offset = 0;                               // plan call index -> responses index
  const std::vector<int>* weights = nullptr;                 // Poisson weights of this base request
  const std::map<std::string, std::string>* real_attributes = nullptr;  // the user's dataset attributes

  const RankResponse& response(std::size_t call) const { return (*responses)[call - call_offset]; }
  const RankResponse& full_response(std::size_t call) const { return (*(full ? full : responses))[call - call_offset]; }
};

// `r` cut to its first `k` grounded entries, without the raw answer (the
// audits read grounded entries only). Every other field is kept as it is.
inline RankResponse top_k_view(const RankResponse& r, int k) {
  RankResponse v = r;
  v.raw.reset();
  if (v.ranking.size() > static_cast<std::size_t>(std::max(k, 0))) v.ranking.resize(static_cast<std::size_t>(std::max(k, 0)));
  return v;
}

// A response the audits can read: no error and at least one grounded entry.
inline bool usable(const RankResponse& r) { return !r.error && !r.ranking.empty(); }

// The output ranking as base-candidate indices, given the presented order
// (order[j] = base candidate at position j; empty = identity).
inline std::vector<int> depermute(const RankResponse& r, const std::vector<int>& order) {
  std::vector<int> out;
  out.reserve(r.ranking.size());
  for (int p : r.ranking) out.push_back(order.empty() ? p : order[static_cast<std::size_t>(p)]);
  return out;
}

// 1-based rank of `candidate` (a base-candidate index) in `list`, or 0 when absent.
inline int rank_of(const std::vector<int>& list, int candidate) {
  for (std::size_t i = 0; i < list.size(); ++i)
    if (list[i] == candidate) return static_cast<int>(i) + 1;
  return 0;
}

// {"value": v, "ci": [lo, hi], "n": n}; NaN and infinities become null.
inline nlohmann::ordered_json metric_json(double value, Interval ci, double n) {
  auto number = [](double x) { return std::isfinite(x) ? nlohmann::ordered_json(x) : nlohmann::ordered_json(nullptr); };
  return {{"value", number(value)}, {"ci", {number(ci.lo), number(ci.hi)}}, {"n", n}};
}

inline nlohmann::ordered_json proportion_json(double successes, double n, double confidence) {
  const auto ci = wilson_interval(static_cast<std::int64_t>(successes), static_cast<std::int64_t>(n), confidence);
  return metric_json(n > 0 ? successes / n : std::nan(""), ci, n);
}

}  // namespace recbias
