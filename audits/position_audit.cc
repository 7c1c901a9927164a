#include "audits/position_audit.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "audits/list_similarity.h"
#include "core/errors.h"

namespace recbias {
namespace {

// RBO_ext (p = 0.9) of two lists of equal length over ids 0..n-1, with flag arrays.
double rbo_equal_length(const std::vector<int>& a, const std::vector<int>& b, std::vector<char>& in_a, std::vector<char>& in_b) {
  constexpr double p = 0.9;
  double overlap = 0, sum = 0, p_d = 1;
  const std::size_t l = a.size();
  for (std::size_t d = 0; d < l; ++d) {
    p_d *= p;
    const int x = a[d], y = b[d];
    if (x == y) overlap += 1;
    else {
      overlap += in_b[static_cast<std::size_t>(x)] + in_a[static_cast<std::size_t>(y)];
    }
    in_a[static_cast<std::size_t>(x)] = 1;
    in_b[static_cast<std::size_t>(y)] = 1;
    sum += overlap / static_cast<double>(d + 1) * p_d;
  }
  for (int x : a) in_a[static_cast<std::size_t>(x)] = 0;
  for (int y : b) in_b[static_cast<std::size_t>(y)] = 0;
  return (1 - p) / p * sum + overlap / static_cast<double>(l) * p_d;
}

// Mean pairwise Kendall tau-b over lists that all have length `l` out of `k`
// ids (unlisted ids tied last). Every list then has the same ties, so tau-b's
// denominator is the same for every pair and the sum over pairs of lists
// factorises over pairs of ids: sum_{lists r<s} s_r s_s = ((sum_r s_r)^2 - sum_r s_r^2) / 2.
double mean_pairwise_tau_equal_length(const std::vector<std::vector<int>>& lists, int k) {
  const std::size_t m = lists.size();
  const std::size_t l = lists[0].size();
  // Pairs of ids laid out row by row (a < b), branch-free so the loop vectorises.
  const std::size_t n_pairs = static_cast<std::size_t>(k) * static_cast<std::size_t>(k - 1) / 2;
  std::vector<int> sign_sum(n_pairs, 0), nonzero(n_pairs, 0);
  std::vector<int> rank(static_cast<std::size_t>(k));
  for (const auto& list : lists) {
    std::fill(rank.begin(), rank.end(), static_cast<int>(l));
    for (std::size_t i = 0; i < l; ++i) rank[static_cast<std::size_t>(list[i])] = static_cast<int>(i);
    std::size_t pair = 0;
    for (int a = 0; a < k; ++a) {
      const int ra = rank[static_cast<std::size_t>(a)];
      for (int b = a + 1; b < k; ++b, ++pair) {
        const int d = ra - rank[static_cast<std::size_t>(b)];
        sign_sum[pair] += (d > 0) - (d < 0);
        nonzero[pair] += d != 0;
      }
    }
  }
  double numerator = 0;
  for (std::size_t i = 0; i < n_pairs; ++i)
    numerator += (static_cast<double>(sign_sum[i]) * sign_sum[i] - nonzero[i]) / 2.0;
  const double n0 = static_cast<double>(k) * (k - 1) / 2.0;
  const double tied = static_cast<double>(k - static_cast<int>(l)) * (k - static_cast<int>(l) - 1) / 2.0;
  const double pairs_of_lists = static_cast<double>(m) * (static_cast<double>(m) - 1) / 2.0;
  if (n0 - tied <= 0) return std::nan("");
  return numerator / (n0 - tied) / pairs_of_lists;
}

}  // namespace

void PositionAccumulator::init(int k) {
  k_ = k;
  top1_ = ReplicatedSums(static_cast<std::size_t>(k), replicates_);
  agreement_ = ReplicatedSums(3, replicates_);
  positive_hits_.assign(static_cast<std::size_t>(k), 0);
  positive_ndcg_.assign(static_cast<std::size_t>(k), MomentSums());
  transition_.assign(static_cast<std::size_t>(k * k), 0);
}

void PositionAccumulator::add(const BaseOutcome& o) {
  const int k = static_cast<int>(o.base->request.candidates.size());
  if (k_ == 0) init(k);
  if (k != k_)
    throw BadInput(fmt::format("position audit: request {} has {} candidates, others have {}; use one K per audit",
                               o.base->request.id, k, k_));
  ++requests_;
  const auto& weights = *o.weights;
  std::vector<double> top1(static_cast<std::size_t>(k), 0.0);
  std::vector<std::vector<int>> lists;
  bool complete = true;
  std::vector<int> first_items;
  const int positive_base = o.base->positive_position;  // base-candidate index of the positive
  for (std::size_t s = 0; s < o.plan->permuted.size(); ++s) {
    ++responses_;
    // The whole answer: tau, RBO and the transition matrix are defined on whole rankings.
    const auto& r = o.full_response(o.plan->permuted[s]);
    const auto& order = o.plan->orders[s];
    // Input position of the positive in this permutation.
    const int q = static_cast<int>(std::find(order.begin(), order.end(), positive_base) - order.begin());
    if (!usable(r)) {
      complete = false;
      continue;
    }
    ++usable_;
    if (r.first_entry_unusable) {
      ++top1_unusable_;
      complete = false;
    } else {
      top1[static_cast<std::size_t>(r.ranking[0])] += 1;
    }
    for (std::size_t rank = 0; rank < r.ranking.size() && rank < static_cast<std::size_t>(k); ++rank)
      ++transition_[static_cast<std::size_t>(r.ranking[rank] * k) + rank];
    auto list = depermute(r, order);
    if (!r.first_entry_unusable) first_items.push_back(list[0]);
    const int rank = rank_of(list, positive_base);
    const bool hit = rank > 0 && rank <= o.base->request.k;
    positive_hits_[static_cast<std::size_t>(q)] += hit;
    positive_ndcg_[static_cast<std::size_t>(q)].add(hit ? 1.0 / std::log2(rank + 1.0) : 0.0);
    lists.push_back(std::move(list));
  }
  top1_.add(weights, top1);
  if (complete && !lists.empty()) {
    ++complete_requests_;
    if (std::all_of(first_items.begin(), first_items.end(), [&](int x) { return x == first_items[0]; })) ++consistent_requests_;
  }
  if (lists.size() >= 2) {
    const bool equal_length = std::all_of(lists.begin(), lists.end(), [&](const auto& l) { return l.size() == lists[0].size(); });
    double tau = 0, rbo_sum = 0;
    const double pairs = static_cast<double>(lists.size()) * (static_cast<double>(lists.size()) - 1) / 2.0;
    std::vector<char> in_a(static_cast<std::size_t>(k), 0), in_b(static_cast<std::size_t>(k), 0);
    if (equal_length) {
      tau = mean_pairwise_tau_equal_length(lists, k);
      for (std::size_t a = 0; a < lists.size(); ++a)
        for (std::size_t b = a + 1; b < lists.size(); ++b) rbo_sum += rbo_equal_length(lists[a], lists[b], in_a, in_b);
    } else {
      for (std::size_t a = 0; a < lists.size(); ++a)
        for (std::size_t b = a + 1; b < lists.size(); ++b) {
          tau += topk_kendall_tau(lists[a], lists[b], k);
          rbo_sum += rbo(lists[a], lists[b]);
        }
      tau /= pairs;
    }
    if (std::isfinite(tau)) {
      const double values[3] = {tau, rbo_sum / pairs, 1.0};
      agreement_.add(weights, values);
    }
  }
}

void PositionAccumulator::merge(const PositionAccumulator& other) {
  if (other.k_ == 0) return;
  if (k_ == 0) {
    *this = other;
    return;
  }
  if (other.k_ != k_) throw BadInput(fmt::format("cannot merge position audits with K = {} and K = {}", k_, other.k_));
  requests_ += other.requests_;
  responses_ += other.responses_;
  usable_ += other.usable_;
  top1_unusable_ += other.top1_unusable_;
  complete_requests_ += other.complete_requests_;
  consistent_requests_ += other.consistent_requests_;
  top1_.merge(other.top1_);
  agreement_.merge(other.agreement_);
  for (std::size_t q = 0; q < positive_hits_.size(); ++q) {
    positive_hits_[q] += other.positive_hits_[q];
    positive_ndcg_[q].merge(other.positive_ndcg_[q]);
  }
  for (std::size_t i = 0; i < transition_.size(); ++i) transition_[i] += other.transition_[i];
}

double PositionAccumulator::p_value() const {
  if (k_ < 2 || usable_ - top1_unusable_ <= 0) return std::nan("");
  const auto counts = top1_.totals();
  const std::vector<double> uniform(static_cast<std::size_t>(k_), 1.0);
  return chi_square_gof(counts, uniform).p_value;
}

nlohmann::ordered_json PositionAccumulator::result(double confidence, double alpha) const {
  nlohmann::ordered_json out;
  out["k"] = k_;
  out["requests"] = requests_;
  out["responses"] = responses_;
  out["usable_responses"] = usable_;
  out["top1_unusable"] = top1_unusable_;
  out["top1_picks"] = usable_ - top1_unusable_;
  if (k_ == 0 || usable_ - top1_unusable_ <= 0) {
    out["verdict"] = "no usable responses";
    return out;
  }
  const auto counts = top1_.totals();
  const double n = static_cast<double>(usable_ - top1_unusable_);
  const double uniform = 1.0 / k_;
  nlohmann::ordered_json rates = nlohmann::ordered_json::array();
  for (int j = 0; j < k_; ++j) rates.push_back(proportion_json(counts[static_cast<std::size_t>(j)], n, confidence));
  out["selection_rate"] = rates;
  out["uniform_rate"] = uniform;
  const int k = k_;
  const auto tvd = top1_.estimate(
      [k](std::span<const double> c) {
        double total = 0, d = 0;
        for (double x : c) total += x;
        if (total <= 0) return std::nan("");
        for (double x : c) d += std::abs(x / total - 1.0 / k);
        return d / 2;
      },
      confidence);
  out["tvd"] = metric_json(tvd.value, tvd.ci, n);
  const auto ratio = top1_.estimate(
      [](std::span<const double> c) {
        const auto [lo, hi] = std::minmax_element(c.begin(), c.end());
        return *lo > 0 ? *hi / *lo : std::numeric_limits<double>::infinity();
      },
      confidence);
  out["max_min_ratio"] = metric_json(ratio.value, ratio.ci, n);
  const std::vector<double> flat(static_cast<std::size_t>(k_), 1.0);
  const auto chi = chi_square_gof(counts, flat);
  const auto g = g_test(counts, flat);
  out["chi_square"] = {{"test", chi.test}, {"statistic", chi.statistic}, {"df", chi.df}, {"p_value", chi.p_value}};
  out["g_test"] = {{"test", g.test}, {"statistic", g.statistic}, {"df", g.df}, {"p_value", g.p_value}};
  // Power against a linear primacy bias p_j = 1/K + delta (1 - 2j/(K-1)) with TVD 0.05.
  double abs_shape = 0, sq_shape = 0;
  for (int j = 0; j < k_; ++j) {
    const double shape = k_ > 1 ? 1.0 - 2.0 * j / (k_ - 1) : 0.0;
    abs_shape += std::abs(shape);
    sq_shape += shape * shape;
  }
  const double delta = abs_shape > 0 ? 2 * 0.05 / abs_shape : 0;
  const double lambda = n * delta * delta * sq_shape / uniform;
  out["power_tvd_0_05"] = k_ > 1 ? chi_square_power(k_ - 1, lambda, alpha) : 0.0;
  out["consistency"] = proportion_json(static_cast<double>(consistent_requests_), static_cast<double>(complete_requests_), confidence);
  const auto pairs = agreement_.totals();
  const auto tau = agreement_.estimate([](std::span<const double> s) { return s[2] > 0 ? s[0] / s[2] : std::nan(""); }, confidence);
  const auto rbo_mean = agreement_.estimate([](std::span<const double> s) { return s[2] > 0 ? s[1] / s[2] : std::nan(""); }, confidence);
  out["kendall_tau"] = metric_json(tau.value, tau.ci, pairs[2]);
  out["rbo"] = metric_json(rbo_mean.value, rbo_mean.ci, pairs[2]);
  nlohmann::ordered_json by_position = nlohmann::ordered_json::array();
  for (int q = 0; q < k_; ++q) {
    const auto& ndcg = positive_ndcg_[static_cast<std::size_t>(q)];
    const auto n_q = static_cast<double>(ndcg.n());
    by_position.push_back({{"position", q},
                           {"hit_rate", proportion_json(static_cast<double>(positive_hits_[static_cast<std::size_t>(q)]), n_q, confidence)},
                           {"ndcg", metric_json(ndcg.mean(), ndcg.interval(confidence), n_q)}});
  }
  out["positive_by_input_position"] = by_position;
  nlohmann::ordered_json matrix = nlohmann::ordered_json::array();
  for (int q = 0; q < k_; ++q) {
    nlohmann::ordered_json row = nlohmann::ordered_json::array();
    for (int r = 0; r < k_; ++r) row.push_back(transition_[static_cast<std::size_t>(q * k_ + r)]);
    matrix.push_back(row);
  }
  out["transition_counts"] = matrix;
  return out;
}

nlohmann::json PositionAccumulator::state() const {
  return {{"replicates", replicates_}, {"k", k_}, {"requests", requests_}, {"responses", responses_}, {"usable", usable_}, {"top1_unusable", top1_unusable_},
          {"complete_requests", complete_requests_}, {"consistent_requests", consistent_requests_},
          {"top1", k_ ? top1_.to_json() : nlohmann::json()}, {"agreement", k_ ? agreement_.to_json() : nlohmann::json()},
          {"positive_hits", positive_hits_}, {"positive_ndcg", [&] {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& m : positive_ndcg_) a.push_back(m.to_json());
            return a;
          }()}, {"transition", transition_}};
}

