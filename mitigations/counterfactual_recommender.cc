#include "mitigations/counterfactual_recommender.h"

#include <fmt/format.h>

#include "mitigations/operators.h"
#include "mitigations/reranking.h"

namespace recbias {
namespace {

class CounterfactualRecommender final : public Recommender {
 public:
  CounterfactualRecommender(std::unique_ptr<Recommender> inner, AttributeSet attribute, bool neutralize)
      : inner_(std::move(inner)), attribute_(std::move(attribute)), neutralize_(neutralize) {}

  std::string id() const override {
    return fmt::format("{}(attribute={})<-{}", neutralize_ ? "neutralize" : "counterfactual", attribute_.name, inner_->id());
  }
  Capabilities capabilities() const override {
    auto c = inner_->capabilities();
    if (!neutralize_) c.scores = true;
    return c;
  }

 protected:
  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    if (neutralize_) {
      std::vector<RankRequest> stripped(requests.begin(), requests.end());
      for (auto& r : stripped) r.user.attributes.erase(attribute_.name);
      return inner_->rank(stripped, on_response);
    }
    const std::size_t v = attribute_.values.size();
    std::vector<RankRequest> all;
    for (const auto& request : requests)
      for (const auto& value : attribute_.values) {
        RankRequest copy = request;
        copy.user.attributes[attribute_.name] = value;
        copy.id = request.id + "/cf:" + value;
        all.push_back(std::move(copy));
      }
    const auto answers = inner_->rank(all);
    std::vector<RankResponse> out(requests.size());
    std::vector<char> valid;
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const std::size_t k = requests[i].candidates.size();
      auto& result = out[i];
      result.request_id = requests[i].id;
      auto scores = torch::zeros({1, static_cast<int64_t>(v), static_cast<int64_t>(k)}, torch::kFloat64);
      auto mask = torch::zeros({1, static_cast<int64_t>(v), static_cast<int64_t>(k)}, torch::kBool);
      std::size_t failed = 0;
      for (std::size_t a = 0; a < v; ++a) {
        const auto& answer = answers[i * v + a];
        add_member(result, answer);
        failed += answer.error.has_value();
        const auto s = answer_scores(answer, k, valid);
        for (std::size_t j = 0; j < k; ++j) {
          scores[0][static_cast<int64_t>(a)][static_cast<int64_t>(j)] = s[j];
          mask[0][static_cast<int64_t>(a)][static_cast<int64_t>(j)] = valid[j] != 0;
        }
      }
      if (failed == v) {
        result.error = fmt::format("every counterfactual variant failed; first: {}", *answers[i * v].error);
        continue;
      }
      // Counterfactual mean over the values of standardised scores (mean aggregation masks missing items).
      finish(result, RankAggregator(RankAggregator::Method::kMean)(scores, mask)[0], requests[i]);
    }
    report_all(out, on_response);
    return out;
  }

 private:
  std::unique_ptr<Recommender> inner_;
  AttributeSet attribute_;
  bool neutralize_;
};

}  // namespace

std::unique_ptr<Recommender> make_counterfactual_recommender(std::unique_ptr<Recommender> inner, AttributeSet attribute, bool neutralize) {
  return std::make_unique<CounterfactualRecommender>(std::move(inner), std::move(attribute), neutralize);
}

}  // namespace recbias
