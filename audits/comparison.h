// The bias × accuracy × cost trade-off of mitigations: the baseline and each
// mitigated model audited on the same plan, side by side.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace recbias {

// One audited run on the shared plan: the model's id, its role ("audited" for
// the baseline, "mitigation" for the baseline wrapped in a mitigation,
// "other model" for another adapter audited for reference) and its metrics.
struct TradeoffRun {
  std::string model;
  std::string role;
  nlohmann::ordered_json metrics;
  nlohmann::json state;  // the report's "state" (accumulator sums with bootstrap replicates), or null
};

// One row per run (the baseline first): headline bias metrics (position TVD
// and consistency, popularity ARP and Spearman(pop, model)), accuracy (NDCG,
// HR), calls / tokens per recommendation, and cost multipliers against the
// baseline (calls, tokens, mean latency) with intervals [lo_v / hi_b,
// hi_v / lo_b] from both runs' intervals (unpaired, conservative). Metrics an
// audit did not run are null.
//
// Paired: runs on the same plan and seed share their users AND each user's
// Poisson bootstrap weights, so replicate r of one run and replicate r of
// the other resample the same users. `ndcg_difference`,
// `position_tvd_difference` and `popularity_arp_difference` (run - baseline)
// then take their percentile intervals from the replicate-wise differences
// of the values the audits publish per replicate (state.replicates): exact
// pairing at no cost, far narrower than comparing two unpaired intervals.
// `comparison` says whether the states allowed it (same replicates and
// users), else the row says "unpaired" and gives no difference intervals.
nlohmann::ordered_json tradeoff_table(const std::vector<TradeoffRun>& runs, double confidence = 0.95);

}  // namespace recbias
