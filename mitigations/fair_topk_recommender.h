// fair:p=0.5,alpha=0.1 — FA*IR fair top-k (fair_topk.h) with long-tail
// items (outside the short head making up `short_head_share` of training
// interactions, --short-head) as the protected group, or with
// group=ATTR:VALUE an item group (core/catalog.h: genre:Drama, era:1990s);
// the minimum-count table uses the adjusted alpha.
#pragma once

#include <memory>
#include <string>

#include "adapters/recommender.h"

namespace recbias {

// `group`: "" for the long tail, else "genre:VALUE" or "era:VALUE" (BadInput
// when the attribute is unknown or no catalog item is in the group).
std::unique_ptr<Recommender> make_fair_topk_recommender(std::unique_ptr<Recommender> inner, std::shared_ptr<const Catalog> catalog,
                                                        double p, double alpha, double short_head_share, const std::string& group);

}  // namespace recbias
