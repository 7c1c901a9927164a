// calibrate-position:prior=0.09;0.07;...  (or prior=report.json)
// Scores minus the log of the per-position prior (contextual calibration;
// operators.h: PositionCalibration). The decorator takes the prior's values;
// a report path is resolved by the caller (MitigationContext::read_prior),
// never read here. `source` is what the id records.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapters/recommender.h"

namespace recbias {

std::unique_ptr<Recommender> make_position_calibration_recommender(std::unique_ptr<Recommender> inner, std::vector<double> prior,
                                                                   std::string source);

}  // namespace recbias
