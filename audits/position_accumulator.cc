#include "audits/position_accumulator.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "audits/list_similarity.h"
#include "audits/tvd_inversion.h"
#include "core/errors.h"
#include "core/rng.h"

namespace recbias {
namespace {

// Per complete request: the mean Kendall tau-b and RBO over pairs of orders, and the count of requests.
enum AgreementSlot : std::size_t { kAgreementTau, kAgreementRbo, kAgreementRequests, kAgreementSlots };

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

// E|X| / sigma for X ~ N(mu, sigma^2), as a function of x = mu / sigma >= 0:
// g(x) = sqrt(2/pi) exp(-x^2/2) + x (1 - 2 Phi(-x)); increasing, g(0) = 0.798.
double folded_normal_mean(double x) {
  return std::sqrt(2.0 / M_PI) * std::exp(-x * x / 2) + x * std::erf(x / std::sqrt(2.0));
}

// The x >= 0 with g(x) = y (0 when y <= g(0)): the |mu| whose folded normal
// mean is what was observed. Tabulated once; beyond x = 8, g(x) = x.
double invert_folded_normal_mean(double y) {
  static const std::vector<double> table = [] {
    std::vector<double> t(4097);
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = folded_normal_mean(8.0 * static_cast<double>(i) / 4096.0);
    return t;
  }();
  if (!(y > table.front())) return 0.0;
  if (y >= table.back()) return y;
  const auto it = std::upper_bound(table.begin(), table.end(), y);
  const auto i = static_cast<std::size_t>(it - table.begin());
  const double x0 = 8.0 * static_cast<double>(i - 1) / 4096.0, x1 = 8.0 * static_cast<double>(i) / 4096.0;
  return x0 + (x1 - x0) * (y - table[i - 1]) / (table[i] - table[i - 1]);
}

// TVD with each |s_j - 1/K| deconvolved: mu_j solves E|mu_j + e_j| = |s_j - 1/K|
// for e_j ~ N(0, V_jj) (method of moments per position), TVD_mm = sum mu_j / 2.
double moment_matched_tvd(std::span<const double> rates, std::span<const double> sd, std::vector<double>* mu = nullptr) {
  const double k = static_cast<double>(rates.size());
  double total = 0;
  for (std::size_t j = 0; j < rates.size(); ++j) {
    const double d = std::abs(rates[j] - 1.0 / k);
    const double m = sd[j] > 0 ? sd[j] * invert_folded_normal_mean(d / sd[j]) : d;
    if (mu) (*mu)[j] = m;
    total += m;
  }
  return total / 2;
}

}  // namespace

void PositionAccumulator::init(int k) {
  k_ = k;
  top1_ = ReplicatedSums(static_cast<std::size_t>(k), replicates_);
  agreement_ = ReplicatedSums(kAgreementSlots, replicates_);
  positive_hits_.assign(static_cast<std::size_t>(k), 0);
  positive_ndcg_.assign(static_cast<std::size_t>(k), MomentSums());
  transition_.assign(static_cast<std::size_t>(k * k), 0);
  cross_.assign(static_cast<std::size_t>(k * k), 0);
  positive_transition_.assign(static_cast<std::size_t>(k * (k + 1)), 0);
  probability_ = ReplicatedSums(static_cast<std::size_t>(k + 1), replicates_);
}

namespace {

// softmax(scores) added to probability[0..K), and 1 to probability[K]; false
// (nothing added) when no score is finite. Masked (-inf) scores get 0.
bool add_softmax(const std::vector<float>& scores, std::vector<double>& probability) {
  double top = -std::numeric_limits<double>::infinity();
  for (float s : scores)
    if (std::isfinite(s)) top = std::max(top, static_cast<double>(s));
  if (!std::isfinite(top)) return false;
  double z = 0;
  for (float s : scores) z += std::isfinite(s) ? std::exp(static_cast<double>(s) - top) : 0.0;
  for (std::size_t j = 0; j < scores.size(); ++j)
    if (std::isfinite(scores[j])) probability[j] += std::exp(static_cast<double>(scores[j]) - top) / z;
  probability.back() += 1;
  return true;
}

}  // namespace

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
  std::vector<double> probability(static_cast<std::size_t>(k + 1), 0.0);
  bool scored = false;
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
    if (r.scores && r.scores->size() == static_cast<std::size_t>(k)) scored |= add_softmax(*r.scores, probability);
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
    ++positive_transition_[static_cast<std::size_t>(q * (k + 1) + (rank > 0 && rank <= k ? rank - 1 : k))];
    lists.push_back(std::move(list));
  }
  top1_.add(weights, top1);
  if (scored) probability_.add(weights, probability);
  // This user's picks by position, for the cluster-robust covariance.
  bool picked = false;
  for (int j = 0; j < k; ++j) {
    const auto yj = static_cast<std::int64_t>(top1[static_cast<std::size_t>(j)]);
    if (yj == 0) continue;
    picked = true;
    for (int i = 0; i < k; ++i)
      cross_[static_cast<std::size_t>(j * k + i)] += yj * static_cast<std::int64_t>(top1[static_cast<std::size_t>(i)]);
  }
  picking_users_ += picked;
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
      for (std::size_t a = 0; a < lists.size(); ++a)
        for (std::size_t b = a + 1; b < lists.size(); ++b) rbo_sum += rbo_equal_length(lists[a], lists[b], in_a, in_b);
    } else {
      for (std::size_t a = 0; a < lists.size(); ++a)
        for (std::size_t b = a + 1; b < lists.size(); ++b) rbo_sum += rbo(lists[a], lists[b]);
    }
    tau = mean_pairwise_topk_tau(lists, k);
    if (std::isfinite(tau)) {
      double values[kAgreementSlots];
      values[kAgreementTau] = tau;
      values[kAgreementRbo] = rbo_sum / pairs;
      values[kAgreementRequests] = 1.0;
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
  probability_.merge(other.probability_);
  for (std::size_t q = 0; q < positive_hits_.size(); ++q) {
    positive_hits_[q] += other.positive_hits_[q];
    positive_ndcg_[q].merge(other.positive_ndcg_[q]);
  }
  for (std::size_t i = 0; i < transition_.size(); ++i) transition_[i] += other.transition_[i];
  for (std::size_t i = 0; i < cross_.size(); ++i) cross_[i] += other.cross_[i];
  for (std::size_t i = 0; i < positive_transition_.size(); ++i) positive_transition_[i] += other.positive_transition_[i];
  picking_users_ += other.picking_users_;
}

