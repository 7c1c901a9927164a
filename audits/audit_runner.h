// Runs the audits: builds the plan, sends it to the recommender in chunks of
// base requests (memory stays flat in the number of users), folds every
// response into the accumulators, and writes the report. Shards of a run
// (--shard i/n) merge to exactly the single run's report (merge_reports).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/recommender.h"
#include "audits/audit.h"
#include "audits/audit_options.h"
#include "audits/sequential.h"
#include "audits/fairness_accumulator.h"
#include "audits/popularity_accumulator.h"
#include "audits/position_accumulator.h"
#include "audits/accuracy_cost_accumulator.h"
#include "audits/grounding_accumulator.h"
#include "datasets/workload.h"

namespace recbias {

struct ShardSpec {
  int index = 0;  // 0-based
  int count = 1;
};

// Base requests of shard `shard`: those whose stable_hash(id) % count == index.
bool in_shard(const std::string& request_id, const ShardSpec& shard);

struct AuditProgress {
  std::size_t done = 0;     // calls answered
  std::size_t total = 0;    // calls planned (known after planning; grows per chunk estimate)
  std::size_t failed = 0;   // calls that failed
  double elapsed_s = 0;
  bool chunk_done = false;  // this report closes a chunk of users (users_done of users_total measured)
  std::size_t users_done = 0, users_total = 0;
};
using ProgressFn = std::function<void(const AuditProgress&)>;
// Asked after each chunk of users is answered: a non-empty reason stops the
// run before that chunk is added (a budget refused some of its calls).
using StopFn = std::function<std::string()>;

// Everything the audits accumulate; mergeable and serialisable.
class AuditState {
 public:
  // One Audit per registry entry that `options` asks for (audit.h). BadInput for unknown audit names.
  AuditState(const AuditOptions& options, std::shared_ptr<const PopularityContext> popularity);
  AuditState(AuditState&&) = default;
  AuditState& operator=(AuditState&&) = default;

  void add(const BaseOutcome& outcome);
  void merge(const AuditState& other);
  bool operator==(const AuditState& other) const;

  nlohmann::ordered_json metrics(nlohmann::ordered_json& tests) const;  // fills `tests` with the corrected family
  nlohmann::json state() const;
  void load_state(const nlohmann::json& j);

  std::int64_t base_requests = 0;
  std::int64_t variants = 0;
  std::int64_t calls = 0;
  std::int64_t failed_calls = 0;
  std::int64_t usable_identity = 0;

 private:
  AuditOptions options_;
  std::vector<std::pair<const AuditInfo*, std::unique_ptr<Audit>>> audits_;  // registry order
};

struct AuditRun {
  AuditState state;
  nlohmann::ordered_json report;
  // Set when `stop` ended the run early: why, and the users measured of those planned.
  std::string incomplete;
  std::size_t users_measured = 0, users_planned = 0;
  bool decided_early = false;  // `monitor` decided every rule before the last user
};

// Runs every enabled audit over `requests` (restricted to `shard`). The
// recommender sees neutral profiles (attributes removed) except where the
// fairness audit states them. `provenance` is copied into the report.
// With a `monitor` (sequential.h), each user is also added to it and the run
// stops after the chunk in which it decided every rule.
// When `stop` gives a reason, the report holds the chunks of users answered
// before it, and says so in "incomplete" (the answers of the chunk that was
// stopped stay in the response cache, so a re-run resends none of them).
AuditRun run_audit(Recommender& recommender, const Workload& workload, const RequestSet& requests,
                   const AuditOptions& options, const ShardSpec& shard, const nlohmann::ordered_json& provenance,
                   const ProgressFn& progress = {}, const StopFn& stop = {}, SequentialMonitor* monitor = nullptr);

// Report JSON from a state (used by run_audit and merge_reports).
nlohmann::ordered_json make_report(const AuditState& state, const AuditOptions& options, const nlohmann::ordered_json& provenance);

// AuditOptions from a report's "config" (for merging); BadInput when malformed.
AuditOptions options_from_config(const nlohmann::json& config);
nlohmann::ordered_json config_json(const AuditOptions& options);

// The report as text: indented for reading, except the machine-only "state"
// section, which is written on one line (it holds thousands of numbers).
std::string report_to_text(const nlohmann::ordered_json& report);

// Merges shard reports of one audit configuration into one report equal to
// the single run's (metrics, tests and state identical). BadInput when the
// reports' configurations differ or a shard is repeated.
// `names` (optional, e.g. the files' paths) label the reports in error messages.
nlohmann::ordered_json merge_reports(const std::vector<nlohmann::json>& reports, const std::vector<std::string>& names = {});

}  // namespace recbias
