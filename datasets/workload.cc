#include "datasets/workload.h"

#include <algorithm>
#include <numeric>
#include <unordered_set>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/rng.h"

namespace recbias {

Workload split_leave_one_out(const Dataset& dataset) {
  Workload w;
  w.dataset_name = dataset.name;
  w.attributes = dataset.attributes;
  const std::size_t n_users = dataset.users.size();
  std::vector<std::vector<const Interaction*>> by_user(n_users);
  for (const auto& row : dataset.interactions) by_user[static_cast<std::size_t>(row.user)].push_back(&row);

  auto catalog = std::make_shared<Catalog>(dataset.catalog);
  std::vector<double> popularity(catalog->size(), 0.0);
  w.users.resize(n_users);
  w.held_out.resize(n_users);
  w.history_ratings.resize(n_users);
  for (std::size_t u = 0; u < n_users; ++u) {
    auto& rows = by_user[u];
    std::sort(rows.begin(), rows.end(), [](const Interaction* a, const Interaction* b) {
      return a->timestamp != b->timestamp ? a->timestamp < b->timestamp : a->item < b->item;
    });
    auto& user = w.users[u];
    user.id = dataset.users[u].id;
    user.attributes = dataset.users[u].attributes;
    std::size_t train_end = rows.size();
    if (rows.size() >= 2) {
      w.held_out[u] = rows.back()->item;
      train_end = rows.size() - 1;
    }
    user.history.reserve(train_end);
    for (std::size_t i = 0; i < train_end; ++i) {
      user.history.push_back(rows[i]->item);
      w.history_ratings[u].push_back(rows[i]->rating);
      popularity[static_cast<std::size_t>(rows[i]->item)] += 1;
    }
    w.training_interactions += static_cast<std::int64_t>(train_end);
  }
  catalog->set_popularity(popularity);
  w.catalog = std::move(catalog);
  return w;
}

RequestSet build_requests(const Workload& workload, const CandidateOptions& options) {
  if (options.negatives < 1)
    throw BadInput(fmt::format("--negatives {}: expected at least 1 negative per request", options.negatives));
  if (options.k < 1) throw BadInput(fmt::format("k = {}: expected at least 1", options.k));
  const Catalog& catalog = *workload.catalog;

  // The users to ask: all with a held-out item, or a seeded sample.
  std::vector<std::int32_t> users;
  for (std::size_t u = 0; u < workload.users.size(); ++u)
    if (workload.held_out[u]) users.push_back(static_cast<std::int32_t>(u));
  if (options.max_users > 0 && static_cast<std::size_t>(options.max_users) < users.size()) {
    std::vector<std::pair<std::uint64_t, std::int32_t>> keyed;
    for (auto u : users)
      keyed.emplace_back(hash_combine(options.seed, stable_hash("users/" + workload.users[static_cast<std::size_t>(u)].id)), u);
    std::sort(keyed.begin(), keyed.end());
    keyed.resize(static_cast<std::size_t>(options.max_users));
    users.clear();
    for (const auto& [key, u] : keyed) users.push_back(u);
    std::sort(users.begin(), users.end());
  }

  RequestSet out;
  const auto n_items = static_cast<ItemIndex>(catalog.size());
  std::vector<ItemIndex> pool;
  std::vector<std::int64_t> cumulative;
  for (auto u : users) {
    const auto& user = workload.users[static_cast<std::size_t>(u)];
    const ItemIndex positive = *workload.held_out[static_cast<std::size_t>(u)];
    std::unordered_set<ItemIndex> seen(user.history.begin(), user.history.end());
    seen.insert(positive);

    // Eligible negatives, in catalog order (so the draw depends only on the seed).
    pool.clear();
    cumulative.clear();
    std::int64_t total = 0;
    for (ItemIndex i = 0; i < n_items; ++i) {
      if (seen.count(i)) continue;
      const auto weight = options.sampling == NegativeSampling::kUniform
                              ? std::int64_t{1}
                              : static_cast<std::int64_t>(catalog.at(i).popularity);
      if (weight <= 0) continue;
      pool.push_back(i);
      total += weight;
      cumulative.push_back(total);
    }
    if (pool.size() < static_cast<std::size_t>(options.negatives)) {
      ++out.skipped_users;
      continue;
    }

    Rng rng = Rng::stream(options.seed, "candidates/" + user.id);
    std::vector<ItemIndex> candidates{positive};
    if (options.sampling == NegativeSampling::kUniform) {
      // Partial Fisher-Yates: the first `negatives` slots become a uniform sample.
      for (int d = 0; d < options.negatives; ++d) {
        const auto j = static_cast<std::size_t>(d) + static_cast<std::size_t>(rng.uniform_int(pool.size() - static_cast<std::size_t>(d)));
        std::swap(pool[static_cast<std::size_t>(d)], pool[j]);
        candidates.push_back(pool[static_cast<std::size_t>(d)]);
      }
    } else {
      // Successive weighted draws without replacement (rejection of repeats).
      std::unordered_set<ItemIndex> taken;
      std::int64_t attempts = 0;
      while (static_cast<int>(taken.size()) < options.negatives) {
        RECBIAS_CHECK(++attempts < 10'000'000, "popularity sampling did not converge");
        const auto draw = static_cast<std::int64_t>(rng.uniform_int(static_cast<std::uint64_t>(total)));
        const auto at = std::upper_bound(cumulative.begin(), cumulative.end(), draw) - cumulative.begin();
        const ItemIndex item = pool[static_cast<std::size_t>(at)];
        if (taken.insert(item).second) candidates.push_back(item);
      }
    }
    rng.shuffle(candidates);

    EvalRequest request;
    request.request.id = "u" + user.id;
    request.request.user = user;
    request.request.candidates = std::move(candidates);
    request.request.k = std::min(options.k, options.negatives + 1);
    request.user = u;
    request.positive = positive;
    if (static_cast<std::size_t>(u) < workload.history_ratings.size()) request.history_ratings = workload.history_ratings[static_cast<std::size_t>(u)];
    const auto& c = request.request.candidates;
    request.positive_position = static_cast<int>(std::find(c.begin(), c.end(), positive) - c.begin());
    out.requests.push_back(std::move(request));
  }
  return out;
}

}  // namespace recbias
