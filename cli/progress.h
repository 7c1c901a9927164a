// Progress rendering for long runs (stderr): a one-line bar on a TTY, a
// line per chunk of users otherwise (logs of batch jobs). With a meter, both
// show the tokens and the cost so far, against the budget when one is set.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include <unistd.h>

#include <fmt/format.h>

#include "adapters/call_meter.h"
#include "audits/audit_runner.h"

namespace recbias::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::shared_ptr<const CallMeter> meter = nullptr) : tty_(isatty(STDERR_FILENO) != 0), meter_(std::move(meter)) {}
  ~ProgressBar() { finish(); }

  void operator()(const AuditProgress& p) {
    if (!tty_) {
      if (p.chunk_done)
        std::fprintf(stderr, "recbias: %zu/%zu users, %zu calls answered (%zu failed), %.1f s%s\n", p.users_done, p.users_total, p.done,
                     p.failed, p.elapsed_s, cost().c_str());
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (p.done < p.total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double rate = p.elapsed_s > 0 ? static_cast<double>(p.done) / p.elapsed_s : 0;
    const double eta = rate > 0 && p.total > p.done ? static_cast<double>(p.total - p.done) / rate : 0;
    const double share = p.total ? static_cast<double>(p.done) / static_cast<double>(p.total) : 0;
    const int width = 30, filled = static_cast<int>(share * width);
    std::fprintf(stderr, "\r[%s%s] %zu/%zu calls  %.1f calls/s  ETA %s  failures %zu%s ", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(), p.done, p.total, rate,
                 eta > 0 ? fmt::format("{:.0f}s", eta).c_str() : "-", p.failed, cost().c_str());
    drawn_ = true;
  }

  void finish() {
    if (drawn_ && tty_) std::fprintf(stderr, "\n");
    drawn_ = false;
  }

 private:
  // ", 12345 tokens (of 50000), $0.0123 (of $1.00)" from the meter; empty without one.
  std::string cost() const {
    if (!meter_) return "";
    const auto t = meter_->totals();
    const auto& budget = meter_->budget();
    std::string out = fmt::format(", {} model calls sent", t.sent);
    if (budget.max_calls) out += fmt::format(" (of {})", *budget.max_calls);
    out += fmt::format(", {} tokens", t.used_prompt_tokens + t.used_completion_tokens);
    if (budget.max_tokens) out += fmt::format(" (of {})", *budget.max_tokens);
    if (meter_->price()) {
      out += fmt::format(", ${:.4f}", meter_->cost());
      if (budget.max_cost) out += fmt::format(" (of ${:.2f})", *budget.max_cost);
    }
    return out;
  }

  bool tty_;
  std::shared_ptr<const CallMeter> meter_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace recbias::cli
