#include "audits/grounding_accumulator.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/rng.h"
#include "core/text.h"

namespace recbias {

void GroundingAccumulator::add(const BaseOutcome& o) {
  std::int64_t c[kSlots] = {};  // this user's counts
  for (auto call : o.plan->calls) {
    const auto& r = o.full_response(call);  // every entry the model wrote
    ++c[kResponses];
    if (r.error) {
      ++c[kFailed];
      continue;
    }
    if (r.ranking.empty()) ++c[kEmpty];
    if (r.parse_failures > 0) ++c[kParseFailed];
    if (r.truncated) ++c[kTruncated];
    if (r.repaired > 0) ++c[kRepaired];
    if (r.constrained) ++c[kConstrained];
    if (r.constraint_ignored) ++c[kConstraintIgnored];
    const auto model_entries = static_cast<std::int64_t>(r.ranking.size()) - r.repaired;
    c[kEntries] += model_entries + static_cast<std::int64_t>(r.ungrounded.size()) + r.duplicates + r.out_of_range;
    c[kHallucinated] += static_cast<std::int64_t>(r.ungrounded.size());
    for (const auto& text : r.ungrounded) examples_.emplace_back(stable_hash(o.base->request.id), utf8_prefix(text, 200));
    c[kDuplicated] += r.duplicates;
    c[kOutOfRange] += r.out_of_range;
  }
  for (std::size_t a = 0; a < kSlots; ++a) {
    counts_[a] += c[a];
    for (std::size_t b = 0; b < kSlots; ++b) products_[a * kSlots + b] += c[a] * c[b];
  }
  ++users_;
  std::sort(examples_.begin(), examples_.end());
  examples_.erase(std::unique(examples_.begin(), examples_.end()), examples_.end());
  if (examples_.size() > kExamples) examples_.resize(kExamples);
}

void GroundingAccumulator::merge(const GroundingAccumulator& other) {
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  for (std::size_t i = 0; i < products_.size(); ++i) products_[i] += other.products_[i];
  users_ += other.users_;
  examples_.insert(examples_.end(), other.examples_.begin(), other.examples_.end());
  std::sort(examples_.begin(), examples_.end());
  examples_.erase(std::unique(examples_.begin(), examples_.end()), examples_.end());
  if (examples_.size() > kExamples) examples_.resize(kExamples);
}

nlohmann::ordered_json GroundingAccumulator::result(double confidence) const {
  // rate = (a . c) / (b . c) over users' count vectors c; linearised variance
  // from the kept products (see the header).
  auto rate = [&](std::vector<std::pair<Slot, double>> numerator, std::vector<std::pair<Slot, double>> denominator) {
    auto dot = [&](const auto& x) {
      double v = 0;
      for (auto [i, w] : x) v += w * static_cast<double>(counts_[i]);
      return v;
    };
    auto quad = [&](const auto& x, const auto& y) {
      double v = 0;
      for (auto [i, wi] : x)
        for (auto [j, wj] : y) v += wi * wj * static_cast<double>(products_[i * kSlots + j]);
      return v;
    };
    const double x = dot(numerator), e = dot(denominator);
    if (e <= 0) return metric_json(std::nan(""), {0.0, 1.0}, 0);
    const double r = x / e, u = static_cast<double>(users_);
    const double variance =
        u > 1 ? u / (u - 1) * std::max(0.0, quad(numerator, numerator) - 2 * r * quad(numerator, denominator) + r * r * quad(denominator, denominator)) / (e * e)
              : 0.0;
    return metric_json(r, wilson_interval_effective(std::clamp(r, 0.0, 1.0), variance, e, confidence), e);
  };
  const std::vector<std::pair<Slot, double>> responses = {{kResponses, 1.0}}, answered = {{kResponses, 1.0}, {kFailed, -1.0}},
                                                    entries = {{kEntries, 1.0}};
  nlohmann::ordered_json out;
  out["responses"] = counts_[kResponses];
  out["output_entries"] = counts_[kEntries];
  out["users"] = users_;
  out["interval"] = "cluster-robust (users as units): ratio estimator, Wilson at the effective sample size";
  out["failed_rate"] = rate({{kFailed, 1.0}}, responses);
  out["empty_rate"] = rate({{kEmpty, 1.0}}, answered);
  out["parse_failure_rate"] = rate({{kParseFailed, 1.0}}, answered);
  out["truncated_rate"] = rate({{kTruncated, 1.0}}, answered);
  out["repaired_rate"] = rate({{kRepaired, 1.0}}, answered);
  out["hallucination_rate"] = rate({{kHallucinated, 1.0}}, entries);
  out["duplicate_rate"] = rate({{kDuplicated, 1.0}}, entries);
  out["out_of_range_rate"] = rate({{kOutOfRange, 1.0}}, entries);
  // Structured outputs: the share of constrained answers that broke the
  // schema (a server that silently ignores the constraint shows up here).
  if (counts_[kConstrained] > 0) {
    out["constrained_responses"] = counts_[kConstrained];
    out["constraint_ignored_rate"] = rate({{kConstraintIgnored, 1.0}}, {{kConstrained, 1.0}});
  }
  return out;
}

nlohmann::json GroundingAccumulator::state() const {
  nlohmann::json examples = nlohmann::json::array();
  for (const auto& [key, text] : examples_) examples.push_back({std::to_string(key), text});
  return {{"counts", counts_}, {"products", products_}, {"users", users_}, {"examples", examples}};
}

void GroundingAccumulator::load_state(const nlohmann::json& j) {
  try {
    counts_ = j.at("counts").get<std::vector<std::int64_t>>();
    if (counts_.size() != kSlots) throw BadInput(fmt::format("grounding state: expected {} counts, found {}", std::size_t{kSlots}, counts_.size()));
    products_ = j.at("products").get<std::vector<std::int64_t>>();
    if (products_.size() != kSlots * kSlots)
      throw BadInput(fmt::format("grounding state: expected {} products, found {}", kSlots * kSlots, products_.size()));
    users_ = j.at("users").get<std::int64_t>();
    examples_.clear();
    for (const auto& e : j.value("examples", nlohmann::json::array()))
      examples_.emplace_back(std::stoull(e.at(0).get<std::string>()), e.at(1).get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("grounding audit state: {}", e.what()));
  } catch (const std::logic_error& e) {  // std::stoull on a key that is not a number
    throw BadInput(fmt::format("grounding audit state: an example key is not an unsigned integer ({})", e.what()));
  }
}

}  // namespace recbias
