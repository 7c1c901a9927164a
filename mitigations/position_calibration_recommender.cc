#include "mitigations/position_calibration_recommender.h"

#include <limits>

#include <fmt/format.h>

#include "core/errors.h"
#include "mitigations/operators.h"
#include "mitigations/reranking.h"

namespace recbias {
namespace {

class PositionCalibrationRecommender final : public Recommender {
 public:
  PositionCalibrationRecommender(std::unique_ptr<Recommender> inner, std::vector<double> prior, std::string source)
      : inner_(std::move(inner)), prior_(std::move(prior)), source_(std::move(source)) {}

  std::string id() const override { return fmt::format("calibrate-position(prior={})<-{}", source_, inner_->id()); }
  Capabilities capabilities() const override {
    auto c = inner_->capabilities();
    c.scores = true;
    return c;
  }

 protected:
  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    auto out = inner_->rank(requests);
    std::vector<char> valid;
    for (std::size_t i = 0; i < out.size(); ++i) {
      const std::size_t k = requests[i].candidates.size();
      if (out[i].error) continue;
      if (k != prior_.size())
        throw BadInput(fmt::format("calibrate-position: the prior has {} positions, request {} has {} candidates", prior_.size(), requests[i].id, k));
      const auto s = answer_scores(out[i], k, valid);
      auto scores = torch::tensor(s, torch::kFloat64).unsqueeze(0);
      auto calibrated = PositionCalibration(torch::tensor(prior_, torch::kFloat64))(scores)[0];
      for (std::size_t j = 0; j < k; ++j)
        if (!valid[j]) calibrated[static_cast<int64_t>(j)] = -std::numeric_limits<double>::infinity();
      finish(out[i], calibrated, requests[i]);
    }
    report_all(out, on_response);
    return out;
  }

 private:
  std::unique_ptr<Recommender> inner_;
  std::vector<double> prior_;
  std::string source_;
};

}  // namespace

std::unique_ptr<Recommender> make_position_calibration_recommender(std::unique_ptr<Recommender> inner, std::vector<double> prior,
                                                                   std::string source) {
  return std::make_unique<PositionCalibrationRecommender>(std::move(inner), std::move(prior), std::move(source));
}

}  // namespace recbias
