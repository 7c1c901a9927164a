// What an audit sends to the model and what that costs: the meter behind
// `recbias audit --dry-run`, the budgets (--max-calls, --max-tokens,
// --max-cost) and the progress line's cost.
//
// The response cache (response_cache.h) is where a request becomes a model
// call, so CachedRecommender consults the meter there, after the cache and
// its de-duplication:
// - dry run: nothing is sent. A request the cache lacks is counted once (a
//   second identical request, in this rank() call or a later one, counts as
//   the cache hit it would be in a real run) and answered with an error, so
//   the plan, the mitigations and the comparisons run exactly as they would
//   and the count is the number of calls a real run sends.
// - budgets: a request is sent only while it fits. Calls count requests sent
//   to the model (the cache's misses; provenance.cache.sent). Tokens and cost
//   count what answers report (usage) and reserve, for requests in flight,
//   their estimated prompt plus their max_tokens bound, so a cap is not
//   overrun by the requests one batch sends at once: a batch goes out in
//   waves, each as large as the budget left allows. A request that does not
//   fit is answered with an error starting with kNotSentBudget and never
//   cached; the runner then stops (audit_runner.h, StopFn).
//
// Thread rules: every member may be called from several threads.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "adapters/recommender.h"

namespace recbias {

// The error of a request a budget kept from being sent (and of a dry run's).
inline constexpr const char* kNotSentBudget = "not sent: the audit's budget is spent";
inline constexpr const char* kNotSentDryRun = "not sent: dry run";

struct Price {
  double input_per_million = 0;   // USD per million prompt tokens
  double output_per_million = 0;  // USD per million completion tokens
  double of(double prompt_tokens, double completion_tokens) const {
    return (prompt_tokens * input_per_million + completion_tokens * output_per_million) / 1e6;
  }
};

struct Budget {
  std::optional<std::int64_t> max_calls;
  std::optional<std::int64_t> max_tokens;  // prompt + completion
  std::optional<double> max_cost;          // USD; needs a price
};

struct MeterTotals {
  std::int64_t hits = 0;          // answered by the cache
  std::int64_t repeats = 0;       // dry run: requests identical to one counted before (one call answers both)
  std::int64_t sent = 0;          // requests sent to the model (dry run: that a real run would send)
  std::int64_t refused = 0;       // requests a budget kept from being sent
  std::int64_t http_calls = 0;    // requests on the wire for `sent` (CallEstimate::http_calls)
  std::int64_t estimated_prompt_tokens = 0;     // of `sent`, from the rendered prompts
  bool prompt_tokens_exact = true;              // every estimate came from a tokenizer
  std::int64_t max_completion_tokens = 0;       // of `sent`: the max_tokens bound
  std::int64_t used_prompt_tokens = 0;          // reported by the answers received
  std::int64_t used_completion_tokens = 0;
  std::int64_t hit_answers_with_usage = 0;      // cached answers that report usage
  std::int64_t hit_completion_tokens = 0;       // their completion tokens (the observed mean's numerator)
  std::int64_t tokenizer_samples = 0;           // dry run: prompts the server's tokenizer counted
  double tokenizer_ratio_sum = 0;               // sum of its count over the estimate
  std::string tokenizer_error;                  // why the tokenizer could not be asked (then: estimates)
};

class CallMeter {
 public:
  CallMeter(bool dry_run, Budget budget, std::optional<Price> price);

  bool dry_run() const { return dry_run_; }
  const Budget& budget() const { return budget_; }
  const std::optional<Price>& price() const { return price_; }

  // A cache hit (with the answer read).
  void hit(const RankResponse& response);
  // Dry run: counts a request the cache lacks. Returns false when the same
  // key was counted before (a real run would find it in the cache).
  bool count_unsent(const std::string& key, const CallEstimate& estimate);
  // Budgets: whether a request with this estimate may be sent now. kSend:
  // its estimate is reserved until done() is called for it. kWait: it fits
  // once the requests in flight are done and their reservations replaced by
  // what they used. kRefuse: it does not fit (the budget is spent; recorded).
  enum class Admission { kSend, kWait, kRefuse };
  Admission admit(const CallEstimate& estimate);
  // An admitted request is over: releases its reservation and adds what the
  // answer reports (or, without usage, the estimate).
  void done(const CallEstimate& estimate, const RankResponse& response);

  // Dry runs: the first `n` requests counted are also sent to the server's
  // tokenizer (Recommender::tokenizer_ratio), whose mean ratio calibrates
  // the prompt-token estimate; asking stops at the first failure.
  void want_tokenizer_samples(std::int64_t n) { tokenizer_wanted_ = n; }
  bool wants_tokenizer_sample() const;
  void tokenizer_sample(const Recommender::TokenizerRatio& r);

  // Some request was refused: the budget is spent.
  bool spent() const;
  // "--max-calls 200 reached (200 calls sent)" etc.; empty while not spent.
  std::string spent_reason() const;
  MeterTotals totals() const;
  // Spent so far in USD (0 without a price).
  double cost() const;

 private:
  double cost_locked(std::int64_t prompt, std::int64_t completion) const;

  const bool dry_run_;
  const Budget budget_;
  const std::optional<Price> price_;
  mutable std::mutex mu_;
  MeterTotals totals_;
  std::int64_t reserved_tokens_ = 0, reserved_prompt_ = 0, reserved_completion_ = 0;
  std::string spent_reason_;
  std::unordered_set<std::string> counted_;  // dry run: keys counted as sent
  std::int64_t tokenizer_wanted_ = 0;
};

}  // namespace recbias
