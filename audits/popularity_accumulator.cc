#include "audits/popularity_accumulator.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/rng.h"
#include "datasets/describe.h"  // gini

namespace recbias {
double PopularityAccumulator::top1_minus_positive(std::span<const double> s) {
  return s[kUsers] > 0 ? (s[kTop1Percentile] - s[kPositivePercentile]) / s[kUsers] : std::nan("");
}

PopularityContext make_popularity_context(const Workload& workload, double short_head_share) {
  PopularityContext c;
  c.catalog = workload.catalog;
  const auto& items = workload.catalog->items();
  c.in_head = short_head_items(*workload.catalog, short_head_share);
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return items[a].popularity > items[b].popularity; });
  // User groups as in Abdollahpouri et al. 2019's code: by the share of
  // popular items (the top 20% of items by training popularity) in the
  // training profile; the 20% of users with the lowest share are niche, the
  // 20% with the highest blockbuster, the rest diverse (ties by user id).
  std::vector<char> popular(items.size(), 0);
  const std::size_t top = (items.size() + 4) / 5;
  for (std::size_t i = 0; i < top && i < order.size(); ++i) popular[order[i]] = 1;
  std::vector<std::pair<double, std::string>> users;
  for (std::size_t u = 0; u < workload.users.size(); ++u) {
    const auto& h = workload.users[u].history;
    if (h.empty() || !workload.held_out[u]) continue;
    double share = 0;
    for (auto i : h) share += popular[static_cast<std::size_t>(i)];
    users.emplace_back(share / static_cast<double>(h.size()), workload.users[u].id);
  }
  std::sort(users.begin(), users.end());
  const std::size_t n = users.size();
  for (std::size_t i = 0; i < n; ++i)
    c.user_group[users[i].second] = i < n / 5 ? 0 : (i >= n - n / 5 ? 2 : 1);
  // With fewer than 5 users the high group is empty; its threshold is then
  // the last user's (the old index, n - n/5, read one past the end: found by
  // the sanitizer build).
  if (n > 0) c.group_thresholds = {users[n / 5].first, users[n / 5 ? n - n / 5 - 1 : n - 1].first};
  return c;
}

PopularityAccumulator::PopularityAccumulator(std::shared_ptr<const PopularityContext> context, int replicates)
    : context_(std::move(context)), replicates_(replicates), user_(kUserSlots, replicates), groups_(kGroupSlots, replicates),
      exposure_(context_->catalog ? context_->catalog->size() : 0, 0),
      exposure_replicates_(exposure_.size() * static_cast<std::size_t>(replicates), 0), appearances_(exposure_.size(), 0) {}

