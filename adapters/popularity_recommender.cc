#include "adapters/popularity_recommender.h"

namespace recbias {
namespace {

class PopularityRecommender final : public Recommender {
 public:
  explicit PopularityRecommender(std::shared_ptr<const Catalog> catalog) : catalog_(std::move(catalog)) {}

  std::string id() const override { return "popularity"; }
  Capabilities capabilities() const override { return {.scores = true, .deterministic = true, .thread_safe = true}; }

  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    return rank_by_scores(requests, on_response, [&](const RankRequest& request) {
      std::vector<float> scores;
      scores.reserve(request.candidates.size());
      for (auto item : request.candidates) scores.push_back(static_cast<float>(catalog_->at(item).popularity));
      return scores;
    }, catalog_.get());
  }

 private:
  std::shared_ptr<const Catalog> catalog_;
};

}  // namespace

std::unique_ptr<Recommender> make_popularity_recommender(std::shared_ptr<const Catalog> catalog) {
  return std::make_unique<PopularityRecommender>(std::move(catalog));
}

}  // namespace recbias
