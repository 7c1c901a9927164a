// `popularity`: ranks candidates by training popularity, most popular first.
// The non-personalised baseline every recommender must beat. Ties are broken
// by item index, never by presented position, so it has no position bias.
#pragma once

#include <memory>

#include "adapters/recommender.h"

namespace recbias {

std::unique_ptr<Recommender> make_popularity_recommender(std::shared_ptr<const Catalog> catalog);

}  // namespace recbias
