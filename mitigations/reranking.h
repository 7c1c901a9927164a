// What the re-ranking decorators share: reading an answer as scores in the
// presented order, folding the usage of the calls behind an answer, and the
// final top-k from one row of aggregated scores. Internal to mitigations/.
#pragma once

#include <cstddef>
#include <vector>

#include <torch/types.h>

#include "adapters/recommender.h"

namespace recbias {

// Scores of one answer in the presented order: the model's scores (masked,
// non-finite ones invalid), or, for rank-only answers, minus the rank of
// each ranked candidate (unranked ones invalid). `valid` receives which
// entries mean something.
std::vector<double> answer_scores(const RankResponse& r, std::size_t k, std::vector<char>& valid);

// answer_scores as a [1, K] tensor, with candidates the answer did not rank
// placed last (-1e9).
torch::Tensor rerank_scores(const RankResponse& r, std::size_t k, std::vector<char>& valid);

// Folds the usage and grounding counts of `member` into `total`.
void add_member(RankResponse& total, const RankResponse& member);

// Final answer from aggregated scores (one row), top k.
void finish(RankResponse& out, const torch::Tensor& row, const RankRequest& request);

}  // namespace recbias
