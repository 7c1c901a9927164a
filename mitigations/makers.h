// How the registry (registry.cc, torch-free) reaches the decorators, whose
// operators need libtorch: a table of their factories, installed by
// install_mitigations() where recbias_mitigations is linked, or by the torch
// part's loader (adapters/torch_part.h) on first use. The signatures are the
// decorators' own (one source).
#pragma once

#include "mitigations/calibrated_recommender.h"
#include "mitigations/counterfactual_recommender.h"
#include "mitigations/fair_topk_recommender.h"
#include "mitigations/permutation_recommender.h"
#include "mitigations/position_calibration_recommender.h"

namespace recbias {

struct MitigationMakers {
  decltype(&make_permutation_recommender) permutation;
  decltype(&make_position_calibration_recommender) position_calibration;
  decltype(&make_calibrated_recommender) calibrated;
  decltype(&make_fair_topk_recommender) fair_topk;
  decltype(&make_counterfactual_recommender) counterfactual;
};

// recbias_mitigation_registry (torch-free).
void set_mitigation_makers(const MitigationMakers* makers);
// The installed makers; loads the torch part when none are installed.
// BadInput when the program has neither the decorators nor a loader.
const MitigationMakers& mitigation_makers();

// recbias_mitigations (libtorch): installs the linked-in decorators.
void install_mitigations();

}  // namespace recbias