void PopularityAccumulator::add(const BaseOutcome& o) {
  const auto& r = o.response(o.plan->identity);  // top-k view: ARP, APLT, ACLT, exposure, PopRSP/PopREO, ΔGAP
  const auto& whole = o.full_response(o.plan->identity).ranking;  // popularity by output rank, Spearman
  if (!usable(r)) return;
  const auto& weights = *o.weights;
  const auto& candidates = o.base->request.candidates;
  const Catalog& catalog = *context_->catalog;
  const auto pop = [&](ItemIndex i) { return catalog.at(i).popularity; };
  const auto list = r.ranking;  // identity: positions are base candidates
  const int k = static_cast<int>(candidates.size());
  if (k_ == 0) {
    k_ = k;
    by_rank_.assign(static_cast<std::size_t>(k), MomentSums());
  }
  if (k != k_)
    throw BadInput(fmt::format("popularity audit: request {} has {} candidates, others have {}", o.base->request.id, k, k_));

  for (auto c : candidates) ++appearances_[static_cast<std::size_t>(c)];
  if (answer_k_ == 0) answer_k_ = o.base->request.k;
  else if (answer_k_ != o.base->request.k) answer_k_ = -1;
  double sum_pop = 0, tail = 0;
  for (std::size_t rank = 0; rank < list.size(); ++rank) {
    const ItemIndex item = candidates[static_cast<std::size_t>(list[rank])];
    sum_pop += pop(item);
    tail += context_->in_head[static_cast<std::size_t>(item)] ? 0 : 1;
    exposure_[static_cast<std::size_t>(item)] += 1;
    for (std::size_t rep = 0; rep < weights.size(); ++rep)
      exposure_replicates_[rep * exposure_.size() + static_cast<std::size_t>(item)] += weights[rep];
  }
  for (std::size_t rank = 0; rank < whole.size() && rank < static_cast<std::size_t>(k); ++rank)
    by_rank_[rank].add(pop(candidates[static_cast<std::size_t>(whole[rank])]));
  const double len = static_cast<double>(list.size());

  // Spearman: model preference (higher = ranked earlier, unranked tied last) and truth.
  std::vector<double> popularity, preference, truth;
  for (std::size_t j = 0; j < candidates.size(); ++j) {
    popularity.push_back(pop(candidates[j]));
    const int rank = rank_of(whole, static_cast<int>(j));
    preference.push_back(rank > 0 ? -rank : -static_cast<double>(candidates.size() + 1));
    truth.push_back(static_cast<int>(j) == o.base->positive_position ? 1.0 : 0.0);
  }
  const double rho_model = spearman_rho(popularity, preference);
  const double rho_truth = spearman_rho(popularity, truth);
  // Like for like: the popularity percentile, within this user's candidates,
  // of the model's top-1 and of the held-out positive (0 = least popular,
  // 1 = most; ties count half). Paired per user, on one scale.
  auto percentile_in_candidates = [&](int position) {
    const double p = popularity[static_cast<std::size_t>(position)];
    double below = 0;
    for (std::size_t j = 0; j < popularity.size(); ++j) {
      if (static_cast<int>(j) == position) continue;
      below += popularity[j] < p ? 1.0 : popularity[j] == p ? 0.5 : 0.0;
    }
    return popularity.size() > 1 ? below / static_cast<double>(popularity.size() - 1) : 0.5;
  };
  double user_values[kUserSlots];
  user_values[kArp] = sum_pop / len;
  user_values[kAplt] = tail / len;
  user_values[kAclt] = tail;
  user_values[kSpearmanModel] = std::isfinite(rho_model) ? rho_model : 0.0;
  user_values[kSpearmanModelUsers] = std::isfinite(rho_model) ? 1.0 : 0.0;
  user_values[kSpearmanTruth] = std::isfinite(rho_truth) ? rho_truth : 0.0;
  user_values[kSpearmanTruthUsers] = std::isfinite(rho_truth) ? 1.0 : 0.0;
  user_values[kUsers] = 1.0;
  user_values[kTop1Percentile] = percentile_in_candidates(list[0]);
  user_values[kPositivePercentile] = percentile_in_candidates(o.base->positive_position);
  user_.add(weights, user_values);

  // RSP / REO counts and ΔGAP sums.
  std::vector<double> g(kGroupSlots, 0.0);
  for (std::size_t j = 0; j < candidates.size(); ++j) {
    const bool head = context_->in_head[static_cast<std::size_t>(candidates[j])];
    const bool recommended = rank_of(list, static_cast<int>(j)) > 0;
    g[head ? kHeadCandidates : kTailCandidates] += 1;
    if (recommended) g[head ? kHeadRecommended : kTailRecommended] += 1;
    if (static_cast<int>(j) == o.base->positive_position) {
      g[head ? kHeadPositives : kTailPositives] += 1;
      if (recommended) g[head ? kHeadPositiveRecommended : kTailPositiveRecommended] += 1;
    }
  }
  auto group = context_->user_group.find(o.base->request.user.id);
  if (group != context_->user_group.end() && !o.base->request.user.history.empty()) {
    double profile = 0;
    for (auto h : o.base->request.user.history) profile += pop(h);
    const std::size_t base = kGap + kGapWidth * static_cast<std::size_t>(group->second);
    g[base + kProfilePopularity] += profile / static_cast<double>(o.base->request.user.history.size());
    g[base + kRecommendedPopularity] += sum_pop / len;
    g[base + kGroupUsers] += 1;
  }
  groups_.add(weights, g);
}

