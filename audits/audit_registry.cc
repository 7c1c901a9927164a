// The audit registry: each accumulator wrapped as an Audit, in report order.
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "audits/audit.h"
#include "audits/fairness_accumulator.h"
#include "audits/plan.h"
#include "audits/popularity_accumulator.h"
#include "audits/position_accumulator.h"
#include "audits/accuracy_cost_accumulator.h"
#include "audits/grounding_accumulator.h"
#include "audits/exposure_accumulator.h"
#include "audits/open_accumulator.h"
#include "audits/history_accumulator.h"
#include "core/errors.h"
#include "core/registry.h"

namespace recbias {
namespace {

// An Audit around one accumulator of type A; `Self` is the wrapper, for merge's type check.
template <class A, class Self>
class AccumulatorAudit : public Audit {
 public:
  template <class... Args>
  explicit AccumulatorAudit(Args&&... args) : acc_(std::forward<Args>(args)...) {}
  void add(const BaseOutcome& outcome) override { acc_.add(outcome); }
  void merge(const Audit& other) override { acc_.merge(same(other).acc_); }
  bool equals(const Audit& other) const override {
    const auto* o = dynamic_cast<const Self*>(&other);
    return o && acc_ == o->acc_;
  }

 protected:
  static const Self& same(const Audit& other) {
    const auto* o = dynamic_cast<const Self*>(&other);
    RECBIAS_CHECK(o != nullptr, "merging audits of different kinds");
    return *o;
  }
  A acc_;
};

class PositionAudit final : public AccumulatorAudit<PositionAccumulator, PositionAudit> {
 public:
  explicit PositionAudit(const AuditContext& c) : AccumulatorAudit(c.options.bootstrap_replicates), method_(c.options.tvd_interval) {}
  std::vector<NamedTest> tests() const override {
    const double p = acc_.p_value();
    if (!std::isfinite(p)) return {};
    return {{"position.chi_square", {"Rao-Scott chi-square (second order)", 0, 0, p}, 0}};
  }
  void result(const ResultContext& c, nlohmann::ordered_json& metrics) const override {
    const auto it = c.adjusted.find("position.chi_square");
    const bool tested = it != c.adjusted.end();
    metrics["position"] = acc_.result(c.options.confidence, c.options.alpha, tested ? it->second : 1.0,
                                      tested ? c.family_size.at("position.chi_square") : 1, c.options.tvd_interval);
  }
  void replicated(std::map<std::string, ReplicatedValue>& out) const override { acc_.replicated(out, method_); }
  nlohmann::json state() const override { return acc_.state(); }
  void load_state(const nlohmann::json& j) override { acc_ = PositionAccumulator::from_state(j); }

 private:
  TvdInterval method_;
};

class PopularityAudit final : public AccumulatorAudit<PopularityAccumulator, PopularityAudit> {
 public:
  explicit PopularityAudit(const AuditContext& c) : AccumulatorAudit(c.popularity, c.options.bootstrap_replicates) {}
  void result(const ResultContext& c, nlohmann::ordered_json& metrics) const override {
    metrics["popularity"] = acc_.result(c.options.confidence);
  }
  void replicated(std::map<std::string, ReplicatedValue>& out) const override { acc_.replicated(out); }
  nlohmann::json state() const override { return acc_.state(); }
  void load_state(const nlohmann::json& j) override { acc_.load_state(j); }
};

class FairnessAudit final : public AccumulatorAudit<FairnessAccumulator, FairnessAudit> {
 public:
  explicit FairnessAudit(const AuditContext& c) : AccumulatorAudit(c.options, fairness_profiles(c.options)) {}
  std::vector<NamedTest> tests() const override { return acc_.tests(); }
  void result(const ResultContext& c, nlohmann::ordered_json& metrics) const override {
    metrics["fairness"] = acc_.result(c.options.confidence, c.adjusted, c.options.alpha);
  }
  nlohmann::json state() const override { return acc_.state(); }
  void load_state(const nlohmann::json& j) override { acc_.load_state(j); }
};

class GroundingAudit final : public AccumulatorAudit<GroundingAccumulator, GroundingAudit> {
 public:
  explicit GroundingAudit(const AuditContext&) {}
  void result(const ResultContext& c, nlohmann::ordered_json& metrics) const override {
    metrics["grounding"] = acc_.result(c.options.confidence);
  }
  nlohmann::json state() const override { return acc_.state(); }
  void load_state(const nlohmann::json& j) override { acc_.load_state(j); }
};

// Accuracy, and the cost bookkeeping every report carries.
class AccuracyAudit final : public AccumulatorAudit<AccuracyCostAccumulator, AccuracyAudit> {
 public:
  explicit AccuracyAudit(const AuditContext& c) : AccumulatorAudit(c.options.bootstrap_replicates), asked_(audit_enabled(c.options, "accuracy")) {}
  void result(const ResultContext& c, nlohmann::ordered_json& metrics) const override {
    if (asked_) metrics["accuracy"] = acc_.accuracy(c.options.confidence);
    metrics["cost"] = acc_.cost(c.options.confidence);
  }
  void replicated(std::map<std::string, ReplicatedValue>& out) const override {
    if (asked_) acc_.replicated(out);
  }
  nlohmann::json state() const override { return acc_.state(); }
  void load_state(const nlohmann::json& j) override { acc_.load_state(j); }

