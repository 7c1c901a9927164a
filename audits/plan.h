// Probes expand each base request into variants; a plan holds the distinct
// model calls they need.
//
// Base requests carry the neutral profile (no attributes) and the base
// candidate order. Variants:
//   identity         the base request itself (popularity, accuracy, fairness' neutral list)
//   permutation s    the base candidates in order `order` (position)
//   counterfactual   the base request stating some attributes (fairness)
//   noise floor      the base request asked again as another draw (fairness)
//   history v        the user's last W history items (W = history_window)
//                    as they are, asked again, shuffled, reversed, or only
//                    the most recent half (history)
// Identical variants are one call: the identity is also cyclic shift 0 and
// the fairness audit's neutral profile, so it is sent once.
//
// Independent draws. A stochastic model (temperature > 0) answers each
// variant with its own random draw: RankRequest::sample = base sample +
// draw, and adapters fold `sample` into their seed (openai sends
// seed + sample). Draws: identity 0; position order s: s (order 0 is the
// identity); fairness noise floor: kFairnessDraws; counterfactual profile i:
// kFairnessDraws + 1 + i; history variant v: 0 for the original window (so
// it is the identity call when the whole history fits), kHistoryDraws + v
// for the others. So both sides of every comparison (variant vs
// neutral, neutral vs noise floor, value a vs value b, order s vs order t)
// are independent samples, never common random numbers, and a probe's
// draws do not depend on which other probes run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "audits/audit_options.h"
#include "core/rank.h"
#include "datasets/workload.h"

namespace recbias {

using Profile = std::vector<std::pair<std::string, std::string>>;  // stated attributes, sorted by name

// First draw of the fairness probe (above); position orders use 0..P-1 < this.
inline constexpr std::uint64_t kFairnessDraws = std::uint64_t{1} << 20;
// First draw of the history probe's re-asked and perturbed variants.
inline constexpr std::uint64_t kHistoryDraws = std::uint64_t{1} << 21;

// The history probe's variants, in BasePlan::history order. The original is
// the user's last W items in order (the "recent" profile sample); the others
// are compared with it: the same items perturbed (shuffled, reversed,
// truncated), and other W-item samples of the whole history (CFaiRLLM's
// profile sampling: the top-rated items, a random sample), each in time order.
enum HistoryVariant : std::size_t {
  kHistoryOriginal,
  kHistoryResample,
  kHistoryShuffled,
  kHistoryReversed,
  kHistoryTruncated,
  kHistoryTopRated,
  kHistorySampled,
  kHistoryVariants
};
inline constexpr const char* kHistoryVariantNames[kHistoryVariants] = {"original", "resample", "shuffled", "reversed", "truncated",
                                                                        "top_rated", "sampled"};

// The history a variant shows. Original, resample, shuffled, reversed,
// truncated: `history` (oldest first) cut to its last `window` items, then
// perturbed -- shuffled with `rng_key`'s stream under `seed`, truncated to the
// most recent half (rounded up). Top-rated: the `window` items of the whole
// history with the highest `ratings` (parallel to `history`; ties and
// missing ratings: the more recent first), in time order. Sampled: `window`
// items of the whole history drawn uniformly with `rng_key`'s stream, in
// time order. With a history of at most `window` items both are the original.
std::vector<ItemIndex> history_variant(const std::vector<ItemIndex>& history, HistoryVariant variant, int window, std::uint64_t seed,
                                       const std::string& rng_key, const std::vector<double>& ratings = {});

struct BasePlan {
  std::size_t identity = 0;                      // call index of the identity variant
  std::vector<std::vector<int>> orders;          // permutation s: order[j] = base candidate shown at position j
  std::vector<std::size_t> permuted;             // call index of permutation s
  std::vector<Profile> profiles;                 // counterfactual profiles
  std::vector<std::size_t> counterfactual;       // call index of profile i
  std::size_t noise = SIZE_MAX;                  // call index of the noise-floor variant (fairness only)
  std::vector<std::size_t> history;              // call index per HistoryVariant (history only); SIZE_MAX: not asked (< 2 items)
  std::vector<std::size_t> calls;                // every distinct call of this base
};

struct Plan {
  std::vector<RankRequest> calls;  // distinct model calls, in plan order
  std::vector<BasePlan> bases;     // one per base request
  std::size_t variants = 0;        // variants before de-duplication
};

// --probe open: every base request becomes candidate-free (RankRequest::open:
// no candidates shown; the model names items of the whole catalog). Its
// entries are catalog item indices, so the held-out item's "position" --
// what accuracy and utility look up in the answer -- is its item index.
void make_open(std::vector<EvalRequest>& bases);

// The permutations of one request (K candidates) under a design. Each request
// gets its own (seeded by its id), never one permutation shared by copies.
std::vector<std::vector<int>> make_permutations(PermutationDesign design, int k, int p, std::uint64_t seed,
                                                const std::string& request_id);

// Builds the plan for `bases` (neutral profiles). `audits` decides which
// probes run.
Plan build_plan(const std::vector<EvalRequest>& bases, const AuditOptions& options);

bool audit_enabled(const AuditOptions& options, const std::string& name);

// The fairness audit's counterfactual profiles: one per attribute value, then
// (with options.intersections) one per pair of values of two attributes.
std::vector<Profile> fairness_profiles(const AuditOptions& options);

}  // namespace recbias
