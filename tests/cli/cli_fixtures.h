// Shared by the CLI tests that audit through the `recbias` binary: a small
// synthetic dataset, a loopback model whose answer depends on the request
// alone, the report a command wrote, and the parts of a report that must not
// depend on faults, restarts, budgets or batches.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "tests/fake_llm_server.h"
#include "tests/test_support.h"

namespace recbias::testing {

// `recbias datasets synth` into DIR/data: 40 users, 80 items, seed 5.
inline void make_synth_dataset(const TempDir& dir) {
  const auto r = run_recbias({"datasets", "synth", "--out", dir / "data", "--users", "40", "--items", "80", "--seed", "5"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

// The top three presented candidates by a hash of their titles, as "[i] > [j] > [k]":
// an answer that depends on the request alone, never on timing or attempts.
inline Reply hash_ranked_answer(const Prompt& p) {
  std::vector<int> order(p.candidates.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return stable_hash(p.candidates[static_cast<std::size_t>(a)]) < stable_hash(p.candidates[static_cast<std::size_t>(b)]);
  });
  order.resize(std::min<std::size_t>(order.size(), 3));
  return Reply::answer(bracket_answer(order));
}

// Runs `args`, which must exit with `expected_exit`, and returns the report written to `out`.
inline nlohmann::json report_after(const std::vector<std::string>& args, const std::string& out, int expected_exit = 0) {
  const auto r = run_recbias(args);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == expected_exit);
  return nlohmann::json::parse(read_file(out));
}

// What must not depend on faults, restarts, budgets or batches: every metric
// but cost (retries and waits legitimately cost more), the tests, the counts
// and the accumulator state without its cost and latency parts.
inline nlohmann::json comparable(nlohmann::json report) {
  report["metrics"].erase("cost");
  for (const char* cost : {"cost", "latency_count", "latency_histogram"}) report["state"]["accuracy_cost"].erase(cost);
  return {{"metrics", report["metrics"]}, {"tests", report["tests"]}, {"counts", report["counts"]}, {"state", report["state"]}};
}

}  // namespace recbias::testing