 private:
  bool asked_;
};

class HistoryAudit final : public AccumulatorAudit<HistoryAccumulator, HistoryAudit> {
 public:
  explicit HistoryAudit(const AuditContext& c) : AccumulatorAudit(c.options.bootstrap_replicates) {}
  std::vector<NamedTest> tests() const override { return acc_.tests(); }
  void result(const ResultContext& c, nlohmann::ordered_json& metrics) const override {
    metrics["history"] = acc_.result(c.options.confidence, c.adjusted, c.options.alpha);
  }
  void replicated(std::map<std::string, ReplicatedValue>& out) const override { acc_.replicated(out); }
  nlohmann::json state() const override { return acc_.state(); }
  void load_state(const nlohmann::json& j) override { acc_.load_state(j); }
};

class ExposureAudit final : public AccumulatorAudit<ExposureAccumulator, ExposureAudit> {
 public:
  explicit ExposureAudit(const AuditContext& c) : AccumulatorAudit(c.popularity, c.options.bootstrap_replicates) {}
  void result(const ResultContext& c, nlohmann::ordered_json& metrics) const override { metrics["exposure"] = acc_.result(c.options.confidence); }
  nlohmann::json state() const override { return acc_.state(); }
  void load_state(const nlohmann::json& j) override { acc_.load_state(j); }
};

class OpenAudit final : public AccumulatorAudit<OpenAccumulator, OpenAudit> {
 public:
  explicit OpenAudit(const AuditContext& c)
      : AccumulatorAudit(c.popularity ? c.popularity->catalog : nullptr, c.options.bootstrap_replicates, c.options.fairllm_compat) {}
  void result(const ResultContext& c, nlohmann::ordered_json& metrics) const override { metrics["open"] = acc_.result(c.options.confidence); }
  nlohmann::json state() const override { return acc_.state(); }
  void load_state(const nlohmann::json& j) override { acc_.load_state(j); }
};

template <class T>
std::function<std::unique_ptr<Audit>(const AuditContext&)> factory() {
  return [](const AuditContext& c) -> std::unique_ptr<Audit> { return std::make_unique<T>(c); };
}

std::vector<AuditInfo> build_registry() {
  return {
      {"position", "permuted candidate orders: selection rates by position, TVD with E0, Rao-Scott test, tau, RBO", "position", false,
       {Probe::kPermutations}, factory<PositionAudit>()},
      {"popularity", "ARP/APLT/ACLT, exposure Gini and coverage beside a random ranker, PopRSP/REO, ΔGAP, popularity percentiles",
       "popularity", false, {}, factory<PopularityAudit>()},
      {"fairness", "counterfactual profiles: similarity to neutral per stated value, SNSR/SNSV with nulls, utility gap", "fairness",
       false, {Probe::kCounterfactualProfiles}, factory<FairnessAudit>()},
      {"grounding", "hallucinated, duplicate and out-of-range entries; failed, empty, unparseable, truncated responses; constraint ignored", "grounding",
       false, {}, factory<GroundingAudit>()},
      {"accuracy", "HR, NDCG and MRR at k of the held-out item (and the cost of every call, always)", "accuracy_cost", true, {},
       factory<AccuracyAudit>()},
      {"history", "the last W history items shuffled, reversed, truncated vs asked again: tau, Jaccard@k, NDCG change (opt-in)",
       "history", false, {Probe::kHistoryPerturbations}, factory<HistoryAudit>(), true},
      {"exposure", "item groups (genre, release era): exposure vs candidate and relevance shares, recency of what is recommended",
       "exposure", false, {}, factory<ExposureAudit>()},
      {"open", "candidate-free generation (--probe open): popularity of the named items vs the held-out item (paired), ARP, catalog "
       "coverage; FaiRLLM's string similarities per stated value with SNSR/SNSV",
       "open", false, {Probe::kCounterfactualProfiles}, factory<OpenAudit>(), true},
  };
}

}  // namespace

const std::vector<AuditInfo>& audit_registry() {
  static const auto registry = build_registry();  // built once, thread-safe
  return registry;
}

std::vector<std::string> all_audit_names() {
  std::vector<std::string> names;
  for (const auto& a : audit_registry()) names.push_back(a.name);
  return names;
}

std::vector<std::string> default_audit_names() {
  std::vector<std::string> names;
  for (const auto& a : audit_registry())
    if (!a.opt_in) names.push_back(a.name);
  return names;
}

std::string audit_names() { return registry_names(audit_registry()); }

bool probe_requested(const AuditOptions& options, Probe probe) {
  for (const auto& info : audit_registry())
    if (audit_enabled(options, info.name) && std::find(info.probes.begin(), info.probes.end(), probe) != info.probes.end()) return true;
  return false;
}

void check_audit_names(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    bool known = false;
    for (const auto& a : audit_registry()) known = known || a.name == name;
    if (!known) throw BadInput(fmt::format("unknown audit \"{}\"; known audits: {}", name, audit_names()));
  }
}

}  // namespace recbias
