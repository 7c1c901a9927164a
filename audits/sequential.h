// Audits that stop when decided (`recbias audit --sequential --policy P`):
// after each chunk of users, anytime-valid confidence sequences for the
// gated metrics are updated, and the audit stops once every rule is decided.
//
// Method: the predictable plug-in empirical-Bernstein confidence sequence
// (PrPl-EB) of Waudby-Smith and Ramdas, "Estimating means of bounded random
// variables by betting", JRSS-B 86(1), 2024, Theorem 2, for the mean of
// per-user values in [0, 1]: with mu_hat and sigma2_hat the running mean
// and variance with one pseudo-observation (1/2, 1/4),
//   lambda_t = min(sqrt(2 log(1/a) / (sigma2_hat_{t-1} t log(1 + t))), 3/4)
//   C_t = sum lambda_i x_i / sum lambda_i
//         +- (log(1/a) + sum (x_i - mu_hat_{i-1})^2 psi(lambda_i)) / sum lambda_i,
//   psi(l) = -log(1 - l) - l,
// intersected over time, each end at level a (one-sided; the interval at
// 2a). With probability 1 - 2a it covers the mean at every
// t at once, so looking after every chunk and stopping at will keeps it
// valid (a fixed-n interval looked at repeatedly does not).
//
// Metrics with a sequence (per-user values, users as independent units):
//   position.selection_rate.J  a user's share of top-1 picks at position J
//   position.tvd               lower end: TVD = max over position sets S of
//                              sum_S (s_j - 1/K). With S_i the positions
//                              above 1/K among the users before i (so S_i is
//                              predictable), y_i = sum_{S_i} x_ij has
//                              conditional mean |S_i|/K + d_i, d_i <= TVD.
//                              For each d on a grid, the bettor's capital
//                              prod (1 + l_i (y_i - |S_i|/K - d)), l_i >= 0
//                              predictable, is a nonnegative supermartingale
//                              while every d_i <= d, so by Ville's inequality
//                              it reaches 1/(a/2) with probability <= a/2 at
//                              d = TVD: the d's it reached (and all below
//                              them) are excluded, the rest is the lower end
//                              (the betting construction of the same paper,
//                              Section 4, with the PrPl-EB bets).
//                              Upper end: the K selection-rate sequences'
//                              upper ends at a / (2K) each,
//                              sum_j (hi_j - 1/K)+ (conservative: passing a
//                              TVD rule takes many more users than failing).
//   accuracy.hit_rate, accuracy.ndcg   the identity answer's
// The sequences estimate per-user means; they equal the audit's pooled
// rates when every user's answers are usable. Rules: max / min bounds, each
// rule at a / R (Bonferroni over the R rules). A max rule fails when the
// sequence's lower end exceeds the bound and passes when its upper end is
// at or below it (min rules mirror this). A width rule is decided when the
// interval is at most its width.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/outcome.h"

namespace recbias {

// PrPl-EB for values in [0, 1]: each end holds at every t with probability
// 1 - alpha_per_side (the interval, 1 - 2 alpha_per_side).
class ConfidenceSequence {
 public:
  explicit ConfidenceSequence(double alpha_per_side);
  void add(double x);
  std::int64_t n() const { return n_; }
  double lo() const { return lo_; }
  double hi() const { return hi_; }

 private:
  double log_term_;
  std::int64_t n_ = 0;
  double sum_x_ = 0, sum_sq_ = 0;           // for mu_hat and sigma2_hat
  double mu_prev_ = 0.5, sigma2_prev_ = 0.25;
  double sum_lambda_ = 0, sum_lambda_x_ = 0, sum_penalty_ = 0;
  double lo_ = 0, hi_ = 1;

 public:
  // The bet the next value will get (predictable): for weighting known offsets like the TVD's |S_i|/K.
  double next_lambda() const;
  double sum_lambda() const { return sum_lambda_; }
};

struct SequentialRule {
  std::string name, metric;
  std::optional<double> max, min;
  // Instead of bounds: decided ("pass") once the interval is at most this
  // wide (`--target-width METRIC=W`: stop when the estimate is precise enough).
  std::optional<double> width;
};

enum class SequentialDecision { kUndecided, kPass, kFail };

class SequentialMonitor {
 public:
  // BadInput naming the rule for a metric without a sequence (the list of
  // those that have one) or a rule without max / min.
  SequentialMonitor(std::vector<SequentialRule> rules, double alpha);

  void add(const BaseOutcome& o);
  bool decided() const;
  std::int64_t users() const { return users_; }
  // {"method", "source", "alpha", "rules": [{name, metric, bound, interval, n, decision}]}
  nlohmann::ordered_json result() const;
  // Every rule passed (0), some failed (1) or some undecided (3): the exit code.
  int exit_code() const;

 private:
  struct Tracked {
    SequentialRule rule;
    std::string kind;   // "tvd", "rate", "hit_rate", "ndcg"
    int position = -1;  // selection_rate.J
    std::vector<ConfidenceSequence> sequences;
    std::optional<ConfidenceSequence> directional;  // tvd: y_i's sequence, for the bets' schedule
    std::vector<double> share_sums;                   // tvd: sum over users of x_ij, for S_i
    // tvd's bettors, one per grid value d. Only the first bettor not yet
    // excluded is ever read, and bettors are excluded in grid order, so a
    // bettor's capital is brought up to date only when it is the first: the
    // same sums, term by term and in the same order, as updating every
    // bettor after every user, at the cost of the bettors reached.
    struct Bet {
      double lambda_cap, y, offset;  // the stake before its cap 0.75 / (offset + d), the user's y and offset
    };
    std::vector<Bet> bets;                            // tvd: every user's bet, in order
    std::vector<double> log_capital;                  // tvd: log capital per grid value of d, over bets[0, applied[g])
    std::vector<std::size_t> applied;                 // tvd: how many bets log_capital[g] has taken
    std::size_t excluded = 0;                         // tvd: grid values 0..excluded-1 are excluded
    SequentialDecision decision = SequentialDecision::kUndecided;
    double lo = 0, hi = 1;
  };
  void update(Tracked& t);

  double alpha_;
  std::vector<Tracked> tracked_;
  std::int64_t users_ = 0;
  int k_ = 0;
};

}  // namespace recbias
