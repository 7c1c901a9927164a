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
    std::vector<RankResponse> out(requests.size());
    for (std::size_t r = 0; r < requests.size(); ++r) {
      const auto& request = requests[r];
      std::vector<float> scores;
      for (auto item : request.candidates) {
        const auto key = fmt::format("{}/{}/{}", request.user.id, catalog_->at(item).id, request.sample);
        scores.push_back(static_cast<float>(Rng::stream(seed_, key).uniform01()));
      }
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
  std::uint64_t seed_;
};

}  // namespace

std::unique_ptr<Recommender> make_random_recommender(std::shared_ptr<const Catalog> catalog, std::uint64_t seed) {
  return std::make_unique<RandomRecommender>(std::move(catalog), seed);
}

}  // namespace recbias