void PopularityAccumulator::merge(const PopularityAccumulator& other) {
  if (other.k_ != 0) {
    if (k_ == 0) {
      k_ = other.k_;
      by_rank_ = other.by_rank_;
    } else {
      if (other.k_ != k_) throw BadInput(fmt::format("cannot merge popularity audits with K = {} and K = {}", k_, other.k_));
      for (std::size_t r = 0; r < by_rank_.size(); ++r) by_rank_[r].merge(other.by_rank_[r]);
    }
  }
  user_.merge(other.user_);
  groups_.merge(other.groups_);
  RECBIAS_CHECK(exposure_.size() == other.exposure_.size(), "popularity merge: different catalogs");
  for (std::size_t i = 0; i < exposure_.size(); ++i) exposure_[i] += other.exposure_[i];
  for (std::size_t i = 0; i < exposure_replicates_.size(); ++i) exposure_replicates_[i] += other.exposure_replicates_[i];
  for (std::size_t i = 0; i < appearances_.size(); ++i) appearances_[i] += other.appearances_[i];
  if (answer_k_ == 0) answer_k_ = other.answer_k_;
  else if (other.answer_k_ != 0 && other.answer_k_ != answer_k_) answer_k_ = -1;
}

bool PopularityAccumulator::operator==(const PopularityAccumulator& o) const {
  return k_ == o.k_ && user_ == o.user_ && groups_ == o.groups_ && by_rank_ == o.by_rank_ && exposure_ == o.exposure_ &&
         exposure_replicates_ == o.exposure_replicates_ && appearances_ == o.appearances_ && answer_k_ == o.answer_k_;
}

