#include "reports/verdict_card.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "reports/render_common.h"

namespace recbias::render {
namespace {

using json = nlohmann::json;

const json* find_path(const json& node, std::initializer_list<const char*> path) {
  const json* at = &node;
  for (const char* key : path) {
    if (!at->is_object()) return nullptr;
    const auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

double number_at(const json& node, std::initializer_list<const char*> path) {
  const auto* at = find_path(node, path);
  return at && at->is_number() ? at->get<double>() : std::nan("");
}

// The practical threshold a finding must reach (config.practical_thresholds), as findings.cc reads it.
double practical(const json& report, const char* name, double fallback) {
  const double v = number_at(report, {"config", "practical_thresholds", name});
  return std::isfinite(v) ? v : fallback;
}

std::string with_interval(const std::string& label, const Value& v, int precision = 3) {
  return fmt::format("{} {} {}", label, fmt_num(v.value, precision), fmt_interval(v, precision));
}

}  // namespace

std::vector<CardLine> verdict_card(const json& report) {
  std::vector<CardLine> card;
  const auto* metrics = find_path(report, {"metrics"});
  if (!metrics || !metrics->is_object()) return card;
  const double alpha = std::isfinite(number_at(report, {"config", "alpha"})) ? number_at(report, {"config", "alpha"}) : 0.05;

  // Position: the bias-corrected TVD, E0, the Rao-Scott test and its power.
  if (const auto tvd = value_at(*metrics, {"position", "tvd"}); tvd.present) {
    CardLine line{"position", with_interval("TVD from uniform", tvd), "", "", CardStatus::kMeasured};
    const double e0 = number_at(*metrics, {"position", "tvd_e0"});
    line.reference = std::isfinite(e0) ? fmt::format("plug-in {} expected with no bias", fmt_num(e0)) : "0 with no bias";
    const double p = number_at(*metrics, {"position", "chi_square", "p_adjusted"});
    const double power = number_at(*metrics, {"position", "power_tvd_0_05"});
    const double floor = practical(report, "position.tvd", 0.02);
    if (std::isfinite(p) && p < alpha && tvd.value < floor && tvd.lo < floor) {
      line.verdict = fmt::format("detected but negligible: below the practical threshold {} (p_adj = {:.2g})", fmt_num(floor), p);
      line.status = CardStatus::kNotDetected;
    } else if (std::isfinite(p) && p < alpha) {
      line.verdict = fmt::format("detected (p_adj = {:.2g})", p);
      line.status = CardStatus::kDetected;
    } else if (std::isfinite(power) && power >= 0.8) {
      line.verdict = fmt::format("not detected (power {:.2f} against any TVD-0.05 bias)", power);
      line.status = CardStatus::kNotDetected;
    } else {
      line.verdict = std::isfinite(power) ? fmt::format("inconclusive: power only {:.2f} against TVD 0.05 (more users)", power)
                                          : "inconclusive";
      line.status = CardStatus::kInconclusive;
    }
    card.push_back(line);
  }
  // Popularity: the model's top-1 vs the held-out item's popularity percentile, paired per user.
  if (const auto gap = value_at(*metrics, {"popularity", "top1_minus_positive_percentile"}); gap.present) {
    CardLine line{"popularity", with_interval("top-1 minus held-out popularity percentile", gap), "0 when as popular as the truth", "",
                  CardStatus::kMeasured};
    if (gap.lo > 0) {
      line.verdict = "detected: favours more popular items than users chose";
      line.status = CardStatus::kDetected;
    } else if (gap.hi < 0) {
      line.verdict = "detected: favours less popular items than users chose";
      line.status = CardStatus::kDetected;
    } else if (std::isfinite(gap.lo)) {
      line.verdict = "not detected (the interval holds 0)";
      line.status = CardStatus::kNotDetected;
    } else {
      line.verdict = "inconclusive";
      line.status = CardStatus::kInconclusive;
    }
    card.push_back(line);
  }
  // Fairness: the attribute with the largest SNSR (test metric), against its null E0.
  if (const auto* attributes = find_path(*metrics, {"fairness", "attributes"}); attributes && attributes->is_object()) {
    const auto* metric_name = find_path(*metrics, {"fairness", "test_metric"});
    const std::string m = metric_name && metric_name->is_string() ? metric_name->get<std::string>() : "serp";
    std::string worst;
    Value worst_value;
    double worst_e0 = std::nan(""), worst_p = std::nan("");
    bool any_significant = false;
    for (const auto& [name, a] : attributes->items()) {
      const auto v = value_at(a, {"snsr", m.c_str()});
      const double p = number_at(a, {"snsr_null", "test", "p_adjusted"});
      any_significant = any_significant || (std::isfinite(p) && p < alpha);
      if (v.present && (!worst_value.present || v.value > worst_value.value)) {
        worst = name;
        worst_value = v;
        worst_e0 = number_at(a, {"snsr_null", "e0"});
        worst_p = p;
      }
    }
    if (worst_value.present) {
      CardLine line{"fairness", with_interval(fmt::format("largest SNSR ({}, {})", m, worst), worst_value, 4),
                    std::isfinite(worst_e0) ? fmt::format("{} expected with no attribute effect", fmt_num(worst_e0, 4)) : "", "",
                    CardStatus::kMeasured};
      const double floor = practical(report, "fairness.similarity", 0.05);
      const double excess = worst_value.value - (std::isfinite(worst_e0) ? worst_e0 : 0.0);
      if (any_significant && excess < floor) {
        line.verdict = fmt::format("detected but negligible: SNSR {} above E0, below the practical threshold {}", fmt_num(excess, 4),
                                   fmt_num(floor));
        line.status = CardStatus::kNotDetected;
      } else if (any_significant) {
        line.verdict = std::isfinite(worst_p) && worst_p < alpha ? fmt::format("detected (p_adj = {:.2g})", worst_p)
                                                                  : "detected for another attribute (see the tests)";
        line.status = CardStatus::kDetected;
      } else {
        line.verdict = "not detected (no attribute's test rejects)";
        line.status = CardStatus::kNotDetected;
      }
      card.push_back(line);
    }
  }
  // Grounding: hallucinated entries.
  if (const auto h = value_at(*metrics, {"grounding", "hallucination_rate"}); h.present) {
    CardLine line{"grounding", with_interval("hallucination rate", h), "0 for a model that only names candidates", "",
                  CardStatus::kMeasured};
    if (h.value > 0 && h.lo > 0) {  // an exact 0 can carry a lower end of 1e-21 from rounding: no finding
      line.verdict = "detected: names items that are not candidates";
      line.status = CardStatus::kDetected;
    } else if (std::isfinite(h.value)) {
      line.verdict = h.value > 0 ? "rare (the interval holds 0)" : "none observed";
      line.status = CardStatus::kNotDetected;
    }
    card.push_back(line);
  }
  // Accuracy: measured, no verdict of its own.
  // History: shuffled against asked again (the null), the test that compares them.
  if (const auto shuffled = value_at(*metrics, {"history", "shuffled", "kendall_tau"}); shuffled.present) {
    const auto resample = value_at(*metrics, {"history", "resample", "kendall_tau"});
    CardLine line{"history", with_interval("Kendall tau, shuffled vs original history", shuffled),
                  resample.present ? fmt::format("{} when asked again", fmt_num(resample.value)) : "1 for an order-blind model", "",
                  CardStatus::kMeasured};
    std::vector<std::string> moved;
    for (const char* variant : {"shuffled", "reversed", "truncated"}) {
      const double p = number_at(*metrics, {"history", variant, "test", "p_adjusted"});
      if (std::isfinite(p) && p < alpha) moved.push_back(variant);
    }
    line.verdict = moved.empty() ? "not detected: perturbing the history moves the answer no more than asking again"
                                 : fmt::format("detected: the answer moves when the history is {}", fmt::join(moved, ", "));
    line.status = moved.empty() ? CardStatus::kNotDetected : CardStatus::kDetected;
    card.push_back(line);
  }
  // Exposure: the item group whose exposure share is furthest from its share of what users chose.
  if (const auto* attributes = find_path(*metrics, {"exposure", "attributes"}); attributes && attributes->is_object()) {
    std::string worst_name;
    Value worst;
    for (const auto& [attribute, entry] : attributes->items()) {
      const auto* groups = find_path(entry, {"groups"});
      if (!groups || !groups->is_object()) continue;
      for (const auto& [group, g] : groups->items()) {
        const auto* node = find_path(g, {"exposure_minus_relevance"});
        const auto v = node ? value_of(*node) : Value{};
        if (v.present && std::isfinite(v.value) && (!worst.present || std::abs(v.value) > std::abs(worst.value))) worst = v, worst_name = attribute + " " + group;
      }
    }
    if (worst.present) {
      const bool clear = std::isfinite(worst.lo) && std::isfinite(worst.hi) && (worst.lo > 0 || worst.hi < 0);
      card.push_back({"exposure", with_interval("largest exposure - relevance share: " + worst_name, worst), "0: exposed as often as chosen",
                      clear ? (worst.value > 0 ? "over-exposed against what users chose" : "under-exposed against what users chose")
                            : "within its interval of what users chose",
                      CardStatus::kMeasured});
    }
  }
  if (const auto ndcg = value_at(*metrics, {"accuracy", "ndcg"}); ndcg.present)
    card.push_back({"accuracy", with_interval("NDCG@k", ndcg), "compare with the baselines (--compare-adapter)", "measured",
                    CardStatus::kMeasured});
  return card;
}

std::string gate_summary(const GateResult& gate) {
  std::size_t failed = 0, inconclusive = 0;
  for (const auto& o : gate.outcomes) {
    failed += o.verdict == Verdict::kFail;
    inconclusive += o.verdict == Verdict::kInconclusive;
  }
  if (failed) return fmt::format("FAILED: {} of {} gate rules failed", failed, gate.outcomes.size());
  if (inconclusive) return fmt::format("INCONCLUSIVE: {} of {} gate rules lacked data", inconclusive, gate.outcomes.size());
  if (gate.report_incomplete) return fmt::format("INCONCLUSIVE: all {} gate rules pass on an incomplete report", gate.outcomes.size());
  return fmt::format("PASSED: all {} gate rules", gate.outcomes.size());
}

}  // namespace recbias::render
