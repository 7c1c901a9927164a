#include "adapters/simulated_recommender.h"

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "adapters/itemknn_recommender.h"
#include "core/errors.h"
#include "core/rng.h"
#include "core/text.h"

namespace recbias {

std::vector<double> position_bias_curve(const std::string& position, double strength, int k) {
  std::vector<double> b(static_cast<std::size_t>(k), 0.0);
  const double last = std::max(1, k - 1);
  if (position == "none") return b;
  for (int j = 0; j < k; ++j) {
    auto& v = b[static_cast<std::size_t>(j)];
    if (position == "primacy") v = strength * (1.0 - j / last);
    else if (position == "recency") v = strength * (j / last);
    else if (position == "llmrank") v = strength * (std::exp(-j / 3.0) + 0.5 * std::exp(-(k - 1 - j) / 3.0));
    else break;
  }
  if (position == "primacy" || position == "recency" || position == "llmrank") return b;
  // Explicit logits "b0;b1;...": positions beyond the list get 0.
  const auto parts = split(position, ";");
  for (std::size_t j = 0; j < parts.size(); ++j) {
    auto value = parse_double(trim(parts[j]));
    if (!value)
      throw BadInput(fmt::format("adapter simulated: position={}: expected none, primacy, recency, llmrank "
                                 "or logits separated by ';' (e.g. 1;0.5;0)", position));
    if (j < b.size()) b[j] = strength * *value;
  }
  return b;
}

namespace {

// stable_hash of the formatted text, formatted on the stack.
template <typename... Args>
std::uint64_t hash_of(fmt::format_string<Args...> format, Args&&... args) {
  fmt::memory_buffer text;
  fmt::format_to(std::back_inserter(text), format, std::forward<Args>(args)...);
  return stable_hash(std::string_view(text.data(), text.size()));
}

// Standardises `v` in place (mean 0, sd 1); a constant vector becomes zeros.
void standardise(std::vector<double>& v) {
  if (v.empty()) return;
  double mean = 0, var = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) var += (x - mean) * (x - mean);
  var /= static_cast<double>(v.size());
  const double sd = std::sqrt(var);
  for (double& x : v) x = sd > 0 ? (x - mean) / sd : 0.0;
}

class SimulatedRecommender final : public Recommender {
 public:
  SimulatedRecommender(const AdapterContext& context, SimulatedOptions options)
      : catalog_(context.catalog), options_(std::move(options)) {
    if (options_.relevance == "itemknn") {
      if (!context.training || context.training->empty())
        throw BadInput("adapter simulated: relevance=itemknn needs training interactions (--dataset), or use relevance=popularity|none");
      similarity_ = std::make_unique<ItemSimilarity>(catalog_->size(), *context.training);
    } else if (options_.relevance != "popularity" && options_.relevance != "none") {
      throw BadInput(fmt::format("adapter simulated: relevance={}: expected itemknn, popularity or none", options_.relevance));
    }
    // log(1 + popularity) per item, read for every candidate of every call
    // (the split sets popularity when the workload is built, before any adapter).
    log_popularity_.reserve(catalog_->size());
    for (std::size_t i = 0; i < catalog_->size(); ++i) log_popularity_.push_back(std::log1p(catalog_->at(static_cast<ItemIndex>(i)).popularity));
    position_bias_curve(options_.position, options_.position_strength, 2);  // validates the curves early
    position_bias_curve(options_.position_users, options_.position_users_strength, 2);
  }

  std::string id() const override {
    std::string shifts;
    for (const auto& [key, s] : options_.shifts) shifts += fmt::format(",shift.{}.{}={}", key.first, key.second, s);
    return fmt::format(
        "simulated:relevance={},relevance_weight={},popularity_tilt={},position={},position_strength={},noise={}{},"
        "hallucination_rate={},duplicate_rate={},parse_failure_rate={},seed={}{}",
        options_.relevance, options_.relevance_weight, options_.popularity_tilt, options_.position,
        options_.position_strength, options_.noise, shifts, options_.hallucination_rate, options_.duplicate_rate,
        options_.parse_failure_rate, options_.seed,
        options_.position_share > 0 || options_.favourite_position != 0 || options_.hallucination_share > 0
            ? fmt::format(",position_share={},position_users={},position_users_strength={},favourite_position={},"
                          "hallucination_share={},hallucination_burst={}",
                          options_.position_share, options_.position_users, options_.position_users_strength,
                          options_.favourite_position, options_.hallucination_share, options_.hallucination_burst)
            : std::string()) +
           (options_.recency > 0 ? fmt::format(",recency={}", options_.recency) : std::string());
  }

