// `simulated`: a recommender with KNOWN, configurable biases over a relevance
// signal from the dataset, so audits can be validated against ground truth
// (the way leveldb tests against its in-memory Env).
//
// For candidate c presented at position j of a request from user u:
//
//   logit(c) = relevance_weight * z(relevance(u, c))
//            + popularity_tilt  * z(log(1 + popularity(c)))
//            + b_j                                         (position bias curve)
//            + sum over stated attributes a = v with a shift s_{a,v}:  s_{a,v} * taste_{a,v}(c)
//   answer   = the top k of logit(c) + noise * G_c,  G_c ~ Gumbel(0, 1) i.i.d.
//
// z() standardises within the candidate list (0 when constant). relevance is
// itemknn's score (or popularity, or none). taste_{a,v}(c) is a fixed
// pseudo-random value with mean 0 and variance 1 per (a, v, item), so a shift
// changes which items a user with that attribute value gets. By the
// Gumbel-max trick, with relevance_weight = popularity_tilt = 0 and no shifts
// the top-1 position is distributed exactly as softmax(b / noise): that is
// the ground truth the position audit's tests recover.
//
// Heterogeneous users: a user belongs to the `position_share` group when
// hash(seed, user id) falls below it (then the position curve is
// `position_users`); with `favourite_position` = f each user adds f to the
// logit of their own favourite input position (hash(seed, user id) mod K),
// which cancels in the population's selection rates but not within a user;
// a `hallucination_share` of users hallucinate `hallucination_burst` titles
// in every response. Users are the clusters the audits' intervals must
// account for.
//
// Grounding faults are injected per response with the given probabilities:
// a hallucinated title replacing the last entry, a duplicate entry, or a
// parse failure (empty ranking). latency_ms is recorded in the usage (and
// slept when sleep=true). The noise stream is keyed by the request's content
// (user, attributes, candidates in order, sample), so identical requests get
// identical answers and `sample` gives independent draws.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "adapters/recommender.h"

namespace recbias {

struct SimulatedOptions {
  std::string relevance = "itemknn";  // itemknn | popularity | none; default itemknn
  double relevance_weight = 1.0;      // weight of z(relevance); default 1
  // itemknn: history item i of H (oldest first) weighs exp(-recency (H-1-i) / (H-1)),
  // so the most recent items count most and the answer depends on the history's
  // order; 0 (default): a set, order-blind.
  double recency = 0.0;
  double popularity_tilt = 0.0;       // weight of z(log1p popularity); default 0
  std::string position = "none";      // none | primacy | recency | llmrank | "b0;b1;..." (explicit logits)
  double position_strength = 1.0;     // multiplies the preset curve; default 1
  // Per-user heterogeneity (validation scenarios where clustering matters):
  double position_share = 0;          // share of users on `position_users` instead of `position`; default 0
  std::string position_users = "none";// their curve; default none
  double position_users_strength = 1; // multiplies it; default 1
  double favourite_position = 0;      // logit bonus of a per-user favourite position (cancels over users); default 0
  double hallucination_share = 0;     // share of users whose every response hallucinates; default 0
  int hallucination_burst = 3;        // titles each such response hallucinates (replacing its last entries); default 3
  double noise = 1.0;                 // Gumbel scale (temperature); 0 = deterministic; default 1
  std::map<std::pair<std::string, std::string>, double> shifts;  // (attribute, value) -> s
  double hallucination_rate = 0;      // per response; default 0
  double duplicate_rate = 0;          // per response; default 0
  double parse_failure_rate = 0;      // per response; default 0
  double latency_ms = 0;              // recorded per call; default 0
  bool sleep = false;                 // actually wait latency_ms per call; default false
  bool scores = true;                 // expose the noisy logits as scores; default true
  std::uint64_t seed = 0;             // default 0
};

// The position-bias logits b_0..b_{K-1} of a preset or explicit curve.
// Throws BadInput for an unknown preset (listing the known ones).
std::vector<double> position_bias_curve(const std::string& position, double strength, int k);

std::unique_ptr<Recommender> make_simulated_recommender(const AdapterContext& context, SimulatedOptions options);

}  // namespace recbias