PositionAccumulator PositionAccumulator::from_state(const nlohmann::json& j) {
  try {
    PositionAccumulator a(j.at("replicates").get<int>());
    const int k = j.at("k").get<int>();
    if (k == 0) return a;
    a.init(k);
    a.requests_ = j.at("requests");
    a.responses_ = j.at("responses");
    a.usable_ = j.at("usable");
    a.top1_unusable_ = j.value("top1_unusable", std::int64_t{0});
    a.complete_requests_ = j.at("complete_requests");
    a.consistent_requests_ = j.at("consistent_requests");
    a.top1_ = ReplicatedSums::from_json(j.at("top1"));
    a.agreement_ = ReplicatedSums::from_json(j.at("agreement"));
    a.positive_hits_ = j.at("positive_hits").get<std::vector<std::int64_t>>();
    a.positive_ndcg_.clear();
    for (const auto& m : j.at("positive_ndcg")) a.positive_ndcg_.push_back(MomentSums::from_json(m));
    if (a.positive_hits_.size() != static_cast<std::size_t>(k) || a.positive_ndcg_.size() != static_cast<std::size_t>(k))
      throw BadInput("position audit state: per-position arrays do not have K entries");
    a.transition_ = j.at("transition").get<std::vector<std::int64_t>>();
    return a;
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("position audit state: {}", e.what()));
  }
}

}  // namespace recbias
