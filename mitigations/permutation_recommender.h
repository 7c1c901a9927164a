// permutation:m=8,agg=mean|borda|rrf|kemeny,design=cyclic|random,seed=0
// Permutation ensembling: every request is asked in m presented orders and
// the answers are aggregated (operators.h: PermutationEnsemble,
// RankAggregator). With a tensor scorer (adapters/tensor_scorer.h, e.g.
// TorchScript) the m permuted copies are one forward on the model's device
// and the scores stay there until the final top-k; other models get one
// batched rank() of B*m requests (rank-only answers are aggregated as ranks,
// missing items masked). m = 0: m = K (every candidate visits every position).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "adapters/recommender.h"

namespace recbias {

// `aggregation`: mean | borda | rrf | kemeny; `design`: cyclic | random (BadInput otherwise).
std::unique_ptr<Recommender> make_permutation_recommender(std::unique_ptr<Recommender> inner, int m, std::string aggregation,
                                                          std::string design, std::uint64_t seed);

}  // namespace recbias
