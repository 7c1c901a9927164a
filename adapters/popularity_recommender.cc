#include "adapters/popularity_recommender.h"

namespace recbias {
namespace {

class PopularityRecommender final : public Recommender {
 public:
  explicit PopularityRecommender(std::shared_ptr<const Catalog> catalog) : catalog_(std::move(catalog)) {}

  std::string id() const override { return "popularity"; }
  Capabilities capabilities() const override { return {.scores = true, .deterministic = true, .thread_safe = true}; }

  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    std::vector<RankResponse> out(requests.size());
    for (std::size_t r = 0; r < requests.size(); ++r) {
      const auto& request = requests[r];
      std::vector<float> scores;
      scores.reserve(request.candidates.size());
      for (auto item : request.candidates) scores.push_back(static_cast<float>(catalog_->at(item).popularity));
      out[r].request_id = request.id;
      out[r].ranking = top_k_by_score(scores, request.candidates, request.k);
      out[r].scores = std::move(scores);
      out[r].usage.calls = 1;
    }
    report_all(out, on_response);
    return out;
  }

 private:
  std::shared_ptr<const Catalog> catalog_;
};

}  // namespace

std::unique_ptr<Recommender> make_popularity_recommender(std::shared_ptr<const Catalog> catalog) {
  return std::make_unique<PopularityRecommender>(std::move(catalog));
}

}  // namespace recbias