PositionAccumulator::Inference PositionAccumulator::inference() const {
  Inference in;
  const auto k = static_cast<std::size_t>(k_);
  const auto counts = top1_.totals();
  in.picks = 0;
  for (double c : counts) in.picks += c;
  if (k_ < 2 || in.picks <= 0) return in;
  in.rates.resize(k);
  for (std::size_t j = 0; j < k; ++j) in.rates[j] = counts[j] / in.picks;
  // Linearised covariance of the ratio estimators s_j = Y_j / N over users:
  // V_jk = U/(U-1) sum_u z_uj z_uk / N^2, z_uj = Y_uj - s_j n_u, expanded
  // into the kept sums S_jk = sum_u Y_uj Y_uk (T_j = sum_k S_jk = sum_u Y_uj n_u,
  // Q = sum_jk S_jk = sum_u n_u^2).
  std::vector<double> t(k, 0.0);
  double q = 0;
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t i = 0; i < k; ++i) {
      t[j] += static_cast<double>(cross_[j * k + i]);
      q += static_cast<double>(cross_[j * k + i]);
    }
  const double u = static_cast<double>(picking_users_);
  const double factor = u > 1 ? u / (u - 1) / (in.picks * in.picks) : 0.0;
  in.covariance.assign(k * k, 0.0);
  for (std::size_t j = 0; j < k; ++j)
    for (std::size_t i = 0; i < k; ++i) {
      const double s = static_cast<double>(cross_[j * k + i]) - in.rates[i] * t[j] - in.rates[j] * t[i] + in.rates[j] * in.rates[i] * q;
      in.covariance[j * k + i] = factor * s;
    }
  const std::vector<double> uniform(k, 1.0 / k_);
  in.test = rao_scott_gof(in.rates, in.covariance, in.picks, uniform, &in.design_effect, &in.scale);
  return in;
}

