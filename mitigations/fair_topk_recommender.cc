#include "mitigations/fair_topk_recommender.h"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"

#include "mitigations/fair_topk.h"
#include "mitigations/operators.h"
#include "mitigations/reranking.h"

namespace recbias {
namespace {

class FairTopKRecommender final : public Recommender {
 public:
  FairTopKRecommender(std::unique_ptr<Recommender> inner, std::shared_ptr<const Catalog> catalog, double p, double alpha,
                      double short_head_share, const std::string& group)
      : inner_(std::move(inner)), p_(p), alpha_(alpha), group_(group.empty() ? "long-tail" : group) {
    if (group.empty()) {
      // Protected group: long-tail items (outside the short head making up `short_head_share` of training interactions).
      const auto head = short_head_items(*catalog, short_head_share);
      protected_.assign(head.size(), 0);
      for (std::size_t i = 0; i < head.size(); ++i) protected_[i] = !head[i];
    } else {
      const auto colon = group.find(':');
      const auto attribute = group.substr(0, colon), value = colon == std::string::npos ? std::string() : group.substr(colon + 1);
      if (colon == std::string::npos || value.empty() || attribute.empty())
        throw BadInput(fmt::format("mitigation fair: group={}: expected ATTRIBUTE:VALUE with genre, era or an item attribute of "
                                   "items.jsonl (e.g. genre:Drama, era:1990s, provider:Netflix)",
                                   group));
      protected_.assign(catalog->size(), 0);
      std::size_t members = 0;
      for (std::size_t i = 0; i < catalog->size(); ++i) members += protected_[i] = in_item_group(catalog->at(static_cast<ItemIndex>(i)), attribute, value);
      if (members == 0)
        throw BadInput(fmt::format("mitigation fair: group={}: no item of the dataset is in it{}", group,
                                   attribute == "genre"                          ? fmt::format(" (genres: {})", fmt::join(catalog->category_names(), ", "))
                                   : attribute == "era"                          ? std::string()
                                                                                 : " (is it an attribute of the items in items.jsonl?)"));
    }
    fair_minimum_counts(1, p_, alpha_);  // validates p and alpha
  }

  std::string id() const override { return fmt::format("fair(p={},alpha={},protected={})<-{}", p_, alpha_, group_, inner_->id()); }
  Capabilities capabilities() const override { return inner_->capabilities(); }

 protected:
  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    auto out = inner_->rank(requests);
    std::vector<char> valid;
    std::map<int, std::vector<int>> tables;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (out[i].error) continue;
      const auto& request = requests[i];
      const auto k = static_cast<int64_t>(request.candidates.size());
      const auto scores = rerank_scores(out[i], static_cast<std::size_t>(k), valid);
      auto prot = torch::zeros({1, k}, torch::kBool);
      auto items = torch::empty({1, k}, torch::kFloat64);
      for (int64_t j = 0; j < k; ++j) {
        prot[0][j] = protected_[static_cast<std::size_t>(request.candidates[static_cast<std::size_t>(j)])] != 0;
        items[0][j] = static_cast<double>(request.candidates[static_cast<std::size_t>(j)]);
      }
      const int top = static_cast<int>(std::min<int64_t>(request.k, k));
      auto& table = tables[top];
      if (table.empty()) table = fair_minimum_counts(top, p_, fair_adjusted_alpha(top, p_, alpha_));
      const auto picks = fair_topk(scores, prot, table, items);
      out[i].ranking.clear();
      for (int64_t t = 0; t < picks.size(1); ++t) out[i].ranking.push_back(static_cast<int>(picks[0][t].item<int64_t>()));
    }
    report_all(out, on_response);
    return out;
  }

 private:
  std::unique_ptr<Recommender> inner_;
  double p_, alpha_;
  std::string group_;
  std::vector<char> protected_;
};

}  // namespace

std::unique_ptr<Recommender> make_fair_topk_recommender(std::unique_ptr<Recommender> inner, std::shared_ptr<const Catalog> catalog,
                                                        double p, double alpha, double short_head_share, const std::string& group) {
  return std::make_unique<FairTopKRecommender>(std::move(inner), std::move(catalog), p, alpha, short_head_share, group);
}

}  // namespace recbias
