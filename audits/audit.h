// The audits as one family. Every audit is an Audit: it folds base outcomes
// (outcome.h) into mergeable sums, names its tests (one family per audit,
// corrected on its own), writes its metrics, and round-trips its state
// through the report so shards merge to exactly the single run.
// audit_registry() lists them; the plan, the runner, the CLI's --audits and
// the report schema's enum all follow that table, so adding an audit is one
// accumulator file plus one registry entry.
//
// Thread rules: an Audit is not thread-safe; give each thread its own and
// merge.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audits/audit_options.h"
#include "audits/outcome.h"
#include "core/replicated_sums.h"
#include "core/stats.h"

namespace recbias {

struct PopularityContext;  // popularity_accumulator.h

// A test of an audit's family: "position.chi_square", "fairness.gender.F".
struct NamedTest {
  std::string name;
  TestResult result;
  std::int64_t n = 0;
};

// What an audit needs to build itself.
struct AuditContext {
  const AuditOptions& options;
  std::shared_ptr<const PopularityContext> popularity;  // short head and user groups (null when only merging states)
};

// What an audit needs to write its metrics: the report's levels and its
// tests' corrected p-values (by test name) with their family sizes.
struct ResultContext {
  const AuditOptions& options;
  const std::map<std::string, double>& adjusted;
  const std::map<std::string, int>& family_size;
};

class Audit {
 public:
  virtual ~Audit() = default;
  virtual void add(const BaseOutcome& outcome) = 0;
  // `other` is an audit of the same registry entry (InternalError otherwise).
  virtual void merge(const Audit& other) = 0;
  virtual bool equals(const Audit& other) const = 0;
  // Its family of tests (raw p-values); empty when it tests nothing.
  virtual std::vector<NamedTest> tests() const { return {}; }
  // Writes its metrics into `metrics` (usually metrics[name]).
  virtual void result(const ResultContext& context, nlohmann::ordered_json& metrics) const = 0;
  // Headline metrics on the point sums and on every bootstrap replicate, for paired comparisons.
  virtual void replicated(std::map<std::string, ReplicatedValue>& out) const { (void)out; }
  virtual nlohmann::json state() const = 0;
  virtual void load_state(const nlohmann::json& state) = 0;
};

// The variants an audit needs in the plan (plan.cc expands them).
enum class Probe {
  kPermutations,            // the candidates in P presented orders
  kCounterfactualProfiles,  // stated attribute values, and the neutral profile asked again (noise floor)
  kHistoryPerturbations,    // the last W history items as they are, asked again, shuffled, reversed, truncated
};

struct AuditInfo {
  std::string name;         // --audits, config.audits, and the metrics key
  std::string description;  // one line, for --help
  std::string state_key;    // its sums in the report's state
  // Runs even when not asked for (its metrics may then be partial): the
  // cost bookkeeping of the accuracy audit is in every report.
  bool always = false;
  std::vector<Probe> probes;  // besides the identity call every audit reads
  std::function<std::unique_ptr<Audit>(const AuditContext&)> factory;
  // Runs only when --audits names it (the default runs every other audit):
  // its probe adds calls most audits do not need.
  bool opt_in = false;
};

// The registered audits in report order, built once on first use.
const std::vector<AuditInfo>& audit_registry();

// "position, popularity, fairness, grounding, accuracy, history, exposure, open" (all_audit_names() is in audit_options.h)
std::string audit_names();

// Whether any audit `options` asks for needs `probe`.
bool probe_requested(const AuditOptions& options, Probe probe);

// BadInput naming the known audits when `names` holds an unknown one.
void check_audit_names(const std::vector<std::string>& names);

}  // namespace recbias