ReplicatedValue PositionAccumulator::tvd_replicated(const Inference& in) const {
  const auto k = static_cast<std::size_t>(k_);
  // The standard deviations V_jj stay fixed over the replicates.
  std::vector<double> sd(k);
  for (std::size_t j = 0; j < k; ++j) sd[j] = std::sqrt(std::max(0.0, in.covariance[j * k + j]));
  ReplicatedValue out;
  out.value = moment_matched_tvd(in.rates, sd);
  for (int r = 0; r < top1_.replicates(); ++r) {
    auto c = top1_.replicate(r);
    double total = 0;
    for (double x : c) total += x;
    if (total <= 0) {
      out.replicates.push_back(std::nan(""));
      continue;
    }
    for (auto& x : c) x /= total;
    out.replicates.push_back(moment_matched_tvd(c, sd));
  }
  return out;
}

ReplicatedValue PositionAccumulator::tvd_inversion_replicated(const Inference& in) const {
  const auto k = static_cast<std::size_t>(k_);
  TvdInversionOptions options;
  options.detected = false;  // the estimate does not depend on it
  std::vector<double> plugins;
  for (int r = 0; r < top1_.replicates(); ++r) {
    const auto c = top1_.replicate(r);
    double total = 0;
    for (double x : c) total += x;
    if (!(total > 0)) {
      plugins.push_back(std::nan(""));
      continue;
    }
    double deviation = 0;
    for (double x : c) deviation += std::abs(x / total - 1.0 / static_cast<double>(k));
    plugins.push_back(deviation / 2);
  }
  ReplicatedValue out;
  out.replicates = invert_tvd_estimates(in.rates, in.covariance, plugins, options, &out.value);
  return out;
}

void PositionAccumulator::replicated(std::map<std::string, ReplicatedValue>& out, TvdInterval method) const {
  if (k_ < 2 || usable_ - top1_unusable_ <= 0) return;
  const auto in = inference();
  out["position.tvd"] = method == TvdInterval::kInversion ? tvd_inversion_replicated(in) : tvd_replicated(in);
}

double PositionAccumulator::p_value() const {
  if (k_ < 2 || usable_ - top1_unusable_ <= 0) return std::nan("");
  return inference().test.p_value;
}

