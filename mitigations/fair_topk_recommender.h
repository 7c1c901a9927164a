// fair:p=0.5,alpha=0.1 — FA*IR fair top-k (fair_topk.h) with long-tail
// items (outside the short head making up `short_head_share` of training
// interactions, --short-head) as the protected group; the minimum-count
// table uses the adjusted alpha.
#pragma once

#include <memory>

#include "adapters/recommender.h"

namespace recbias {

std::unique_ptr<Recommender> make_fair_topk_recommender(std::unique_ptr<Recommender> inner, std::shared_ptr<const Catalog> catalog,
                                                        double p, double alpha, double short_head_share);

}  // namespace recbias
