// install_mitigations() (makers.h): the decorators linked into this program.
#include "mitigations/makers.h"

namespace recbias {

void install_mitigations() {
  static const MitigationMakers makers{&make_permutation_recommender, &make_position_calibration_recommender, &make_calibrated_recommender,
                                       &make_fair_topk_recommender, &make_counterfactual_recommender};
  set_mitigation_makers(&makers);
}

}  // namespace recbias
