#include "audits/sequential.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/errors.h"

namespace recbias {
namespace {

// The grid of TVD values the lower end's bettors test: 0, 0.0005, ..., below 1.
constexpr std::size_t kGrid = 2000;
double grid_value(std::size_t g) { return static_cast<double>(g) / static_cast<double>(kGrid); }

}  // namespace

ConfidenceSequence::ConfidenceSequence(double alpha_per_side) : log_term_(std::log(1.0 / alpha_per_side)) {}

double ConfidenceSequence::next_lambda() const {
  const double t = static_cast<double>(n_ + 1);
  return std::min(std::sqrt(2.0 * log_term_ / (sigma2_prev_ * t * std::log1p(t))), 0.75);
}

void ConfidenceSequence::add(double x) {
  x = std::clamp(x, 0.0, 1.0);
  // The bet uses only what came before (predictable).
  const double lambda = next_lambda();
  ++n_;
  const double t = static_cast<double>(n_);
  sum_lambda_ += lambda;
  sum_lambda_x_ += lambda * x;
  sum_penalty_ += (x - mu_prev_) * (x - mu_prev_) * (-std::log1p(-lambda) - lambda);
  const double center = sum_lambda_x_ / sum_lambda_;
  const double margin = (log_term_ + sum_penalty_) / sum_lambda_;
  lo_ = std::max(lo_, center - margin);  // intersected over time
  hi_ = std::min(hi_, center + margin);
  // Running mean and variance with one pseudo-observation (1/2, 1/4).
  sum_x_ += x;
  const double mu = (0.5 + sum_x_) / (t + 1);
  sum_sq_ += (x - mu) * (x - mu);
  mu_prev_ = mu;
  sigma2_prev_ = (0.25 + sum_sq_) / (t + 1);
}

SequentialMonitor::SequentialMonitor(std::vector<SequentialRule> rules, double alpha) : alpha_(alpha) {
  if (rules.empty()) throw BadInput("--sequential: the policy has no rules to decide");
  for (auto& rule : rules) {
    Tracked t;
    const auto& m = rule.metric;
    if (m == "position.tvd") {
      t.kind = "tvd";
    } else if (m.starts_with("position.selection_rate.")) {
      const auto index = m.substr(std::string("position.selection_rate.").size());
      if (index.empty() || index.size() > 4 || !std::all_of(index.begin(), index.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw BadInput(fmt::format("--sequential: rule \"{}\": metric {}: expected position.selection_rate.<position>", rule.name, m));
      t.kind = "rate";
      t.position = std::stoi(index);
    } else if (m == "accuracy.hit_rate" || m == "accuracy.ndcg") {
      t.kind = m.substr(9);
    } else {
      throw BadInput(fmt::format("--sequential: rule \"{}\": metric {} has no confidence sequence; sequential rules may gate "
                                 "position.tvd, position.selection_rate.<J>, accuracy.hit_rate and accuracy.ndcg",
                                 rule.name, m));
    }
    if (!rule.max && !rule.min && !rule.width)
      throw BadInput(fmt::format("--sequential: rule \"{}\": give max or min (ratio and regression rules are not sequential)", rule.name));
    if (rule.width && !(*rule.width > 0))
      throw BadInput(fmt::format("--target-width {}={}: expected a width > 0", rule.metric, *rule.width));
    t.rule = std::move(rule);
    tracked_.push_back(std::move(t));
  }
}

void SequentialMonitor::add(const BaseOutcome& o) {
  ++users_;
  const int k = static_cast<int>(o.base->request.candidates.size());
  const double level = alpha_ / static_cast<double>(tracked_.size());
  if (k_ == 0) {
    k_ = k;
    for (auto& t : tracked_) {
      const std::size_t count = t.kind == "tvd" ? static_cast<std::size_t>(k) : 1;
      // One side per decision: tvd's lower end at level/2 and its K upper ends at level/(2K); other metrics both ends at level/2.
      t.sequences.assign(count, ConfidenceSequence(t.kind == "tvd" ? level / (2.0 * k) : level / 2));
      if (t.kind == "tvd") {
        t.directional.emplace(level / 2);
        t.share_sums.assign(static_cast<std::size_t>(k), 0.0);
        t.log_capital.assign(kGrid, 0.0);
        t.applied.assign(kGrid, 0);
      }
      if (t.kind == "rate" && t.position >= k)
        throw BadInput(fmt::format("--sequential: rule \"{}\": position {} of {} candidates", t.rule.name, t.position, k));
    }
  }
  // This user's top-1 picks by position (position audit) and the identity answer's hit (accuracy).
  std::vector<double> picks(static_cast<std::size_t>(k), 0.0);
  double total = 0;
  for (auto call : o.plan->permuted) {
    const auto& r = o.full_response(call);
    if (!usable(r) || r.first_entry_unusable) continue;
    picks[static_cast<std::size_t>(r.ranking[0])] += 1;
    total += 1;
  }
  const auto& identity = o.response(o.plan->identity);
  std::optional<double> hit, ndcg;
  if (usable(identity)) {
    const int rank = rank_of(identity.ranking, o.base->positive_position);
    const bool in = rank > 0 && rank <= o.base->request.k;
    hit = in ? 1.0 : 0.0;
    ndcg = in ? 1.0 / std::log2(rank + 1.0) : 0.0;
  }
  for (auto& t : tracked_) {
    if (t.kind == "tvd" && total > 0) {
      // y = this user's share of picks in S, the positions above 1/K among the users before.
      const double seen = static_cast<double>(t.sequences[0].n());
      double y = 0, offset = 0;
      for (int j = 0; j < k; ++j) {
        const auto jj = static_cast<std::size_t>(j);
        if (seen > 0 && t.share_sums[jj] / seen > 1.0 / k) {
          y += picks[jj] / total;
          offset += 1.0 / k;
        }
      }
      // Each bettor's stake: the PrPl-EB bet, capped so that capital stays positive.
      const double bet = t.directional->next_lambda();
      const double threshold = std::log(2.0 * static_cast<double>(tracked_.size()) / alpha_);  // 1 / (a/2), a = alpha / rules
      t.bets.push_back({bet, y, offset});
      for (; t.excluded < kGrid; ++t.excluded) {
        const std::size_t g = t.excluded;
        const double d = grid_value(g);
        for (auto& i = t.applied[g]; i < t.bets.size(); ++i) {
          const auto& b = t.bets[i];
          const double lambda = b.offset + d > 0 ? std::min(b.lambda_cap, 0.75 / (b.offset + d)) : b.lambda_cap;
          t.log_capital[g] += std::log1p(lambda * (b.y - b.offset - d));
        }
        if (t.log_capital[g] < threshold) break;
      }
      t.directional->add(y);
      for (int j = 0; j < k; ++j) {
        const auto jj = static_cast<std::size_t>(j);
        t.sequences[jj].add(picks[jj] / total);
        t.share_sums[jj] += picks[jj] / total;
      }
    } else if (t.kind == "rate" && total > 0) {
      t.sequences[0].add(picks[static_cast<std::size_t>(t.position)] / total);
    } else if (t.kind == "hit_rate" && hit) {
      t.sequences[0].add(*hit);
    } else if (t.kind == "ndcg" && ndcg) {
      t.sequences[0].add(*ndcg);
    }
    update(t);
  }
}

void SequentialMonitor::update(Tracked& t) {
  if (t.kind == "tvd") {
    // TVD = sum_j (s_j - 1/K)+ is increasing in each s_j: bounds from the
    // simultaneous per-position bounds.
    double lo = 0, hi = 0;
    for (const auto& s : t.sequences) {
      lo += std::max(0.0, s.lo() - 1.0 / k_);
      hi += std::max(0.0, s.hi() - 1.0 / k_);
    }
    const double betting = t.excluded > 0 ? grid_value(t.excluded - 1) : 0.0;
    t.lo = std::max({lo, betting, t.lo});
    t.hi = std::min(hi, 1.0 - 1.0 / k_);
  } else {
    t.lo = t.sequences[0].lo();
    t.hi = t.sequences[0].hi();
  }
  if (t.decision != SequentialDecision::kUndecided) return;  // intervals only shrink: a decision stands
  if (t.rule.width) {
    if (t.hi - t.lo <= *t.rule.width) t.decision = SequentialDecision::kPass;
    return;
  }
  const bool fails = (t.rule.max && t.lo > *t.rule.max) || (t.rule.min && t.hi < *t.rule.min);
  const bool passes = (!t.rule.max || t.hi <= *t.rule.max) && (!t.rule.min || t.lo >= *t.rule.min);
  if (fails) t.decision = SequentialDecision::kFail;
  else if (passes) t.decision = SequentialDecision::kPass;
}

bool SequentialMonitor::decided() const {
  return std::all_of(tracked_.begin(), tracked_.end(), [](const Tracked& t) { return t.decision != SequentialDecision::kUndecided; });
}

int SequentialMonitor::exit_code() const {
  bool undecided = false;
  for (const auto& t : tracked_) {
    if (t.decision == SequentialDecision::kFail) return 1;
    undecided = undecided || t.decision == SequentialDecision::kUndecided;
  }
  return undecided ? 3 : 0;
}

nlohmann::ordered_json SequentialMonitor::result() const {
  nlohmann::ordered_json rules = nlohmann::ordered_json::array();
  for (const auto& t : tracked_) {
    std::string bound;
    if (t.rule.max) bound = fmt::format("max {}", *t.rule.max);
    if (t.rule.min) bound += fmt::format("{}min {}", bound.empty() ? "" : ", ", *t.rule.min);
    if (t.rule.width) bound = fmt::format("width <= {}", *t.rule.width);
    const auto decision = t.decision == SequentialDecision::kPass   ? (t.rule.width ? "precise" : "pass")
                          : t.decision == SequentialDecision::kFail ? "fail"
                                                                    : "undecided";
    rules.push_back({{"name", t.rule.name}, {"metric", t.rule.metric}, {"bound", bound}, {"interval", {t.lo, t.hi}},
                     {"n", t.sequences.empty() ? 0 : t.sequences[0].n()}, {"decision", decision}});
  }
  return {{"method", "predictable plug-in empirical-Bernstein confidence sequences, intersected over time, at alpha / rules per rule "
                     "(position.tvd: its lower end from the share of picks in the positions above 1/K so far, at alpha / (2 rules); its "
                     "upper end from the K selection rates at alpha / (2 rules K) each)"},
          {"source", "Waudby-Smith and Ramdas, Estimating means of bounded random variables by betting, JRSS-B 86(1), 2024, Theorem 2"},
          {"alpha", alpha_},
          {"users", users_},
          {"rules", rules}};
}

}  // namespace recbias
