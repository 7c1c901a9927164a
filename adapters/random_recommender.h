// `random`: each (user, item, sample) gets a uniform score from a seeded
// stream, so the ranking is random across users but does not depend on the
// order candidates are presented in: the null model for position audits.
#pragma once

#include <cstdint>
#include <memory>

#include "adapters/recommender.h"

namespace recbias {

std::unique_ptr<Recommender> make_random_recommender(std::shared_ptr<const Catalog> catalog, std::uint64_t seed);

}  // namespace recbias
