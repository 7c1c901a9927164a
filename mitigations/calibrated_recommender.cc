#include "mitigations/calibrated_recommender.h"

#include <map>

#include <fmt/format.h>

#include "core/errors.h"
#include "mitigations/operators.h"
#include "mitigations/reranking.h"

namespace recbias {
namespace {

// Category distribution of every catalog item: genres (uniform over an item's
// categories) or popularity bins (head / mid / tail: the most popular items
// making up the first 20% of training interactions, the next 60%, the rest).
std::vector<std::vector<double>> item_distributions(const Catalog& catalog, const std::string& target) {
  const std::size_t n = catalog.size();
  std::vector<std::vector<double>> out;
  if (target == "genre") {
    const auto names = catalog.category_names();
    std::map<std::string, std::size_t> index;
    for (std::size_t g = 0; g < names.size(); ++g) index[names[g]] = g;
    out.assign(n, std::vector<double>(std::max<std::size_t>(1, names.size()), 0.0));
    for (std::size_t i = 0; i < n; ++i) {
      const auto& cats = catalog.items()[i].categories;
      for (const auto& c : cats) out[i][index[c]] += 1.0 / static_cast<double>(cats.size());
    }
    return out;
  }
  if (target != "popularity") throw BadInput(fmt::format("mitigation calibrate: target={}: expected genre or popularity", target));
  const auto head = short_head_items(catalog, 0.2), head_and_mid = short_head_items(catalog, 0.8);
  out.assign(n, std::vector<double>(3, 0.0));
  for (std::size_t i = 0; i < n; ++i) out[i][head[i] ? 0 : head_and_mid[i] ? 1 : 2] = 1.0;
  return out;
}

class CalibratedRecommender final : public Recommender {
 public:
  CalibratedRecommender(std::unique_ptr<Recommender> inner, std::shared_ptr<const Catalog> catalog, std::string target, double lambda,
                        double alpha)
      : inner_(std::move(inner)), distributions_(item_distributions(*catalog, target)), target_(std::move(target)),
        lambda_(lambda), alpha_(alpha) {
    CalibratedReranker(lambda_, 1, alpha_);  // validates lambda
  }

  std::string id() const override {
    return fmt::format("calibrate(target={},lambda={},alpha={})<-{}", target_, lambda_, alpha_, inner_->id());
  }
  Capabilities capabilities() const override { return inner_->capabilities(); }

 protected:
  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    auto out = inner_->rank(requests);
    const auto g = static_cast<std::size_t>(distributions_.empty() ? 1 : distributions_[0].size());
    // One batched re-ranking per (candidate count, k); inputs built in plain
    // arrays (element-wise tensor writes cost microseconds each).
    std::map<std::pair<std::size_t, int>, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < out.size(); ++i)
      if (!out[i].error) groups[{requests[i].candidates.size(), requests[i].k}].push_back(i);
    for (const auto& [shape, members] : groups) {
      const auto [k, top] = shape;
      const auto b = members.size();
      std::vector<double> scores(b * k), cats(b * k * g, 0.0), target(b * g, 0.0), items(b * k);
      std::vector<std::vector<char>> valid(b);
      for (std::size_t r = 0; r < b; ++r) {
        const auto& request = requests[members[r]];
        const auto s = answer_scores(out[members[r]], k, valid[r]);
        for (std::size_t j = 0; j < k; ++j) {
          scores[r * k + j] = valid[r][j] ? s[j] : -1e9;
          items[r * k + j] = static_cast<double>(request.candidates[j]);
          const auto& d = distributions_[static_cast<std::size_t>(request.candidates[j])];
          std::copy(d.begin(), d.end(), cats.begin() + static_cast<std::ptrdiff_t>((r * k + j) * g));
        }
        double mass = 0;
        for (auto h : request.user.history) {
          const auto& d = distributions_[static_cast<std::size_t>(h)];
          for (std::size_t c = 0; c < g; ++c) target[r * g + c] += d[c], mass += d[c];
        }
        for (std::size_t c = 0; c < g; ++c)
          target[r * g + c] = mass > 0 ? target[r * g + c] / mass : 1.0 / static_cast<double>(g);
      }
      const auto bi = static_cast<int64_t>(b), ki = static_cast<int64_t>(k), gi = static_cast<int64_t>(g);
      const auto picks = CalibratedReranker(lambda_, top, alpha_)(torch::from_blob(scores.data(), {bi, ki}, torch::kFloat64),
                                                                 torch::from_blob(cats.data(), {bi, ki, gi}, torch::kFloat64),
                                                                 torch::from_blob(target.data(), {bi, gi}, torch::kFloat64),
                                                                 torch::from_blob(items.data(), {bi, ki}, torch::kFloat64));
      const auto p = picks.accessor<int64_t, 2>();
      for (std::size_t r = 0; r < b; ++r) {
        auto& ranking = out[members[r]].ranking;
        ranking.clear();
        for (int64_t t = 0; t < picks.size(1); ++t) {
          const auto pick = static_cast<int>(p[static_cast<int64_t>(r)][t]);
          if (valid[r][static_cast<std::size_t>(pick)]) ranking.push_back(pick);
        }
      }
    }
    report_all(out, on_response);
    return out;
  }

 private:
  std::unique_ptr<Recommender> inner_;
  std::vector<std::vector<double>> distributions_;
  std::string target_;
  double lambda_, alpha_;
};

}  // namespace

std::unique_ptr<Recommender> make_calibrated_recommender(std::unique_ptr<Recommender> inner, std::shared_ptr<const Catalog> catalog,
                                                         std::string target, double lambda, double alpha) {
  return std::make_unique<CalibratedRecommender>(std::move(inner), std::move(catalog), std::move(target), lambda, alpha);
}

}  // namespace recbias
