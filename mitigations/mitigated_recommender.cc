#include "mitigations/mitigated_recommender.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "adapters/tensor_scorer.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "core/rng.h"
#include "core/text.h"
#include "mitigations/fair_topk.h"
#include "mitigations/operators.h"

namespace recbias {
namespace {

// Scores of one answer in the presented order: the model's scores, or, for
// rank-only answers, minus the rank of each ranked candidate (unranked ones
// invalid). `valid` receives which entries mean something.
std::vector<double> answer_scores(const RankResponse& r, std::size_t k, std::vector<char>& valid) {
  std::vector<double> s(k, 0.0);
  valid.assign(k, 0);
  if (r.error) return s;
  if (r.scores && r.scores->size() == k) {
    for (std::size_t j = 0; j < k; ++j) s[j] = (*r.scores)[j];
    valid.assign(k, 1);
    return s;
  }
  for (std::size_t pos = 0; pos < r.ranking.size(); ++pos) {
    const auto j = static_cast<std::size_t>(r.ranking[pos]);
    s[j] = -static_cast<double>(pos);
    valid[j] = 1;
  }
  return s;
}

// answer_scores as a [1, K] tensor for the re-ranking decorators, with
// candidates the answer did not rank placed last (-1e9).
torch::Tensor rerank_scores(const RankResponse& r, std::size_t k, std::vector<char>& valid) {
  auto scores = torch::tensor(answer_scores(r, k, valid), torch::kFloat64).unsqueeze(0);
  for (std::size_t j = 0; j < k; ++j)
    if (!valid[j]) scores[0][static_cast<int64_t>(j)] = -1e9;
  return scores;
}

// Folds the usage and grounding counts of `member` into `total`.
void add_member(RankResponse& total, const RankResponse& member) {
  total.usage.prompt_tokens += member.usage.prompt_tokens;
  total.usage.completion_tokens += member.usage.completion_tokens;
  total.usage.latency_ms += member.usage.latency_ms;
  total.usage.calls += member.usage.calls;
  total.usage.retries += member.usage.retries;
  total.ungrounded.insert(total.ungrounded.end(), member.ungrounded.begin(), member.ungrounded.end());
  total.duplicates += member.duplicates;
  total.out_of_range += member.out_of_range;
  total.parse_failures += member.parse_failures;
  total.truncated = total.truncated || member.truncated;
}

// Final answer from aggregated scores (one row), top k.
void finish(RankResponse& out, const torch::Tensor& row, const RankRequest& request) {
  std::vector<float> scores(static_cast<std::size_t>(row.size(0)));
  const auto cpu = row.to(torch::kCPU, torch::kFloat64).contiguous();
  for (std::size_t j = 0; j < scores.size(); ++j) {
    const double v = cpu.data_ptr<double>()[j];
    scores[j] = std::isfinite(v) ? static_cast<float>(v) : -std::numeric_limits<float>::infinity();
  }
  out.ranking.clear();
  for (int p : top_k_by_score(scores, request.candidates, request.k))
    if (std::isfinite(scores[static_cast<std::size_t>(p)])) out.ranking.push_back(p);
  out.scores = std::move(scores);
}

class PermutationRecommender final : public Recommender {
 public:
  PermutationRecommender(std::unique_ptr<Recommender> inner, int m, std::string aggregation, std::string design, std::uint64_t seed)
      : inner_(std::move(inner)), m_(m), aggregation_name_(std::move(aggregation)),
        aggregator_(RankAggregator::parse(aggregation_name_)), design_(std::move(design)), seed_(seed) {
    if (design_ != "cyclic" && design_ != "random")
      throw BadInput(fmt::format("mitigation permutation: design={}: expected cyclic or random", design_));
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
      torch::Tensor perms = design_ == "cyclic" ? PermutationEnsemble::cyclic(static_cast<int>(k), members) : random_perms(k, members);
      std::vector<RankRequest> group;
      for (auto i : indices) group.push_back(requests[i]);
      if (const auto* ts = inner_->tensor_scorer()) on_device(*ts, group, perms, indices, out);
      else generic(group, perms, indices, out);
    }
    report_all(out, on_response);
    return out;
  }

 private:
  torch::Tensor random_perms(std::size_t k, int members) const {
    Rng rng(seed_);
    auto t = torch::empty({members, static_cast<int64_t>(k)}, torch::kInt64);
    for (int r = 0; r < members; ++r) {
      const auto p = rng.permutation(static_cast<int>(k));
      for (std::size_t j = 0; j < k; ++j) t[r][static_cast<int64_t>(j)] = p[j];
    }
    return t;
  }

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
  std::uint64_t seed_;
};

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

// For each item, the share of training interactions held by the items more
// popular than it (ties broken by catalog order): 0 for the most popular;
// the short head is share < 0.8.
std::vector<double> popularity_share_above(const Catalog& catalog) {
  const std::size_t n = catalog.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return catalog.items()[a].popularity > catalog.items()[b].popularity; });
  double total = 0;
  for (const auto& item : catalog.items()) total += item.popularity;
  std::vector<double> share(n, 1.0);
  double running = 0;
  for (auto i : order) {
    share[i] = total > 0 ? running / total : 1.0;
    running += catalog.items()[i].popularity;
  }
  return share;
}

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
  const auto share = popularity_share_above(catalog);
  out.assign(n, std::vector<double>(3, 0.0));
  for (std::size_t i = 0; i < n; ++i) out[i][share[i] < 0.2 ? 0 : share[i] < 0.8 ? 1 : 2] = 1.0;
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

