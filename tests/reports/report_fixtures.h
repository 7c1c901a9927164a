// A real report made in-process from the synthetic workload.
#pragma once

#include <nlohmann/json.hpp>

#include "audits/audit_runner.h"
#include "tests/audits/audit_fixtures.h"

namespace recbias::testing {

inline nlohmann::json make_test_report(const std::string& model_keys = "position=llmrank,popularity_tilt=0.5,hallucination_rate=0.1",
                                       int users = 80) {
  auto s = synthetic_setup(users, 40, 8, 11);
  AuditOptions options;
  options.attributes = s.workload.attributes;
  options.bootstrap_replicates = 50;
  auto model = simulated(model_keys, s.context);
  nlohmann::ordered_json provenance = {{"tool", "recbias"},  {"version", "0.1.0"}, {"git_sha", ""}, {"adapter", model->id()},
                                       {"dataset", {{"name", "synthetic"}, {"format", "memory"}, {"path", ""}, {"sha256", nlohmann::json::object()}}},
                                       {"workload", {{"users_requested", users}, {"candidates", 8}, {"seed", 11}}},
                                       {"shard", {{"index", 0}, {"count", 1}}}, {"finished", "2026-11-26T00:00:00Z"}};
  auto run = run_audit(*model, s.workload, s.requests, options, {}, provenance);
  return nlohmann::json::parse(report_to_text(run.report));
}

}  // namespace recbias::testing
