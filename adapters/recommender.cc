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
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  const auto n = std::min<std::size_t>(order.size(), static_cast<std::size_t>(std::max(k, 0)));
  // NaN ranks as -infinity, so the order stays strict and total.
  auto score = [&](int a) {
    const float s = scores[static_cast<std::size_t>(a)];
    return std::isnan(s) ? -std::numeric_limits<float>::infinity() : s;
  };
  auto before = [&](int a, int b) {
    const auto sa = score(a), sb = score(b);
    if (sa != sb) return sa > sb;
    const auto ia = candidates[static_cast<std::size_t>(a)], ib = candidates[static_cast<std::size_t>(b)];
    if (ia != ib) return ia < ib;
    return a < b;
  };
  // A strict total order (ties broken by item, then position), so sorting
  // all and selecting the top n give the same list; a full sort is the
  // faster of the two when most of the list is kept.
  if (2 * n >= order.size()) std::sort(order.begin(), order.end(), before);
  else std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(), before);
  order.resize(n);
  return order;
}

}  // namespace recbias