nlohmann::ordered_json PositionAccumulator::result(double confidence, double alpha, double p_adjusted, int family_size,
                                                   TvdInterval method) const {
  nlohmann::ordered_json out;
  out["k"] = k_;
  out["requests"] = requests_;
  out["responses"] = responses_;
  out["usable_responses"] = usable_;
  out["top1_unusable"] = top1_unusable_;
  out["top1_picks"] = usable_ - top1_unusable_;
  out["users"] = picking_users_;
  if (k_ == 0 || usable_ - top1_unusable_ <= 0) {
    out["verdict"] = "no usable responses";
    return out;
  }
  const auto in = inference();
  const auto counts = top1_.totals();
  const double n = in.picks;
  const double uniform = 1.0 / k_;
  const auto k = static_cast<std::size_t>(k_);
  nlohmann::ordered_json rates = nlohmann::ordered_json::array();
  double e0 = 0;
  for (std::size_t j = 0; j < k; ++j) {
    const double variance = std::max(0.0, in.covariance[j * k + j]);
    rates.push_back(metric_json(in.rates[j], wilson_interval_effective(in.rates[j], variance, n, confidence), n));
    e0 += std::sqrt(variance);
  }
  e0 *= 0.5 * std::sqrt(2.0 / M_PI);
  out["selection_rate"] = rates;
  // Per position: V(s_j) over the binomial variance s_j (1 - s_j) / N (1 = independent picks).
  nlohmann::ordered_json deff = nlohmann::ordered_json::array();
  for (std::size_t j = 0; j < k; ++j) {
    const double binomial = in.rates[j] * (1 - in.rates[j]) / n;
    deff.push_back(binomial > 0 ? std::max(0.0, in.covariance[j * k + j]) / binomial : 1.0);
  }
  out["selection_rate_design_effect"] = deff;
  out["selection_rate_interval"] = "cluster-robust (users as units): Wilson at the effective sample size";
  out["uniform_rate"] = uniform;
  out["design_effect"] = in.design_effect;

  // TVD: the plug-in, E0, and a corrected estimate with its interval, or a
  // one-sided bound [0, u] when the test does not reject. Two methods
  // (README, "TVD, E0 and the corrected estimate"):
  //  - inversion (default): test inversion calibrated at the nearest rates
  //    with each TVD (audits/tvd_inversion.h), a median-unbiased estimate;
  //  - moment: the moment-matched estimate (moment_matched_tvd) with a normal
  //    interval whose spread is that of the same estimator over the users'
  //    Poisson bootstrap replicates (V_jj fixed).
  double plugin = 0;
  for (std::size_t j = 0; j < k; ++j) plugin += std::abs(in.rates[j] - uniform);
  plugin /= 2;
  const bool detected = p_adjusted < alpha;
  double corrected = 0;
  Interval tvd_ci;
  if (method == TvdInterval::kInversion) {
    TvdInversionOptions inversion;
    inversion.confidence = confidence;
    inversion.test_level = alpha / std::max(1, family_size);
    inversion.detected = detected;
    const auto inverted = invert_tvd(in.rates, in.covariance, inversion);
    corrected = inverted.estimate;
    tvd_ci = {inverted.lo, inverted.hi};
  } else {
    const auto replicated_tvd = tvd_replicated(in);
    corrected = replicated_tvd.value;
    std::vector<double> reps;
    for (double v : replicated_tvd.replicates)
      if (std::isfinite(v)) reps.push_back(v);
    double half = 0;
    if (reps.size() >= 2) {
      double mean = 0, var = 0;
      for (double v : reps) mean += v;
      mean /= static_cast<double>(reps.size());
      for (double v : reps) var += (v - mean) * (v - mean);
      half = normal_quantile(1 - (1 - confidence) / 2) * std::sqrt(var / static_cast<double>(reps.size() - 1));
    }
    tvd_ci = {std::max(0.0, corrected - half), corrected + half};
    if (!detected) tvd_ci = {0.0, corrected + half};
  }
  out["tvd"] = metric_json(corrected, tvd_ci, n);
  const bool inverted = method == TvdInterval::kInversion;
  if (detected)
    out["tvd_interval"] = inverted ? "test inversion calibrated at the nearest rates with each TVD (median-unbiased estimate), truncated at 0"
                                   : "moment-matched estimate +- z SD over the bootstrap replicates, truncated at 0";
  else
    out["tvd_interval"] = inverted ? "one-sided bound [0, u]: the test did not reject (test inversion; median-unbiased estimate)"
                                   : "one-sided bound [0, u]: the test did not reject (moment-matched estimate)";
  out["tvd_plugin"] = plugin;
  out["tvd_e0"] = e0;
  if (probability_.total(static_cast<std::size_t>(k_)) > 0) {
    nlohmann::ordered_json mean_probability = nlohmann::ordered_json::array();
    const double scored = probability_.total(static_cast<std::size_t>(k_));
    for (std::size_t j = 0; j < k; ++j) {
      const auto e = probability_.estimate([j, k](std::span<const double> s) { return s[k] > 0 ? s[j] / s[k] : std::nan(""); }, confidence);
      mean_probability.push_back(metric_json(e.value, e.ci, scored));
    }
    out["mean_probability"] = mean_probability;
    out["mean_probability_note"] = "the model's own probability of picking each presented position: softmax of its scores, "
                                   "averaged over scored responses (percentile bootstrap over users); calibrate-position's prior";
  }

  const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
  out["max_min_ratio"] = metric_json(*lo > 0 ? *hi / *lo : std::numeric_limits<double>::infinity(), {std::nan(""), std::nan("")}, n);
  out["max_min_ratio_note"] = "descriptive: a ratio of extreme order statistics, no interval";
  out["chi_square"] = {{"test", in.test.test}, {"statistic", in.test.statistic}, {"df", in.test.df}, {"p_value", in.test.p_value},
                       {"p_adjusted", p_adjusted}, {"family_size", family_size}, {"design_effect", in.design_effect}};
  const std::vector<double> flat(k, 1.0);
  const auto g = g_test(counts, flat);
  out["g_test"] = {{"test", "G-test (unadjusted; assumes independent picks)"}, {"statistic", g.statistic}, {"df", g.df}, {"p_value", g.p_value}};

  // Power of the Rao–Scott test at the verdict's level (Holm's first step over
  // the position family) against the least-favourable TVD-0.05 shape.
  const double level = alpha / std::max(1, family_size);
  const double a = std::floor(k_ / 2.0), b = std::ceil(k_ / 2.0);
  const double lambda = n * k_ * 0.05 * 0.05 * (1 / a + 1 / b);
  double power = 1.0;  // no (or negligible) sampling variance: any bias is seen exactly
  // Beyond a noncentrality of 10^4 the power is 1 to double precision (and
  // Boost's series would overflow).
  if (in.scale > 0 && lambda / in.scale < 1e4) power = chi_square_power(in.test.df, lambda / in.scale, level);
  out["power_tvd_0_05"] = power;
  out["power_against"] = fmt::format("any bias of TVD 0.05 (least-favourable shape), Rao-Scott test at level {:.3g}", level);
  if (detected)
    out["verdict"] = fmt::format("position bias detected: TVD {:.3f} [{:.3f}, {:.3f}] (plug-in {:.3f}, {:.3f} expected with no bias; "
                                 "p_adj = {:.2g}, family of {}; N = {:.0f} picks from {} users)",
                                 corrected, tvd_ci.lo, tvd_ci.hi, plugin, e0, p_adjusted, family_size, n, picking_users_);
  else
    out["verdict"] = fmt::format("not detected at N = {:.0f} picks from {} users (p_adj = {:.2g}): TVD <= {:.3f}; power >= {:.2f} "
                                 "against any TVD-0.05 bias",
                                 n, picking_users_, p_adjusted, tvd_ci.hi, power);

  out["consistency"] = proportion_json(static_cast<double>(consistent_requests_), static_cast<double>(complete_requests_), confidence);
  const auto pairs = agreement_.totals();
  auto mean_of = [](std::size_t i) {
    return [i](std::span<const double> s) { return s[kAgreementRequests] > 0 ? s[i] / s[kAgreementRequests] : std::nan(""); };
  };
  const auto tau = agreement_.estimate(mean_of(kAgreementTau), confidence);
  const auto rbo_mean = agreement_.estimate(mean_of(kAgreementRbo), confidence);
  out["kendall_tau"] = metric_json(tau.value, tau.ci, pairs[kAgreementRequests]);
  out["rbo"] = metric_json(rbo_mean.value, rbo_mean.ci, pairs[kAgreementRequests]);
  nlohmann::ordered_json by_position = nlohmann::ordered_json::array();
  for (int qpos = 0; qpos < k_; ++qpos) {
    const auto& ndcg = positive_ndcg_[static_cast<std::size_t>(qpos)];
    const auto n_q = static_cast<double>(ndcg.n());
    by_position.push_back({{"position", qpos},
                           {"hit_rate", proportion_json(static_cast<double>(positive_hits_[static_cast<std::size_t>(qpos)]), n_q, confidence)},
                           {"ndcg", metric_json(ndcg.mean(), ndcg.interval(confidence), n_q)}});
  }
  out["positive_by_input_position"] = by_position;
  nlohmann::ordered_json matrix = nlohmann::ordered_json::array(), gt = nlohmann::ordered_json::array();
  for (int qpos = 0; qpos < k_; ++qpos) {
    nlohmann::ordered_json row = nlohmann::ordered_json::array(), gt_row = nlohmann::ordered_json::array();
    for (int r = 0; r < k_; ++r) row.push_back(transition_[static_cast<std::size_t>(qpos * k_ + r)]);
    for (int r = 0; r <= k_; ++r) gt_row.push_back(positive_transition_[static_cast<std::size_t>(qpos * (k_ + 1) + r)]);
    matrix.push_back(row);
    gt.push_back(gt_row);
  }
  out["transition_counts"] = matrix;
  out["positive_transition_counts"] = gt;
  return out;
}