nlohmann::ordered_json PopularityAccumulator::result(double confidence) const {
  nlohmann::ordered_json out;
  const double users = user_.total(kUsers);
  out["users"] = users;
  if (users == 0) {
    out["verdict"] = "no usable responses";
    return out;
  }
  auto mean_of = [&](std::size_t i, std::size_t n) {
    const auto e = user_.estimate([i, n](std::span<const double> s) { return s[n] > 0 ? s[i] / s[n] : std::nan(""); }, confidence);
    return metric_json(e.value, e.ci, user_.total(n));
  };
  out["arp"] = mean_of(kArp, kUsers);
  out["aplt"] = mean_of(kAplt, kUsers);
  out["aclt"] = mean_of(kAclt, kUsers);
  // Gini and coverage from exposure, with replicate exposure for the interval.
  const std::size_t n_items = exposure_.size();
  auto gini_and_coverage = [&](auto get) {
    std::vector<double> e(n_items);
    double covered = 0;
    for (std::size_t i = 0; i < n_items; ++i) {
      e[i] = static_cast<double>(get(i));
      covered += e[i] > 0;
    }
    return std::make_pair(gini(e), n_items ? covered / static_cast<double>(n_items) : 0.0);
  };
  const auto point = gini_and_coverage([&](std::size_t i) { return exposure_[i]; });
  std::vector<double> gini_reps, coverage_reps;
  for (int r = 0; r < replicates_; ++r) {
    const auto rep = gini_and_coverage([&](std::size_t i) { return exposure_replicates_[static_cast<std::size_t>(r) * n_items + i]; });
    gini_reps.push_back(rep.first);
    coverage_reps.push_back(rep.second);
  }
  // Gini and coverage of resampled exposure are biased (a resample repeats
  // some users and drops others, which concentrates exposure: at a few
  // hundred users the replicates' Gini sits ~0.1 above the point). The
  // interval is therefore the bootstrap distribution's spread around its
  // median, re-centred on the point estimate: [t - (m - q_lo), t + (q_hi - m)].
  out["gini_exposure"] = metric_json(point.first, recentred_interval(point.first, gini_reps, confidence), users);
  out["catalog_coverage"] = metric_json(point.second, recentred_interval(point.second, coverage_reps, confidence), users);
  // What a random ranker would give on the same candidates, and exposure per candidate appearance.
  if (k_ > 0 && answer_k_ > 0 && n_items > 0) {
    const double r = std::min(1.0, static_cast<double>(answer_k_) / k_);
    std::vector<double> appeared(appearances_.begin(), appearances_.end()), rates;
    double coverage = 0;
    for (auto a : appearances_) coverage += 1 - std::pow(1 - r, static_cast<double>(a));
    out["gini_exposure_random"] = gini(appeared);
    out["catalog_coverage_random"] = coverage / static_cast<double>(n_items);
    std::vector<std::size_t> seen;
    for (std::size_t i = 0; i < n_items; ++i)
      if (appearances_[i] > 0) {
        seen.push_back(i);
        rates.push_back(static_cast<double>(exposure_[i]) / static_cast<double>(appearances_[i]));
      }
    out["exposure_rate_gini"] = gini(rates);
    Rng rng(0x72616e646f6dULL);  // "random": a fixed stream, so merged and single runs agree
    double simulated = 0;
    constexpr int kDraws = 50;
    constexpr std::int64_t kExactDraws = 10000;  // appearances beyond which an item's hits are drawn at once
    for (int d = 0; d < kDraws; ++d) {
      std::vector<double> random_rates;
      random_rates.reserve(seen.size());
      for (auto i : seen) {
        std::int64_t hits = 0;
        const auto n = appearances_[i];
        if (n <= kExactDraws) {
          for (std::int64_t t = 0; t < n; ++t) hits += rng.uniform01() < r;
        } else {  // Binomial(n, r) by its normal approximation: the work stays bounded
          const double mean = static_cast<double>(n) * r, sd = std::sqrt(mean * (1 - r));
          hits = std::clamp(static_cast<std::int64_t>(std::llround(mean + sd * rng.normal())), std::int64_t{0}, n);
        }
        random_rates.push_back(static_cast<double>(hits) / static_cast<double>(appearances_[i]));
      }
      simulated += gini(random_rates);
    }
    out["exposure_rate_gini_random"] = simulated / kDraws;
  }
  auto relative_sd = [](double a, double b) {
    const double mean = (a + b) / 2;
    return mean > 0 ? std::abs(a - b) / 2 / mean : std::nan("");  // population sd of two values over their mean
  };
  const auto rsp = groups_.estimate([&](std::span<const double> s) {
    return s[kHeadCandidates] > 0 && s[kTailCandidates] > 0
               ? relative_sd(s[kHeadRecommended] / s[kHeadCandidates], s[kTailRecommended] / s[kTailCandidates])
               : std::nan("");
  }, confidence);
  const auto reo = groups_.estimate([&](std::span<const double> s) {
    return s[kHeadPositives] > 0 && s[kTailPositives] > 0
               ? relative_sd(s[kHeadPositiveRecommended] / s[kHeadPositives], s[kTailPositiveRecommended] / s[kTailPositives])
               : std::nan("");
  }, confidence);
  out["pop_rsp"] = metric_json(rsp.value, rsp.ci, users);
  out["pop_reo"] = metric_json(reo.value, reo.ci, users);
  const char* names[kGapGroups] = {"niche", "diverse", "blockbuster"};
  nlohmann::ordered_json gap;
  for (std::size_t g = 0; g < kGapGroups; ++g) {
    const std::size_t p = kGap + kGapWidth * g + kProfilePopularity, r = kGap + kGapWidth * g + kRecommendedPopularity;
    const auto e = groups_.estimate([p, r](std::span<const double> s) { return s[p] > 0 ? (s[r] - s[p]) / s[p] : std::nan(""); }, confidence);
    gap[names[g]] = metric_json(e.value, e.ci, groups_.total(kGap + kGapWidth * g + kGroupUsers));
  }
  out["delta_gap"] = gap;
  nlohmann::ordered_json ranks = nlohmann::ordered_json::array();
  for (const auto& rank : by_rank_) ranks.push_back(metric_json(rank.mean(), rank.interval(confidence), static_cast<double>(rank.n())));
  out["popularity_by_rank"] = ranks;
  out["spearman_popularity_model"] = mean_of(kSpearmanModel, kSpearmanModelUsers);
  out["spearman_popularity_truth"] = mean_of(kSpearmanTruth, kSpearmanTruthUsers);
  out["spearman_note"] = "two scales: a correlation with the one-hot positive is bounded (about 0.38 at K = 20); compare the "
                         "percentiles below instead";
  // Popularity percentile within the candidates: model's top-1 vs the held-out item, and their paired difference.
  out["top1_popularity_percentile"] = mean_of(kTop1Percentile, kUsers);
  out["positive_popularity_percentile"] = mean_of(kPositivePercentile, kUsers);
  const auto diff = user_.estimate(top1_minus_positive, confidence);
  out["top1_minus_positive_percentile"] = metric_json(diff.value, diff.ci, user_.total(kUsers));
  return out;
}

