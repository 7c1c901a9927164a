#include "adapters/recommender.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace recbias {

RankResponse Recommender::from_batch(const RankRequest& request, const std::vector<std::string>& bodies) const {
  (void)bodies;
  RankResponse response;
  response.request_id = request.id;
  response.error = "request " + request.id + ": adapter " + id() + " has no batch form";
  return response;
}

void report_all(const std::vector<RankResponse>& responses, const ResponseCallback& on_response) {
  if (!on_response) return;
  for (std::size_t i = 0; i < responses.size(); ++i) on_response(i, responses[i]);
}

RankRequest open_as_candidates(const RankRequest& request, const Catalog& catalog) {
  RankRequest r = request;
  r.open = false;
  std::vector<char> seen(catalog.size(), 0);
  for (auto h : request.user.history)
    if (h >= 0 && static_cast<std::size_t>(h) < seen.size()) seen[static_cast<std::size_t>(h)] = 1;
  r.candidates.clear();
  for (std::size_t i = 0; i < catalog.size(); ++i)
    if (!seen[i]) r.candidates.push_back(static_cast<ItemIndex>(i));
  return r;
}

std::vector<RankResponse> rank_by_scores(std::span<const RankRequest> requests, const ResponseCallback& on_response,
                                         const std::function<std::vector<float>(const RankRequest&)>& score, const Catalog* catalog) {
  std::vector<RankResponse> out(requests.size());
  for (std::size_t r = 0; r < requests.size(); ++r) {
    out[r].request_id = requests[r].id;
    if (requests[r].open) {
      if (!catalog) {
        out[r].error = fmt::format("request {}: this adapter cannot answer candidate-free (open) requests", requests[r].id);
      } else {
        const auto expanded = open_as_candidates(requests[r], *catalog);
        const auto scores = score(expanded);
        for (const int p : top_k_by_score(scores, expanded.candidates, requests[r].k)) out[r].ranking.push_back(expanded.candidates[static_cast<std::size_t>(p)]);
        out[r].usage.calls = 1;
      }
      if (on_response) on_response(r, out[r]);
      continue;
    }
    auto scores = score(requests[r]);
    out[r].ranking = top_k_by_score(scores, requests[r].candidates, requests[r].k);
    out[r].scores = std::move(scores);
    out[r].usage.calls = 1;
    if (on_response) on_response(r, out[r]);
  }
  return out;
}

std::vector<int> top_k_by_score(std::span<const float> scores, std::span<const ItemIndex> candidates, int k) {
  // Sorted by score (NaN as -infinity, so the order stays strict and total),
  // ties by item, then position: the keys side by side, not looked up
  // through the positions on every comparison.
  struct Key {
    float score;
    ItemIndex item;
    int position;
  };
  std::vector<Key> keys(scores.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const float s = scores[i];
    keys[i] = {std::isnan(s) ? -std::numeric_limits<float>::infinity() : s, candidates[i], static_cast<int>(i)};
  }
  const auto n = std::min<std::size_t>(keys.size(), static_cast<std::size_t>(std::max(k, 0)));
  auto before = [](const Key& a, const Key& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.item != b.item) return a.item < b.item;
    return a.position < b.position;
  };
  // A strict total order, so sorting all and selecting the top n give the
  // same list; a full sort is the faster of the two when most is kept.
  if (2 * n >= keys.size()) std::sort(keys.begin(), keys.end(), before);
  else std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(n), keys.end(), before);
  std::vector<int> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = keys[i].position;
  return order;
}

}  // namespace recbias
