#include "audits/history_accumulator.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "audits/list_similarity.h"
#include "core/errors.h"

namespace recbias {
namespace {

// The variants compared with the original, and the sums kept for each.
constexpr std::size_t kCompared = kHistoryVariants - 1;  // resample, shuffled, reversed, truncated, top_rated, sampled
enum HistorySlot : std::size_t { kHistoryTau, kHistoryJaccard, kHistoryNdcgChange, kHistoryUsers, kSlotsPerVariant };
constexpr std::size_t kPerturbed = kCompared - 1;  // shuffled, reversed, truncated, top_rated, sampled

std::size_t slot(std::size_t compared, HistorySlot s) { return compared * kSlotsPerVariant + s; }

double jaccard_at_k(const std::vector<int>& a, const std::vector<int>& b) {
  std::unordered_set<int> sa(a.begin(), a.end()), sb(b.begin(), b.end());
  std::size_t common = 0;
  for (int x : sa) common += sb.count(x);
  const std::size_t all = sa.size() + sb.size() - common;
  return all ? static_cast<double>(common) / static_cast<double>(all) : 1.0;
}

double ndcg_of(const RankResponse& r, int positive, int k) {
  const int rank = rank_of(r.ranking, positive);
  return rank > 0 && rank <= k ? 1.0 / std::log2(rank + 1.0) : 0.0;
}

std::function<double(std::span<const double>)> mean_of(std::size_t compared, HistorySlot s) {
  return [compared, s](std::span<const double> v) {
    const double users = v[slot(compared, kHistoryUsers)];
    return users > 0 ? v[slot(compared, s)] / users : std::nan("");
  };
}

std::string test_name(std::size_t perturbed) { return fmt::format("history.{}", kHistoryVariantNames[kHistoryShuffled + perturbed]); }

}  // namespace

HistoryAccumulator::HistoryAccumulator(int replicates) : sums_(kCompared * kSlotsPerVariant, replicates), pairs_(kPerturbed) {}

void HistoryAccumulator::add(const BaseOutcome& o) {
  const auto& calls = o.plan->history;
  if (calls.size() != kHistoryVariants || calls[kHistoryOriginal] == SIZE_MAX) return;  // fewer than 2 history items
  const auto& original = o.response(calls[kHistoryOriginal]);
  if (!usable(original)) return;
  const int k = o.base->request.k;
  const int n = static_cast<int>(o.base->request.candidates.size());
  const int positive = o.base->positive_position;
  std::vector<double> values(sums_.size(), 0.0);
  double tau[kCompared];
  bool present[kCompared] = {};
  for (std::size_t c = 0; c < kCompared; ++c) {
    if (calls[c + 1] == SIZE_MAX) continue;  // a profile sample equal to the recent window: not asked
    const auto& other = o.response(calls[c + 1]);
    if (!usable(other)) continue;
    tau[c] = topk_kendall_tau(original.ranking, other.ranking, n);
    if (!std::isfinite(tau[c])) continue;
    present[c] = true;
    values[slot(c, kHistoryTau)] = tau[c];
    values[slot(c, kHistoryJaccard)] = jaccard_at_k(original.ranking, other.ranking);
    values[slot(c, kHistoryNdcgChange)] = ndcg_of(other, positive, k) - ndcg_of(original, positive, k);
    values[slot(c, kHistoryUsers)] = 1.0;
  }
  sums_.add(*o.weights, values);
  for (std::size_t p = 0; p < kPerturbed; ++p)
    if (present[0] && present[p + 1]) {
      const std::pair<double, double> pair{tau[0], tau[p + 1]};
      pairs_[p].insert(std::upper_bound(pairs_[p].begin(), pairs_[p].end(), pair), pair);  // kept sorted: shards merge to the same list
    }
}

void HistoryAccumulator::merge(const HistoryAccumulator& other) {
  sums_.merge(other.sums_);
  for (std::size_t p = 0; p < kPerturbed; ++p) {
    pairs_[p].insert(pairs_[p].end(), other.pairs_[p].begin(), other.pairs_[p].end());
    std::sort(pairs_[p].begin(), pairs_[p].end());
  }
}

std::vector<NamedTest> HistoryAccumulator::tests() const {
  std::vector<NamedTest> out;
  for (std::size_t p = 0; p < kPerturbed; ++p) {
    if (pairs_[p].size() < 2) continue;
    std::vector<double> null_tau, perturbed_tau;
    for (const auto& [a, b] : pairs_[p]) null_tau.push_back(a), perturbed_tau.push_back(b);
    auto result = wilcoxon_signed_rank_greater(null_tau, perturbed_tau);
    result.test += std::string(": re-asking agrees more with the original than the ") + kHistoryVariantNames[kHistoryShuffled + p] + " history";
    out.push_back({test_name(p), result, static_cast<std::int64_t>(pairs_[p].size())});
  }
  return out;
}

nlohmann::ordered_json HistoryAccumulator::result(double confidence, const std::map<std::string, double>& adjusted, double alpha) const {
  nlohmann::ordered_json out;
  out["users"] = sums_.total(slot(0, kHistoryUsers));
  std::vector<std::string> sensitive;
  const auto tests_here = tests();
  for (std::size_t c = 0; c < kCompared; ++c) {
    nlohmann::ordered_json v;
    const double users = sums_.total(slot(c, kHistoryUsers));
    for (auto [s, name] : {std::pair{kHistoryTau, "kendall_tau"}, {kHistoryJaccard, "jaccard"}, {kHistoryNdcgChange, "ndcg_change"}}) {
      const auto e = sums_.estimate(mean_of(c, s), confidence);
      v[name] = metric_json(e.value, e.ci, users);
    }
    if (c > 0) {
      const auto name = test_name(c - 1);
      const auto it = std::find_if(tests_here.begin(), tests_here.end(), [&](const NamedTest& t) { return t.name == name; });
      if (it != tests_here.end()) {
        const auto adj = adjusted.find(name);
        const double p_adjusted = adj != adjusted.end() ? adj->second : it->result.p_value;
        v["test"] = {{"test", it->result.test}, {"statistic", it->result.statistic}, {"p_value", it->result.p_value},
                     {"p_adjusted", p_adjusted}, {"significant", p_adjusted < alpha}, {"n", it->n}};
        if (p_adjusted < alpha) sensitive.push_back(kHistoryVariantNames[c + 1]);
      }
    }
    out[kHistoryVariantNames[c + 1]] = v;
  }
  out["verdict"] = sensitive.empty() ? std::string("no perturbation of the history moved the answer more than asking again")
                                     : fmt::format("the answer moves more than on asking again when the history is {}", fmt::join(sensitive, ", "));
  return out;
}

void HistoryAccumulator::replicated(std::map<std::string, ReplicatedValue>& out) const {
  for (std::size_t c = 0; c < kCompared; ++c)
    out[fmt::format("history.{}.kendall_tau", kHistoryVariantNames[c + 1])] = sums_.replicated(mean_of(c, kHistoryTau));
}

nlohmann::json HistoryAccumulator::state() const {
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& p : pairs_) pairs.push_back(p);
  return {{"sums", sums_.to_json()}, {"tau_pairs", pairs}};
}

void HistoryAccumulator::load_state(const nlohmann::json& j) {
  try {
    auto sums = ReplicatedSums::from_json(j.at("sums"));
    if (sums.size() != sums_.size())
      throw BadInput(fmt::format("history state: {} sums, expected {} (a report of a recbias version with other history variants?)", sums.size(),
                                 sums_.size()));
    auto pairs = j.at("tau_pairs").get<std::vector<std::vector<std::pair<double, double>>>>();
    if (pairs.size() != kPerturbed) throw BadInput("history state: tau_pairs needs one list per perturbation");
    sums_ = std::move(sums);
    pairs_ = std::move(pairs);
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("history state: {}", e.what()));
  }
}

}  // namespace recbias