void PopularityAccumulator::replicated(std::map<std::string, ReplicatedValue>& out) const {
  if (user_.total(kUsers) == 0) return;
  auto mean_of = [](std::size_t i) { return [i](std::span<const double> s) { return s[kUsers] > 0 ? s[i] / s[kUsers] : std::nan(""); }; };
  out["popularity.arp"] = user_.replicated(mean_of(kArp));
  out["popularity.aplt"] = user_.replicated(mean_of(kAplt));
  out["popularity.aclt"] = user_.replicated(mean_of(kAclt));
  out["popularity.top1_minus_positive_percentile"] = user_.replicated(top1_minus_positive);
}

nlohmann::json PopularityAccumulator::state() const {
  return {{"k", k_}, {"user", user_.to_json()}, {"groups", groups_.to_json()}, {"by_rank", [&] {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& m : by_rank_) a.push_back(m.to_json());
            return a;
          }()},
          {"exposure", exposure_}, {"exposure_replicates", exposure_replicates_}, {"appearances", appearances_}, {"answer_k", answer_k_}};
}

void PopularityAccumulator::load_state(const nlohmann::json& j) {
  try {
    k_ = j.at("k");
    user_ = ReplicatedSums::from_json(j.at("user"));
    groups_ = ReplicatedSums::from_json(j.at("groups"));
    by_rank_.clear();
    for (const auto& m : j.at("by_rank")) by_rank_.push_back(MomentSums::from_json(m));
    exposure_ = j.at("exposure").get<std::vector<std::int64_t>>();
    exposure_replicates_ = j.at("exposure_replicates").get<std::vector<std::int32_t>>();
    appearances_ = j.at("appearances").get<std::vector<std::int64_t>>();
    answer_k_ = j.at("answer_k").get<int>();
    if (appearances_.size() != exposure_.size()) throw BadInput("popularity state: appearances do not match items");
    for (std::size_t i = 0; i < exposure_.size(); ++i)
      if (exposure_[i] < 0 || appearances_[i] < 0)
        throw BadInput(fmt::format("popularity state: item {}: exposure {} and appearances {}: expected counts >= 0", i, exposure_[i],
                                   appearances_[i]));
    for (auto w : exposure_replicates_)
      if (w < 0) throw BadInput(fmt::format("popularity state: an exposure replicate is {}: expected counts >= 0", w));
    if (exposure_replicates_.size() != exposure_.size() * static_cast<std::size_t>(replicates_))
      throw BadInput("popularity state: exposure replicates do not match items x replicates");
    if (context_->catalog && exposure_.size() != context_->catalog->size())
      throw BadInput(fmt::format("popularity state: {} items, but the dataset has {}", exposure_.size(), context_->catalog->size()));
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("popularity audit state: {}", e.what()));
  }
}

}  // namespace recbias
