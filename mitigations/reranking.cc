#include "mitigations/reranking.h"

#include <cmath>
#include <limits>

#include <torch/types.h>

namespace recbias {

std::vector<double> answer_scores(const RankResponse& r, std::size_t k, std::vector<char>& valid) {
  std::vector<double> s(k, 0.0);
  valid.assign(k, 0);
  if (r.error) return s;
  if (r.scores && r.scores->size() == k) {
    // A candidate the backend could not score (-inf: a label missing from
    // an LLM's top_logprobs) is invalid, like one a rank-only answer left out.
    for (std::size_t j = 0; j < k; ++j) {
      s[j] = (*r.scores)[j];
      valid[j] = std::isfinite(s[j]) ? 1 : 0;
      if (!valid[j]) s[j] = 0;
    }
    return s;
  }
  for (std::size_t pos = 0; pos < r.ranking.size(); ++pos) {
    const auto j = static_cast<std::size_t>(r.ranking[pos]);
    s[j] = -static_cast<double>(pos);
    valid[j] = 1;
  }
  return s;
}

torch::Tensor rerank_scores(const RankResponse& r, std::size_t k, std::vector<char>& valid) {
  auto scores = torch::tensor(answer_scores(r, k, valid), torch::kFloat64).unsqueeze(0);
  for (std::size_t j = 0; j < k; ++j)
    if (!valid[j]) scores[0][static_cast<int64_t>(j)] = -1e9;
  return scores;
}

void add_member(RankResponse& total, const RankResponse& member) {
  total.usage.prompt_tokens += member.usage.prompt_tokens;
  total.usage.completion_tokens += member.usage.completion_tokens;
  total.usage.latency_ms += member.usage.latency_ms;
  total.usage.calls += member.usage.calls;
  total.usage.retries += member.usage.retries;
  total.ungrounded.insert(total.ungrounded.end(), member.ungrounded.begin(), member.ungrounded.end());
  total.duplicates += member.duplicates;
  total.out_of_range += member.out_of_range;
  total.parse_failures += member.parse_failures;
  total.truncated = total.truncated || member.truncated;
}

void finish(RankResponse& out, const torch::Tensor& row, const RankRequest& request) {
  std::vector<float> scores(static_cast<std::size_t>(row.size(0)));
  const auto cpu = row.to(torch::kCPU, torch::kFloat64).contiguous();
  for (std::size_t j = 0; j < scores.size(); ++j) {
    const double v = cpu.data_ptr<double>()[j];
    scores[j] = std::isfinite(v) ? static_cast<float>(v) : -std::numeric_limits<float>::infinity();
  }
  out.ranking.clear();
  for (int p : top_k_by_score(scores, request.candidates, request.k))
    if (std::isfinite(scores[static_cast<std::size_t>(p)])) out.ranking.push_back(p);
  out.scores = std::move(scores);
}

}  // namespace recbias