class FairTopKRecommender final : public Recommender {
 public:
  FairTopKRecommender(std::unique_ptr<Recommender> inner, std::shared_ptr<const Catalog> catalog, double p, double alpha)
      : inner_(std::move(inner)), p_(p), alpha_(alpha) {
    // Protected group: long-tail items (outside the short head making up 80% of training interactions).
    const auto share = popularity_share_above(*catalog);
    protected_.assign(share.size(), 0);
    for (std::size_t i = 0; i < share.size(); ++i) protected_[i] = share[i] >= 0.8;
    fair_minimum_counts(1, p_, alpha_);  // validates p and alpha
  }

  std::string id() const override { return fmt::format("fair(p={},alpha={},protected=long-tail)<-{}", p_, alpha_, inner_->id()); }
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
  std::vector<char> protected_;
};

std::vector<double> parse_prior(const std::string& text) {
  if (text.ends_with(".json")) {
    std::ifstream in(text, std::ios::binary);
    if (!in) throw BadInput(fmt::format("calibrate-position: cannot open report {}", text));
    std::stringstream buffer;
    buffer << in.rdbuf();
    const auto report = parse_json(buffer.str(), text);
    try {
      std::vector<double> prior;
      for (const auto& rate : report.at("metrics").at("position").at("selection_rate")) prior.push_back(rate.at("value").get<double>());
      return prior;
    } catch (const nlohmann::json::exception&) {
      throw BadInput(fmt::format("calibrate-position: {} has no metrics.position.selection_rate (run the position audit)", text));
    }
  }
  std::vector<double> prior;
  for (auto part : split(text, ";")) {
    auto v = parse_double(trim(part));
    if (!v || *v <= 0) throw BadInput(fmt::format("calibrate-position: prior={}: expected positive numbers separated by ';' or a report.json", text));
    prior.push_back(*v);
  }
  return prior;
}

const AttributeSet& find_attribute(const MitigationContext& context, const std::string& name, const char* mitigation) {
  for (const auto& set : context.attributes)
    if (set.name == name) return set;
  std::vector<std::string> names;
  for (const auto& set : context.attributes) names.push_back(set.name);
  throw BadInput(fmt::format("mitigation {}: attribute={}: the dataset has {}", mitigation, name,
                             names.empty() ? std::string("no attributes") : fmt::format("{}", fmt::join(names, ", "))));
}

void check_keys(const AdapterSpec& spec, const std::vector<std::string>& known) {
  for (const auto& [key, value] : spec.values())
    if (std::find(known.begin(), known.end(), key) == known.end())
      throw BadInput(fmt::format("mitigation {}: unknown key \"{}\"; known keys: {}", spec.name(), key, fmt::join(known, ", ")));
}

}  // namespace

std::string mitigation_names() { return "permutation, calibrate-position, calibrate, fair, counterfactual, neutralize"; }

std::unique_ptr<Recommender> make_mitigation(const AdapterSpec& spec, std::unique_ptr<Recommender> inner, const MitigationContext& context) {
  const auto& name = spec.name();
  if (name == "permutation") {
    check_keys(spec, {"m", "agg", "design", "seed"});
    return std::make_unique<PermutationRecommender>(std::move(inner), static_cast<int>(spec.get_int("m", 0, 0, 1000)),
                                                    spec.get_string("agg", "mean"), spec.get_string("design", "cyclic"),
                                                    static_cast<std::uint64_t>(spec.get_int("seed", 0, 0, INT64_MAX)));
  }
  if (name == "calibrate-position") {
    check_keys(spec, {"prior"});
    const auto source = spec.get_string("prior", "");
    if (source.empty()) throw BadInput("mitigation calibrate-position: prior=... is required (b0;b1;... or a report.json)");
    return std::make_unique<PositionCalibrationRecommender>(std::move(inner), parse_prior(source), source);
  }
  if (name == "calibrate") {
    check_keys(spec, {"target", "lambda", "alpha"});
    return std::make_unique<CalibratedRecommender>(std::move(inner), context.catalog, spec.get_string("target", "genre"),
                                                   spec.get_double("lambda", 0.5, 0, 1), spec.get_double("alpha", 0.01, 0, 1));
  }
  if (name == "fair") {
    check_keys(spec, {"p", "alpha"});
    return std::make_unique<FairTopKRecommender>(std::move(inner), context.catalog, spec.get_double("p", 0.5, 0, 1),
                                                 spec.get_double("alpha", 0.1, 0, 1));
  }
  if (name == "counterfactual" || name == "neutralize") {
    check_keys(spec, {"attribute"});
    const auto attribute = spec.get_string("attribute", "");
    if (attribute.empty()) throw BadInput(fmt::format("mitigation {}: attribute=... is required", name));
    return std::make_unique<CounterfactualRecommender>(std::move(inner), find_attribute(context, attribute, name.c_str()), name == "neutralize");
  }
  throw BadInput(fmt::format("unknown mitigation \"{}\"; known mitigations: {}", name, mitigation_names()));
}

}  // namespace recbias
