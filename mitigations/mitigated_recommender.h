// Mitigations as Recommenders that wrap a Recommender (like faiss's IndexIDMap
// wraps an Index), so `recbias audit --mitigate ...` measures a mitigated
// model with the very audits that found the bias. Each decorator is thin: it
// builds the extra requests, calls the wrapped model ONCE per batch, and hands
// the scores to an operator in operators.h.
//
//   permutation:m=8,agg=mean|borda|rrf|kemeny,design=cyclic|random,seed=0
//       permutation ensembling; with a TorchScript model the m permuted
//       copies are one forward on the model's device and the scores stay
//       there until the final top-k; other models get one batched rank() of
//       B*m requests (rank-only answers are aggregated as ranks, missing
//       items masked).
//   calibrate-position:prior=0.09;0.07;...  (or prior=report.json)
//       scores minus log of the per-position prior (contextual calibration);
//       prior=report.json takes the position audit's selection rates.
//   calibrate:target=genre|popularity,lambda=0.5,alpha=0.01
//       Steck's calibrated re-ranking of the model's scores (or ranks) toward
//       the category distribution of the user's history: genres, or
//       popularity bins head / mid / tail (20% / 60% / 20% of training
//       interactions; calibrated popularity).
//   fair:p=0.5,alpha=0.1
//       FA*IR fair top-k with long-tail items (outside the 80% short head) as
//       the protected group; the minimum-count table uses the adjusted alpha.
//   counterfactual:attribute=gender
//       every value of the attribute is stated in turn and the scores are
//       averaged: the answer cannot depend on the user's value. Values come
//       from the dataset's attribute set.
//   neutralize:attribute=gender
//       the attribute is removed from the profile before the model sees it.
//
// Ids compose: "permutation(m=8,agg=mean)<-simulated:...". Answers of
// mitigated models count every model call they cost in usage.calls.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapters/adapter_spec.h"
#include "adapters/recommender.h"
#include "datasets/dataset.h"

namespace recbias {

struct MitigationContext {
  std::shared_ptr<const Catalog> catalog;
  std::vector<AttributeSet> attributes;  // the dataset's attributes (counterfactual, neutralize)
};

// Wraps `inner` with the mitigation a spec names. BadInput for unknown
// mitigations or keys (listing the known ones).
std::unique_ptr<Recommender> make_mitigation(const AdapterSpec& spec, std::unique_ptr<Recommender> inner,
                                             const MitigationContext& context);

// "permutation, calibrate-position, calibrate, fair, counterfactual, neutralize"
std::string mitigation_names();

}  // namespace recbias
