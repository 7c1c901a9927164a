#include "adapters/call_meter.h"

#include <fmt/format.h>

namespace recbias {

CallMeter::CallMeter(bool dry_run, Budget budget, std::optional<Price> price)
    : dry_run_(dry_run), budget_(std::move(budget)), price_(std::move(price)) {}

void CallMeter::hit(const RankResponse& response) {
  std::lock_guard lock(mu_);
  ++totals_.hits;
  if (response.usage.completion_tokens > 0 || response.usage.prompt_tokens > 0) {
    ++totals_.hit_answers_with_usage;
    totals_.hit_completion_tokens += response.usage.completion_tokens;
  }
}

bool CallMeter::count_unsent(const std::string& key, const CallEstimate& estimate) {
  std::lock_guard lock(mu_);
  if (!counted_.insert(key).second) {
    ++totals_.repeats;
    return false;
  }
  ++totals_.sent;
  totals_.http_calls += estimate.http_calls;
  totals_.estimated_prompt_tokens += estimate.prompt_tokens;
  totals_.prompt_tokens_exact = totals_.prompt_tokens_exact && estimate.prompt_tokens_exact;
  totals_.max_completion_tokens += estimate.max_completion_tokens;
  return true;
}

double CallMeter::cost_locked(std::int64_t prompt, std::int64_t completion) const {
  return price_ ? price_->of(static_cast<double>(prompt), static_cast<double>(completion)) : 0.0;
}

CallMeter::Admission CallMeter::admit(const CallEstimate& estimate) {
  std::lock_guard lock(mu_);
  const std::int64_t used = totals_.used_prompt_tokens + totals_.used_completion_tokens;
  const std::int64_t asked = estimate.prompt_tokens + estimate.max_completion_tokens;
  const auto cost_with = [&](std::int64_t prompt_reserved, std::int64_t completion_reserved) {
    return cost_locked(totals_.used_prompt_tokens + prompt_reserved + estimate.prompt_tokens,
                       totals_.used_completion_tokens + completion_reserved + estimate.max_completion_tokens);
  };
  std::string reason;
  if (budget_.max_calls && totals_.sent + 1 > *budget_.max_calls)
    reason = fmt::format("--max-calls {} reached ({} calls sent)", *budget_.max_calls, totals_.sent);
  else if (budget_.max_tokens && used + asked > *budget_.max_tokens)
    reason = fmt::format("--max-tokens {} reached ({} tokens used; the next call may use {})", *budget_.max_tokens, used, asked);
  else if (budget_.max_cost && cost_with(0, 0) > *budget_.max_cost)
    reason = fmt::format("--max-cost {:.4f} USD reached ({:.4f} USD spent)", *budget_.max_cost,
                         cost_locked(totals_.used_prompt_tokens, totals_.used_completion_tokens));
  if (!reason.empty()) {
    ++totals_.refused;
    if (spent_reason_.empty()) spent_reason_ = reason;
    return Admission::kRefuse;
  }
  if ((budget_.max_tokens && used + reserved_tokens_ + asked > *budget_.max_tokens) ||
      (budget_.max_cost && cost_with(reserved_prompt_, reserved_completion_) > *budget_.max_cost))
    return Admission::kWait;
  ++totals_.sent;
  totals_.http_calls += estimate.http_calls;
  totals_.estimated_prompt_tokens += estimate.prompt_tokens;
  totals_.prompt_tokens_exact = totals_.prompt_tokens_exact && estimate.prompt_tokens_exact;
  totals_.max_completion_tokens += estimate.max_completion_tokens;
  reserved_tokens_ += asked;
  reserved_prompt_ += estimate.prompt_tokens;
  reserved_completion_ += estimate.max_completion_tokens;
  return Admission::kSend;
}

void CallMeter::done(const CallEstimate& estimate, const RankResponse& response) {
  std::lock_guard lock(mu_);
  reserved_tokens_ -= estimate.prompt_tokens + estimate.max_completion_tokens;
  reserved_prompt_ -= estimate.prompt_tokens;
  reserved_completion_ -= estimate.max_completion_tokens;
  const bool reported = response.usage.prompt_tokens > 0 || response.usage.completion_tokens > 0;
  // An answer without usage is charged its estimate: a budget never assumes a call was free.
  totals_.used_prompt_tokens += reported ? response.usage.prompt_tokens : estimate.prompt_tokens;
  totals_.used_completion_tokens += reported ? response.usage.completion_tokens : estimate.max_completion_tokens;
}

bool CallMeter::wants_tokenizer_sample() const {
  std::lock_guard lock(mu_);
  return totals_.tokenizer_samples < tokenizer_wanted_ && totals_.tokenizer_error.empty();
}

void CallMeter::tokenizer_sample(const Recommender::TokenizerRatio& r) {
  std::lock_guard lock(mu_);
  if (!r.ratio) {
    if (totals_.tokenizer_error.empty()) totals_.tokenizer_error = r.error.empty() ? "no count" : r.error;
    return;
  }
  ++totals_.tokenizer_samples;
  totals_.tokenizer_ratio_sum += *r.ratio;
}

bool CallMeter::spent() const {
  std::lock_guard lock(mu_);
  return totals_.refused > 0;
}

std::string CallMeter::spent_reason() const {
  std::lock_guard lock(mu_);
  return spent_reason_;
}

MeterTotals CallMeter::totals() const {
  std::lock_guard lock(mu_);
  return totals_;
}

double CallMeter::cost() const {
  std::lock_guard lock(mu_);
  return cost_locked(totals_.used_prompt_tokens, totals_.used_completion_tokens);
}

}  // namespace recbias
