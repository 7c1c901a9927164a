// What the audits run on: a leave-one-out split of a Dataset and the ranking
// requests built from it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "core/rank.h"
#include "datasets/dataset.h"

namespace recbias {

struct Workload {
  std::string dataset_name;
  std::shared_ptr<const Catalog> catalog;          // popularity = training interactions of each item
  std::vector<UserContext> users;                  // history = training items, oldest first
  std::vector<std::optional<ItemIndex>> held_out;  // per user: the held-out positive (none if < 2 interactions)
  std::vector<std::vector<double>> history_ratings;  // per user: the rating of each history item (parallel to users[u].history)
  std::vector<AttributeSet> attributes;            // the dataset's real attributes
  std::int64_t training_interactions = 0;
};

// Leave-one-out split by time: each user's interactions are ordered by
// (timestamp, item index) — the item index breaks the many equal timestamps
// of MovieLens deterministically, whatever the row order of the file — and
// the last one is held out. Users with fewer than 2 interactions keep all of
// them in training and get no held-out item. Item popularity is counted on
// training interactions only, so the held-out positives do not leak into it.
Workload split_leave_one_out(const Dataset& dataset);

// How negatives are drawn for a candidate list.
enum class NegativeSampling {
  kUniform,     // uniformly over the items the user never interacted with
  kPopularity,  // proportionally to training popularity (items with 0 are never drawn)
};

struct CandidateOptions {
  int negatives = 19;       // candidates besides the held-out positive (K = negatives + 1); default 19 (LLMRank)
  NegativeSampling sampling = NegativeSampling::kUniform;  // default uniform
  std::uint64_t seed = 0;   // candidate and user-selection seed; default 0
  int k = 10;               // RankRequest::k, the length of the answer asked for; default 10
  int max_users = 0;        // 0 = every user with a held-out item; else a seeded sample of this many
};

// A ranking request with the ground truth the audits need.
struct EvalRequest {
  RankRequest request;          // id "u<user id>", candidates shuffled
  std::int32_t user = 0;        // index into Workload::users
  ItemIndex positive = 0;       // the held-out item
  int positive_position = 0;    // where it sits in request.candidates
  // The rating of each history item (parallel to request.user.history;
  // empty when unknown): the history probe's top-rated profile sample.
  std::vector<double> history_ratings;
};

struct RequestSet {
  std::vector<EvalRequest> requests;  // in user order
  std::int64_t skipped_users = 0;     // users with too few unseen items for `negatives`
};

// Builds one request per selected user: the held-out positive plus
// `negatives` distinct items the user never interacted with (train or test),
// in a seeded random order. Each user's draws come from
// Rng::stream(seed, "candidates/<user id>"), so a user's request does not
// depend on which other users are selected; the user sample takes the
// `max_users` smallest stable_hash(seed, "users/<id>"). Throws BadInput when
// negatives < 1 or k < 1.
RequestSet build_requests(const Workload& workload, const CandidateOptions& options);

}  // namespace recbias