  Capabilities capabilities() const override {
    return {.scores = options_.scores, .deterministic = true, .thread_safe = true};
  }

  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    std::vector<RankResponse> out(requests.size());
    std::vector<char> in_history(catalog_->size(), 0);
    UserDraws user;  // a plan asks each user's calls one after another
    for (std::size_t r = 0; r < requests.size(); ++r) {
      out[r] = answer(requests[r], in_history, user);
      if (options_.sleep && options_.latency_ms > 0)
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<std::int64_t>(options_.latency_ms * 1000)));
      if (on_response) on_response(r, out[r]);
    }
    return out;
  }

 private:
  // The position curve for k candidates (the population's, or the
  // position-driven users'), parsed once per k: answers ask for it every time.
  std::vector<double> curve(bool position_users, int k) const {
    std::lock_guard lock(curves_mutex_);
    auto& cache = curves_[position_users ? 1 : 0];
    auto it = cache.find(k);
    if (it == cache.end())
      it = cache.emplace(k, position_users ? position_bias_curve(options_.position_users, options_.position_users_strength, k)
                                           : position_bias_curve(options_.position, options_.position_strength, k))
               .first;
    return it->second;
  }

  // What a user's id alone decides (hashes of the seed and the id), kept for
  // the user's next call.
  struct UserDraws {
    std::string id;
    bool drawn = false;
    double position_draw = 0;         // < position_share: a position-driven user
    std::uint64_t favourite = 0;      // the favourite position's hash
    double hallucination_draw = 0;    // < hallucination_share: a hallucinating user
  };
  const UserDraws& draws_of(const std::string& user_id, UserDraws& cache) const {
    if (cache.drawn && cache.id == user_id) return cache;
    cache.id = user_id;
    cache.drawn = true;
    cache.position_draw = static_cast<double>(hash_of("user/{}/{}", options_.seed, user_id) >> 11) * 0x1.0p-53;
    cache.favourite = hash_of("favourite/{}/{}", options_.seed, user_id);
    cache.hallucination_draw = static_cast<double>(hash_of("hallucinating/{}/{}", options_.seed, user_id) >> 11) * 0x1.0p-53;
    return cache;
  }

  RankResponse answer(const RankRequest& request, std::vector<char>& in_history, UserDraws& user) const {
    if (request.open) {
      // Candidate-free: every unseen catalog item is a candidate, with no
      // position bias (the catalog's order is not a presented order); the
      // ranking becomes item indices, hallucinations stay ungrounded.
      const auto expanded = open_as_candidates(request, *catalog_);
      auto response = answer(expanded, in_history, user, false);
      for (auto& p : response.ranking) p = expanded.candidates[static_cast<std::size_t>(p)];
      response.request_id = request.id;
      response.scores.reset();
      return response;
    }
    return answer(request, in_history, user, true);
  }

  RankResponse answer(const RankRequest& request, std::vector<char>& in_history, UserDraws& user, bool position_bias) const {
    const auto& c = request.candidates;
    const int k = static_cast<int>(c.size());
    std::vector<double> relevance(c.size(), 0.0), popularity(c.size(), 0.0);
    if (similarity_) for (auto h : request.user.history) in_history[static_cast<std::size_t>(h)] = 1;
    // recency > 0: history item i of H (oldest first) weighs exp(-recency (H-1-i) / (H-1)); a repeated item its latest weight.
    std::vector<double> recency_weight;
    if (similarity_ && options_.recency > 0) {
      recency_weight.assign(catalog_->size(), 0.0);
      const auto& h = request.user.history;
      for (std::size_t i = 0; i < h.size(); ++i)
        recency_weight[static_cast<std::size_t>(h[i])] =
            std::exp(-options_.recency * static_cast<double>(h.size() - 1 - i) / static_cast<double>(std::max<std::size_t>(1, h.size() - 1)));
    }
    for (std::size_t i = 0; i < c.size(); ++i) {
      const auto at = static_cast<std::size_t>(c[i]);
      popularity[i] = c[i] >= 0 && at < log_popularity_.size() ? log_popularity_[at] : std::log1p(catalog_->at(c[i]).popularity);
      if (similarity_) relevance[i] = options_.recency > 0 ? similarity_->score(c[i], recency_weight) : similarity_->score(c[i], in_history);
      else if (options_.relevance == "popularity") relevance[i] = popularity[i];
    }
    if (similarity_) for (auto h : request.user.history) in_history[static_cast<std::size_t>(h)] = 0;
    standardise(relevance);
    standardise(popularity);
    const auto& draws = draws_of(request.user.id, user);
    auto bias = position_bias ? curve(draws.position_draw < options_.position_share, k) : std::vector<double>(c.size(), 0.0);
    if (position_bias && options_.favourite_position != 0 && k > 0)
      bias[draws.favourite % static_cast<std::uint64_t>(k)] += options_.favourite_position;
    const bool hallucinating_user = draws.hallucination_draw < options_.hallucination_share;

    // The noise stream depends only on what the model is shown (and `sample`).
    fmt::memory_buffer content;
    fmt::format_to(std::back_inserter(content), "{}|{}|", request.user.id, request.sample);
    for (const auto& [a, v] : request.user.attributes) fmt::format_to(std::back_inserter(content), "{}={};", a, v);
    for (auto item : c) {
      const auto& id = catalog_->at(item).id;
      content.append(id.data(), id.data() + id.size());
      content.push_back(',');
    }
    Rng rng = Rng::stream(options_.seed, std::string_view(content.data(), content.size()));

    std::vector<float> logits(c.size());
    for (std::size_t i = 0; i < c.size(); ++i) {
      double l = options_.relevance_weight * relevance[i] + options_.popularity_tilt * popularity[i] + bias[i];
      for (const auto& [attribute, value] : request.user.attributes) {
        auto s = options_.shifts.find({attribute, value});
        if (s == options_.shifts.end()) continue;
        // taste in [-sqrt(3), sqrt(3)): uniform with mean 0 and variance 1, fixed per (a, v, item).
        const auto h = hash_of("taste/{}/{}/{}", attribute, value, catalog_->at(c[i]).id);
        l += s->second * ((static_cast<double>(h >> 11) * 0x1.0p-53) - 0.5) * std::sqrt(12.0);
      }
      if (options_.noise > 0) {
        double u = rng.uniform01();
        while (u == 0) u = rng.uniform01();
        l += options_.noise * -std::log(-std::log(u));
      }
      logits[i] = static_cast<float>(l);
    }

    RankResponse response;
    response.request_id = request.id;
    response.usage = {.prompt_tokens = 0, .completion_tokens = 0, .latency_ms = options_.latency_ms, .calls = 1};
    if (rng.uniform01() < options_.parse_failure_rate) {
      response.parse_failures = 1;
      return response;
    }
    response.ranking = top_k_by_score(logits, c, request.k);
    if (rng.uniform01() < options_.hallucination_rate && !response.ranking.empty()) {
      response.ranking.pop_back();
      response.ungrounded.push_back(fmt::format("Imaginary Title #{} (2031)", rng.uniform_int(1000000)));
    }
    if (hallucinating_user)
      for (int h = 0; h < options_.hallucination_burst && !response.ranking.empty(); ++h) {
        response.ranking.pop_back();
        response.ungrounded.push_back(fmt::format("Imaginary Title #{} (2031)", rng.uniform_int(1000000)));
      }
    if (rng.uniform01() < options_.duplicate_rate && !response.ranking.empty()) response.duplicates = 1;
    if (options_.scores) response.scores = std::move(logits);
    return response;
  }

  std::shared_ptr<const Catalog> catalog_;
  SimulatedOptions options_;
  std::unique_ptr<ItemSimilarity> similarity_;
  std::vector<double> log_popularity_;  // by item index
  mutable std::mutex curves_mutex_;
  mutable std::map<int, std::vector<double>> curves_[2];  // by k: [0] the population's curve, [1] the position-driven users'
};

}  // namespace

std::unique_ptr<Recommender> make_simulated_recommender(const AdapterContext& context, SimulatedOptions options) {
  return std::make_unique<SimulatedRecommender>(context, std::move(options));
}

}  // namespace recbias
