#include "mitigations/permutation_recommender.h"

#include <chrono>
#include <map>

#include <fmt/format.h>

#include "adapters/tensor_scorer.h"
#include "core/errors.h"
#include "core/permutations.h"
#include "core/rng.h"
#include "mitigations/operators.h"
#include "mitigations/reranking.h"

namespace recbias {
namespace {

class PermutationRecommender final : public Recommender {
 public:
  PermutationRecommender(std::unique_ptr<Recommender> inner, int m, std::string aggregation, std::string design, std::uint64_t seed)
      : inner_(std::move(inner)), m_(m), aggregation_name_(std::move(aggregation)),
        aggregator_(RankAggregator::parse(aggregation_name_)), design_(std::move(design)), seed_(seed) {
    const auto known = permutation_design_names().find(design_);
    if (known == permutation_design_names().end())
      throw BadInput(fmt::format("mitigation permutation: design={}: expected cyclic, latin or random", design_));
    design_kind_ = known->second;
  }

  std::string id() const override {
    return fmt::format("permutation(m={},agg={},design={},seed={})<-{}", m_, aggregation_name_, design_, seed_, inner_->id());
  }
  Capabilities capabilities() const override {
    auto c = inner_->capabilities();
    c.scores = true;
    c.thread_safe = false;
    return c;
  }

 protected:
  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    std::vector<RankResponse> out(requests.size());
    // Requests with the same K share one tensor batch.
    std::map<std::size_t, std::vector<std::size_t>> by_k;
    for (std::size_t i = 0; i < requests.size(); ++i) by_k[requests[i].candidates.size()].push_back(i);
    for (const auto& [k, indices] : by_k) {
      const int members = m_ > 0 ? m_ : static_cast<int>(k);
      // One set of orders for every request (seeded once): the design the position audit probes with (core/permutations.h).
      Rng rng(seed_);
      const torch::Tensor perms = PermutationEnsemble::from_orders(permutation_orders(design_kind_, static_cast<int>(k), members, rng));
      std::vector<RankRequest> group;
      for (auto i : indices) group.push_back(requests[i]);
      if (const auto* ts = inner_->tensor_scorer()) on_device(*ts, group, perms, indices, out);
      else generic(group, perms, indices, out);
    }
    report_all(out, on_response);
    return out;
  }

 private:
  // A tensor scorer (TorchScript): per slice of its batch_size requests, encode once,
  // ONE forward of B*m rows on the device, aggregate there. (Slicing bounds
  // memory: an audit chunk can hold tens of thousands of requests.)
  void on_device(const TensorScorer& ts, const std::vector<RankRequest>& group, const torch::Tensor& perms,
                 const std::vector<std::size_t>& indices, std::vector<RankResponse>& out) {
    const int64_t members = perms.size(0);
    const PermutationEnsemble ensemble(perms);
    const auto slice = static_cast<std::size_t>(ts.batch_size());
    for (std::size_t start = 0; start < group.size(); start += slice) {
      const auto started = std::chrono::steady_clock::now();
      const std::span<const RankRequest> part(group.data() + start, std::min(slice, group.size() - start));
      const auto batch = ts.encode(part);
      const auto history = batch.history.repeat_interleave(members, 0);
      const auto attributes = batch.attributes.repeat_interleave(members, 0);
      const auto scores = ensemble(batch.candidates, [&](const torch::Tensor& shown) { return ts.score(history, attributes, shown); });
      const auto aggregated = aggregator_(scores);
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
      for (std::size_t g = 0; g < part.size(); ++g) {
        auto& r = out[indices[start + g]];
        r.request_id = part[g].id;
        r.usage.calls = members;
        r.usage.latency_ms = ms / static_cast<double>(part.size());
        finish(r, aggregated[static_cast<int64_t>(g)], part[g]);
      }
    }
  }

  // Any other model: one rank() of B*m permuted requests, aggregated on the CPU.
  void generic(const std::vector<RankRequest>& group, const torch::Tensor& perms, const std::vector<std::size_t>& indices,
               std::vector<RankResponse>& out) {
    const int64_t members = perms.size(0), k = perms.size(1), b = static_cast<int64_t>(group.size());
    auto p = perms.accessor<int64_t, 2>();
    std::vector<RankRequest> all;
    all.reserve(static_cast<std::size_t>(b * members));
    for (const auto& request : group)
      for (int64_t r = 0; r < members; ++r) {
        RankRequest copy = request;
        for (int64_t j = 0; j < k; ++j) copy.candidates[static_cast<std::size_t>(j)] = request.candidates[static_cast<std::size_t>(p[r][j])];
        copy.id = fmt::format("{}/ens{}", request.id, r);
        all.push_back(std::move(copy));
      }
    const auto answers = inner_->rank(all);
    auto scores = torch::zeros({b, members, k}, torch::kFloat64);
    auto valid = torch::zeros({b, members, k}, torch::kBool);
    auto sa = scores.accessor<double, 3>();
    auto va = valid.accessor<bool, 3>();
    std::vector<char> ok;
    for (int64_t g = 0; g < b; ++g) {
      auto& result = out[indices[static_cast<std::size_t>(g)]];
      result.request_id = group[static_cast<std::size_t>(g)].id;
      int64_t failed = 0;
      for (int64_t r = 0; r < members; ++r) {
        const auto& answer = answers[static_cast<std::size_t>(g * members + r)];
        add_member(result, answer);
        if (answer.error) ++failed;
        const auto s = answer_scores(answer, static_cast<std::size_t>(k), ok);
        for (int64_t j = 0; j < k; ++j) {  // position j showed original candidate p[r][j]
          sa[g][r][p[r][j]] = s[static_cast<std::size_t>(j)];
          va[g][r][p[r][j]] = ok[static_cast<std::size_t>(j)] != 0;
        }
      }
      if (failed == members) result.error = fmt::format("every member of the ensemble failed; first: {}", *answers[static_cast<std::size_t>(g * members)].error);
    }
    const auto aggregated = aggregator_(scores, valid);
    for (int64_t g = 0; g < b; ++g) {
      auto& result = out[indices[static_cast<std::size_t>(g)]];
      if (!result.error) finish(result, aggregated[g], group[static_cast<std::size_t>(g)]);
    }
  }

  std::unique_ptr<Recommender> inner_;
  int m_;
  std::string aggregation_name_;
  RankAggregator aggregator_;
  std::string design_;
  PermutationDesign design_kind_ = PermutationDesign::kCyclic;
  std::uint64_t seed_;
};

}  // namespace

std::unique_ptr<Recommender> make_permutation_recommender(std::unique_ptr<Recommender> inner, int m, std::string aggregation,
                                                          std::string design, std::uint64_t seed) {
  return std::make_unique<PermutationRecommender>(std::move(inner), m, std::move(aggregation), std::move(design), seed);
}

}  // namespace recbias
