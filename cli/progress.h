// Progress rendering for long runs: a one-line bar on a TTY (stderr), nothing otherwise.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include <unistd.h>

#include <fmt/format.h>

#include "audits/audit_runner.h"

namespace recbias::cli {

class ProgressBar {
 public:
  ProgressBar() : enabled_(isatty(STDERR_FILENO) != 0) {}
  ~ProgressBar() { finish(); }

  void operator()(const AuditProgress& p) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (p.done < p.total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double rate = p.elapsed_s > 0 ? static_cast<double>(p.done) / p.elapsed_s : 0;
    const double eta = rate > 0 && p.total > p.done ? static_cast<double>(p.total - p.done) / rate : 0;
    const double share = p.total ? static_cast<double>(p.done) / static_cast<double>(p.total) : 0;
    const int width = 30, filled = static_cast<int>(share * width);
    std::fprintf(stderr, "\r[%s%s] %zu/%zu calls  %.1f calls/s  ETA %s  failures %zu ", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), '.').c_str(), p.done, p.total, rate,
                 eta > 0 ? fmt::format("{:.0f}s", eta).c_str() : "-", p.failed);
    drawn_ = true;
  }

  void finish() {
    if (drawn_) std::fprintf(stderr, "\n");
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace recbias::cli
