#include "adapters/itemknn_recommender.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/errors.h"

namespace recbias {

ItemSimilarity::ItemSimilarity(std::size_t n_items, const std::vector<std::vector<ItemIndex>>& training)
    : users_of_(n_items, 0.0), rows_(n_items) {
  std::vector<std::unordered_map<ItemIndex, float>> counts(n_items);
  std::vector<ItemIndex> items;
  for (const auto& history : training) {
    items.assign(history.begin(), history.end());
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
    for (std::size_t a = 0; a < items.size(); ++a) {
      const auto ia = static_cast<std::size_t>(items[a]);
      RECBIAS_CHECK(ia < n_items, "training item outside the catalog");
      users_of_[ia] += 1;
      for (std::size_t b = a + 1; b < items.size(); ++b) {
        counts[ia][items[b]] += 1;
        counts[static_cast<std::size_t>(items[b])][items[a]] += 1;
      }
    }
  }
  for (std::size_t i = 0; i < n_items; ++i) {
    rows_[i].assign(counts[i].begin(), counts[i].end());
    std::sort(rows_[i].begin(), rows_[i].end());
  }
}

double ItemSimilarity::similarity(ItemIndex a, ItemIndex b) const {
  const auto& row = rows_[static_cast<std::size_t>(a)];
  auto it = std::lower_bound(row.begin(), row.end(), std::make_pair(b, 0.0f),
                             [](const auto& x, const auto& y) { return x.first < y.first; });
  if (it == row.end() || it->first != b) return 0.0;
  return it->second / std::sqrt(users_of_[static_cast<std::size_t>(a)] * users_of_[static_cast<std::size_t>(b)]);
}

double ItemSimilarity::score(ItemIndex item, const std::vector<char>& in_history) const {
  const double n_item = users_of_[static_cast<std::size_t>(item)];
  if (n_item == 0) return 0.0;
  double sum = 0;
  for (const auto& [other, count] : rows_[static_cast<std::size_t>(item)])
    if (in_history[static_cast<std::size_t>(other)]) sum += count / std::sqrt(n_item * users_of_[static_cast<std::size_t>(other)]);
  return sum;
}

double ItemSimilarity::score(ItemIndex item, const std::vector<double>& history_weight) const {
  const double n_item = users_of_[static_cast<std::size_t>(item)];
  if (n_item == 0) return 0.0;
  double sum = 0;
  for (const auto& [other, count] : rows_[static_cast<std::size_t>(item)])
    if (const double w = history_weight[static_cast<std::size_t>(other)]; w != 0)
      sum += w * count / std::sqrt(n_item * users_of_[static_cast<std::size_t>(other)]);
  return sum;
}

namespace {

class ItemKnnRecommender final : public Recommender {
 public:
  ItemKnnRecommender(std::shared_ptr<const Catalog> catalog, const std::vector<std::vector<ItemIndex>>& training)
      : catalog_(std::move(catalog)), similarity_(catalog_->size(), training) {}

  std::string id() const override { return "itemknn"; }
  Capabilities capabilities() const override { return {.scores = true, .deterministic = true, .thread_safe = true}; }

  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    std::vector<char> in_history(catalog_->size(), 0);
    return rank_by_scores(requests, on_response, [&](const RankRequest& request) {
      for (auto h : request.user.history) in_history[static_cast<std::size_t>(h)] = 1;
      std::vector<float> scores;
      for (auto item : request.candidates) scores.push_back(static_cast<float>(similarity_.score(item, in_history)));
      for (auto h : request.user.history) in_history[static_cast<std::size_t>(h)] = 0;
      return scores;
    }, catalog_.get());
  }

 private:
  std::shared_ptr<const Catalog> catalog_;
  ItemSimilarity similarity_;
};

}  // namespace

std::unique_ptr<Recommender> make_itemknn_recommender(std::shared_ptr<const Catalog> catalog,
                                                      std::shared_ptr<const std::vector<std::vector<ItemIndex>>> training) {
  if (!training || training->empty())
    throw BadInput("adapter itemknn needs training interactions: run it with a dataset (--dataset PATH)");
  return std::make_unique<ItemKnnRecommender>(std::move(catalog), *training);
}

}  // namespace recbias
