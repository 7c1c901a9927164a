// counterfactual:attribute=gender — every value of the attribute is stated
// in turn and the standardised scores are averaged: the answer cannot depend
// on the user's value.
// neutralize:attribute=gender — the attribute is removed from the profile
// before the model sees it.
#pragma once

#include <memory>

#include "adapters/recommender.h"
#include "datasets/dataset.h"

namespace recbias {

std::unique_ptr<Recommender> make_counterfactual_recommender(std::unique_ptr<Recommender> inner, AttributeSet attribute, bool neutralize);

}  // namespace recbias
