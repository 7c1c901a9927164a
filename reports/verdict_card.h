// The verdict card at the top of the HTML and Markdown reports: per audit
// one line — the headline effect with its interval, the null reference it
// is read against, and a verdict (detected / not detected at this power /
// inconclusive) — and the gate's result when a policy was given. Reads the
// report through the checked metric reader (core/metric.h); an audit whose
// headline is missing gets no line. Strings need escaping by the renderer.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/gate.h"

namespace recbias::render {

enum class CardStatus { kDetected, kNotDetected, kInconclusive, kMeasured };

struct CardLine {
  std::string audit;      // "position"
  std::string headline;   // "TVD from uniform 0.121 [0.110, 0.133]"
  std::string reference;  // "0.012 expected with no bias"
  std::string verdict;    // "detected (p_adj 1e-12)"
  CardStatus status = CardStatus::kMeasured;
};

std::vector<CardLine> verdict_card(const nlohmann::json& report);

// "PASSED: all 3 gate rules" / "FAILED: 1 of 3 gate rules failed" / "INCONCLUSIVE: ...".
std::string gate_summary(const GateResult& gate);

}  // namespace recbias::render
