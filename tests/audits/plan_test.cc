#include <algorithm>
#include <set>

#include <catch2/catch.hpp>

#include "audits/audit.h"
#include "audits/plan.h"
#include "core/errors.h"
#include "tests/audits/audit_fixtures.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

TEST_CASE("cyclic design puts every candidate in every position once", "[plan][position]") {
  const auto perms = make_permutations(PermutationDesign::kCyclic, 6, 6, 1, "r");
  for (int candidate = 0; candidate < 6; ++candidate) {
    std::set<int> positions;
    for (const auto& order : perms) positions.insert(static_cast<int>(std::find(order.begin(), order.end(), candidate) - order.begin()));
    CHECK(positions.size() == 6);
  }
  CHECK(perms[0] == std::vector<int>{0, 1, 2, 3, 4, 5});  // shift 0 is the identity
}

TEST_CASE("Latin rows never repeat a candidate in a position, random designs differ per request", "[plan][position]") {
  const auto latin = make_permutations(PermutationDesign::kLatin, 8, 5, 3, "r");
  for (int j = 0; j < 8; ++j) {
    std::set<int> at_j;
    for (const auto& row : latin) at_j.insert(row[static_cast<std::size_t>(j)]);
    CHECK(at_j.size() == 5);
  }
  for (const auto& row : latin) CHECK(std::set<int>(row.begin(), row.end()).size() == 8);
  const auto a = make_permutations(PermutationDesign::kRandom, 10, 4, 3, "r1");
  const auto b = make_permutations(PermutationDesign::kRandom, 10, 4, 3, "r2");
  CHECK(a != b);  // never one permutation reused across requests
  CHECK(a[0] != a[1]);
  CHECK_THROWS_WITH(make_permutations(PermutationDesign::kLatin, 4, 5, 0, "r"), Contains("--permutations <= K"));
}

TEST_CASE("identical variants across audits are sent once", "[plan]") {
  auto s = synthetic_setup(20, 30, 5, 1);
  AuditOptions options;
  options.attributes = {{"gender", {"F", "M"}}};
  std::vector<EvalRequest> bases(s.requests.requests.begin(), s.requests.requests.begin() + 2);
  for (auto& b : bases) b.request.user.attributes.clear();  // base requests carry the neutral profile
  const auto plan = build_plan(bases, options);
  // Per base: identity + 5 cyclic shifts + 2 attribute variants + noise floor = 9 variants;
  // shift 0 is the identity, so 8 calls.
  CHECK(plan.variants == 18);
  CHECK(plan.calls.size() == 16);
  CHECK(plan.bases[0].permuted[0] == plan.bases[0].identity);
  CHECK(plan.calls[plan.bases[0].counterfactual[1]].user.attributes.at("gender") == "M");
  CHECK(plan.calls[plan.bases[0].noise].sample == kFairnessDraws);
  AuditOptions no_attributes;
  CHECK_THROWS_WITH(build_plan(bases, no_attributes), Contains("the fairness audit needs attributes"));
}

TEST_CASE("every variant of a base is its own draw, so no comparison shares random numbers", "[plan]") {
  // At temperature > 0 an adapter seeds with seed + sample: a variant that
  // shared the neutral prompt's sample would share its random stream (common
  // random numbers) and look artificially similar to it.
  auto s = synthetic_setup(20, 30, 6, 2);
  AuditOptions options;
  options.attributes = {{"gender", {"F", "M"}}, {"age", {"<18", "56+"}}};
  options.intersections = true;
  std::vector<EvalRequest> bases(s.requests.requests.begin(), s.requests.requests.begin() + 3);
  for (auto& b : bases) {
    b.request.user.attributes.clear();
    b.request.sample = 5;  // draws are offsets from the base's own sample
  }
  const auto plan = build_plan(bases, options);
  for (const auto& bp : plan.bases) {
    std::set<std::uint64_t> samples;
    for (auto call : bp.calls) samples.insert(plan.calls[call].sample);
    CHECK(samples.size() == bp.calls.size());  // all distinct within the base
    CHECK(plan.calls[bp.identity].sample == 5);
    for (std::size_t o = 1; o < bp.permuted.size(); ++o) CHECK(plan.calls[bp.permuted[o]].sample == 5 + o);
    CHECK(plan.calls[bp.noise].sample == 5 + kFairnessDraws);
    for (std::size_t i = 0; i < bp.counterfactual.size(); ++i)
      CHECK(plan.calls[bp.counterfactual[i]].sample == 5 + kFairnessDraws + 1 + i);
  }
  // A probe's draws do not depend on which other probes run.
  AuditOptions fairness_only = options;
  fairness_only.audits = {"fairness"};
  const auto alone = build_plan(bases, fairness_only);
  CHECK(alone.calls[alone.bases[0].counterfactual[2]].sample == plan.calls[plan.bases[0].counterfactual[2]].sample);
}

TEST_CASE("the audit registry is the one list of audits: options, schema and errors follow it", "[audit][registry]") {
  const auto names = all_audit_names();
  CHECK(names == std::vector<std::string>{"position", "popularity", "fairness", "grounding", "accuracy", "history", "exposure", "open"});
  // The default runs every audit but the opt-in ones (history; open, which --probe open selects).
  CHECK(default_audit_names() == std::vector<std::string>{"position", "popularity", "fairness", "grounding", "accuracy", "exposure"});
  CHECK(AuditOptions().audits == default_audit_names());
  // The report schema's enum of config.audits lists the same names.
  const auto schema = nlohmann::json::parse(testing::read_file(testing::source_dir() + "/reports/report.schema.json"));
  CHECK(schema["properties"]["config"]["properties"]["audits"]["items"]["enum"].get<std::vector<std::string>>() == names);
  for (const auto& info : audit_registry()) {
    CHECK_FALSE(info.description.empty());
    CHECK_FALSE(info.state_key.empty());
  }
  // The plan asks for the probes the chosen audits declare.
  AuditOptions only_popularity;
  only_popularity.audits = {"popularity"};
  CHECK_FALSE(probe_requested(only_popularity, Probe::kPermutations));
  CHECK_FALSE(probe_requested(only_popularity, Probe::kCounterfactualProfiles));
  CHECK(probe_requested(AuditOptions(), Probe::kPermutations));
  CHECK(probe_requested(AuditOptions(), Probe::kCounterfactualProfiles));
  CHECK_FALSE(probe_requested(AuditOptions(), Probe::kHistoryPerturbations));  // opt-in
  CHECK_THROWS_WITH(check_audit_names({"position", "provider"}),
                    Catch::Matchers::Contains("unknown audit \"provider\"; known audits: position, popularity, fairness, grounding, accuracy, history, exposure, open"));
}
