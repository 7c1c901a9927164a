#include "adapters/random_recommender.h"

#include <fmt/format.h>

#include "core/rng.h"

namespace recbias {
namespace {

class RandomRecommender final : public Recommender {
 public:
  RandomRecommender(std::shared_ptr<const Catalog> catalog, std::uint64_t seed) : catalog_(std::move(catalog)), seed_(seed) {}

  std::string id() const override { return fmt::format("random:seed={}", seed_); }
  Capabilities capabilities() const override { return {.scores = true, .deterministic = true, .thread_safe = true}; }

  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    return rank_by_scores(requests, on_response, [&](const RankRequest& request) {
      std::vector<float> scores;
      for (auto item : request.candidates) {
        const auto key = fmt::format("{}/{}/{}", request.user.id, catalog_->at(item).id, request.sample);
        scores.push_back(static_cast<float>(Rng::stream(seed_, key).uniform01()));
      }
      return scores;
    }, catalog_.get());
  }

 private:
  std::shared_ptr<const Catalog> catalog_;
  std::uint64_t seed_;
};

}  // namespace

std::unique_ptr<Recommender> make_random_recommender(std::shared_ptr<const Catalog> catalog, std::uint64_t seed) {
  return std::make_unique<RandomRecommender>(std::move(catalog), seed);
}

}  // namespace recbias
