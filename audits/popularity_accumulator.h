// The popularity audit, on the identity variant (neutral profile, base order).
// Item popularity is the number of training interactions (never the held-out ones).
//
// - ARP: mean over users of the mean popularity of the recommended items
//   (Abdollahpouri et al. 2019).
// - APLT: mean over users of the share of recommended items from the long
//   tail; ACLT: mean count of long-tail items per list. The short head is the
//   most popular items that make up `short_head_share` (0.8) of training
//   interactions (Elliot's definition); everything else is the long tail.
// - Gini of exposure over the whole catalog (how often each item is
//   recommended) and catalog coverage (share of items recommended at least
//   once) — both mostly describe the candidate sampler (a few thousand
//   sampled slots over the catalog), so beside them the random ranker's
//   values on the same candidates: Gini of the candidate appearances (its
//   expected exposure is appearances x k/K) and sum_i (1 - (1 - k/K)^a_i) / N.
//   And exposure normalised by candidate appearances: the Gini, over items
//   that were candidates, of (times recommended / times a candidate), with
//   the random ranker's expected value by simulation (fixed seed, 50 draws).
// - PopRSP and PopREO (Zhu, Wang & Caverlee 2021): relative standard
//   deviation over {head, tail} of P(recommended | candidate in group) and of
//   P(recommended | held-out positive in group).
// - ΔGAP for niche / diverse / blockbuster users (the 20% / 60% / 20% of
//   users by the share of popular items — the top 20% of items by training
//   popularity — in their training history, as in the reproduction code of
//   Abdollahpouri et al. 2019): (GAP_rec - GAP_profile) / GAP_profile per
//   group, GAP being the group's mean item popularity.
// - mean popularity by output rank (normal-approximation intervals).
// - within-list Spearman correlation between candidates' popularity and how
//   high the model ranks them (unranked candidates tied last): the candidate
//   set is fixed, so this isolates the model's preference. Beside it, the
//   same correlation between popularity and being the held-out positive —
//   but the two are on different scales (a correlation with a one-hot vector
//   is bounded, about 0.38 at K = 20), so they are not compared.
// - like for like: the popularity percentile within the user's candidates of
//   the model's top-1 and of the held-out positive, and their difference
//   paired per user with a bootstrap interval (LLMRank's "top-1 popularity
//   vs ground truth"): above 0, the model's first choice is more popular
//   than what users actually chose next.
// Every number has a Poisson-bootstrap interval over users.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/outcome.h"
#include "core/catalog.h"
#include "core/bootstrap.h"
#include "core/replicated_sums.h"

namespace recbias {

struct PopularityContext {
  std::shared_ptr<const Catalog> catalog;  // null when only merging saved states
  std::vector<char> in_head;                              // per catalog item
  std::unordered_map<std::string, int> user_group;        // user id -> 0 niche, 1 diverse, 2 blockbuster
  std::vector<double> group_thresholds;                   // popular-item-share cut points (20th, 80th percentile of users)
};

// Short head and user groups from the workload.
PopularityContext make_popularity_context(const Workload& workload, double short_head_share);

class PopularityAccumulator {
 public:
  PopularityAccumulator(std::shared_ptr<const PopularityContext> context, int replicates);

  void add(const BaseOutcome& outcome);
  void merge(const PopularityAccumulator& other);
  bool operator==(const PopularityAccumulator& other) const;
  nlohmann::ordered_json result(double confidence) const;
  // popularity.arp, .aplt, .aclt and .top1_minus_positive_percentile on the point sums and every replicate.
  void replicated(std::map<std::string, ReplicatedValue>& out) const;
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);

 private:
  std::shared_ptr<const PopularityContext> context_;
  int replicates_;
  int k_ = 0;                                  // K (candidates per request), fixed by the first request
  // Per-user sums: mean popularity of the list (ARP), share and count of
  // long-tail items (APLT, ACLT), the within-list Spearman correlations with
  // their usable counts, users, and the top-1's and the positive's
  // popularity percentiles within the candidates.
  enum UserSlot : std::size_t {
    kArp, kAplt, kAclt, kSpearmanModel, kSpearmanModelUsers, kSpearmanTruth, kSpearmanTruthUsers, kUsers,
    kTop1Percentile, kPositivePercentile, kUserSlots
  };
  // RSP/REO counts for the short head and the tail, then per ΔGAP user
  // group (niche, diverse, blockbuster) its kGapWidth sums from kGap.
  enum GroupSlot : std::size_t {
    kHeadRecommended, kHeadCandidates, kTailRecommended, kTailCandidates,
    kHeadPositiveRecommended, kHeadPositives, kTailPositiveRecommended, kTailPositives, kGap
  };
  enum GapOffset : std::size_t { kProfilePopularity, kRecommendedPopularity, kGroupUsers, kGapWidth };
  static constexpr std::size_t kGapGroups = 3;
  static constexpr std::size_t kGroupSlots = kGap + kGapGroups * kGapWidth;
  // The paired difference of the top-1's and the positive's popularity percentiles.
  static double top1_minus_positive(std::span<const double> s);
  ReplicatedSums user_;
  ReplicatedSums groups_;
  std::vector<MomentSums> by_rank_;  // per output rank r < K: popularity (normal approximation)
  std::vector<std::int64_t> exposure_;             // per catalog item
  std::vector<std::int32_t> exposure_replicates_;  // replicates x items: weighted exposure
  std::vector<std::int64_t> appearances_;          // per catalog item: times it was a candidate
  int answer_k_ = 0;                               // the requests' k (-1 when they differ)
};

}  // namespace recbias