nlohmann::json PositionAccumulator::state() const {
  return {{"replicates", replicates_}, {"k", k_}, {"requests", requests_}, {"responses", responses_}, {"usable", usable_}, {"top1_unusable", top1_unusable_}, {"picking_users", picking_users_},
          {"complete_requests", complete_requests_}, {"consistent_requests", consistent_requests_},
          {"top1", k_ ? top1_.to_json() : nlohmann::json()}, {"agreement", k_ ? agreement_.to_json() : nlohmann::json()},
          {"positive_hits", positive_hits_}, {"positive_ndcg", [&] {
            nlohmann::json a = nlohmann::json::array();
            for (const auto& m : positive_ndcg_) a.push_back(m.to_json());
            return a;
          }()}, {"transition", transition_}, {"cross", cross_}, {"positive_transition", positive_transition_},
          {"probability", k_ && probability_.total(static_cast<std::size_t>(k_)) > 0 ? probability_.to_json() : nlohmann::json()}};
}

PositionAccumulator PositionAccumulator::from_state(const nlohmann::json& j) {
  try {
    PositionAccumulator a(j.at("replicates").get<int>());
    const int k = j.at("k").get<int>();
    if (k < 0 || a.replicates_ < 0)
      throw BadInput(fmt::format("position audit state: k {} and replicates {}: expected numbers >= 0", k, a.replicates_));
    if (k == 0) return a;
    // Sizes are checked against the file before anything is allocated, so a
    // state cannot make recbias allocate more than the file itself holds.
    if (j.at("positive_hits").size() != static_cast<std::size_t>(k) ||
        j.at("transition").size() != static_cast<std::size_t>(k) * static_cast<std::size_t>(k))
      throw BadInput(fmt::format("position audit state: k {}: the per-position arrays and matrices do not have K and K x K entries", k));
    // The sums' own reader checks them against the file; their shape must then be K by the audit's replicates.
    auto top1 = ReplicatedSums::from_json(j.at("top1"));
    if (top1.size() != static_cast<std::size_t>(k) || top1.replicates() != a.replicates_)
      throw BadInput(fmt::format("position audit state: top-1 sums of {} positions x {} replicates, expected {} x {}", top1.size(),
                                 top1.replicates(), k, a.replicates_));
    for (double c : top1.totals())
      if (c < 0) throw BadInput(fmt::format("position audit state: a top-1 count is {}: expected counts >= 0", c));
    a.init(k);
    a.requests_ = j.at("requests");
    a.responses_ = j.at("responses");
    a.usable_ = j.at("usable");
    a.top1_unusable_ = j.value("top1_unusable", std::int64_t{0});
    a.complete_requests_ = j.at("complete_requests");
    a.consistent_requests_ = j.at("consistent_requests");
    a.top1_ = std::move(top1);
    a.agreement_ = ReplicatedSums::from_json(j.at("agreement"));
    a.positive_hits_ = j.at("positive_hits").get<std::vector<std::int64_t>>();
    a.positive_ndcg_.clear();
    for (const auto& m : j.at("positive_ndcg")) a.positive_ndcg_.push_back(MomentSums::from_json(m));
    if (a.positive_hits_.size() != static_cast<std::size_t>(k) || a.positive_ndcg_.size() != static_cast<std::size_t>(k))
      throw BadInput("position audit state: per-position arrays do not have K entries");
    a.transition_ = j.at("transition").get<std::vector<std::int64_t>>();
    a.picking_users_ = j.at("picking_users").get<std::int64_t>();
    for (const auto count : {a.requests_, a.responses_, a.usable_, a.top1_unusable_, a.complete_requests_, a.consistent_requests_,
                             a.picking_users_})
      if (count < 0) throw BadInput(fmt::format("position audit state: a count is {}: expected counts >= 0", count));
    if (a.consistent_requests_ > a.complete_requests_ || a.top1_unusable_ > a.usable_ || a.usable_ > a.responses_)
      throw BadInput("position audit state: counts out of order (expected consistent <= complete requests, "
                     "top-1 unusable <= usable <= responses)");
    for (std::size_t q = 0; q < a.positive_hits_.size(); ++q)
      if (a.positive_hits_[q] < 0 || a.positive_hits_[q] > a.positive_ndcg_[q].n())
        throw BadInput(fmt::format("position audit state: position {}: {} hits of {} held-out items", q, a.positive_hits_[q],
                                   a.positive_ndcg_[q].n()));
    a.cross_ = j.at("cross").get<std::vector<std::int64_t>>();
    a.positive_transition_ = j.at("positive_transition").get<std::vector<std::int64_t>>();
    // Absent or null (no scored response, or a state written before the key existed): zeros.
    if (j.contains("probability") && !j.at("probability").is_null()) {
      a.probability_ = ReplicatedSums::from_json(j.at("probability"));
      if (a.probability_.size() != static_cast<std::size_t>(k + 1) || a.probability_.replicates() != a.replicates_)
        throw BadInput("position audit state: probability does not have K + 1 sums with the audit's replicates");
    }
    const auto kk = static_cast<std::size_t>(k) * static_cast<std::size_t>(k);
    if (a.transition_.size() != kk || a.cross_.size() != kk || a.positive_transition_.size() != kk + static_cast<std::size_t>(k))
      throw BadInput("position audit state: matrices do not have K x K (and K x (K + 1)) entries");
    return a;
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("position audit state: {}", e.what()));
  }
}

}  // namespace recbias
