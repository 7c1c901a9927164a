// calibrate:target=genre|popularity,lambda=0.5,alpha=0.01
// Steck's calibrated re-ranking (operators.h: CalibratedReranker) of the
// model's scores (or ranks) toward the category distribution of the user's
// history: genres, or popularity bins head / mid / tail (the most popular
// items making up the first 20% of training interactions, the next 60%, the
// rest: calibrated popularity, Abdollahpouri et al. 2021).
#pragma once

#include <memory>
#include <string>

#include "adapters/recommender.h"

namespace recbias {

std::unique_ptr<Recommender> make_calibrated_recommender(std::unique_ptr<Recommender> inner, std::shared_ptr<const Catalog> catalog,
                                                         std::string target, double lambda, double alpha);

}  // namespace recbias
