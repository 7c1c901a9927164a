// The audits on LLM-style answers: whole answers that list all K candidates,
// FaiRLLM's own functions on the lists the audit saw, and answers whose
// first entry is not a candidate.
#include <catch2/catch.hpp>

#include <map>

#include "audits/audit_runner.h"
#include "audits/plan.h"
#include "core/errors.h"
#include "tests/audits/audit_fixtures.h"
#include "tests/audits/fairllm_reference.h"

using namespace recbias;
using namespace recbias::testing;

namespace {

// Answers like a chat model that ranks every candidate: the wrapped scoring
// model asked for all K, so its top k are the scoring model's top-k answer.
class AllCandidates final : public Recommender {
 public:
  explicit AllCandidates(std::unique_ptr<Recommender> inner) : inner_(std::move(inner)) {}
  std::string id() const override { return "all-of:" + inner_->id(); }
  Capabilities capabilities() const override { return inner_->capabilities(); }

 protected:
  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    std::vector<RankRequest> whole(requests.begin(), requests.end());
    for (auto& r : whole) r.k = static_cast<int>(r.candidates.size());
    auto out = inner_->rank(whole);
    report_all(out, on_response);
    return out;
  }

 private:
  std::unique_ptr<Recommender> inner_;
};

// Sets first_entry_unusable on every `every`-th response (a hallucinated first title).
class FirstEntryHallucinated final : public Recommender {
 public:
  FirstEntryHallucinated(std::unique_ptr<Recommender> inner, int every) : inner_(std::move(inner)), every_(every) {}
  std::string id() const override { return inner_->id(); }
  Capabilities capabilities() const override { return inner_->capabilities(); }
  int marked = 0;

 protected:
  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    auto out = inner_->rank(requests);
    for (std::size_t i = 0; i < out.size(); ++i)
      if (stable_hash(out[i].request_id) % static_cast<std::uint64_t>(every_) == 0) {
        // The model wrote an invented title first; ranking holds its grounded entries.
        out[i].first_entry_unusable = true;
        out[i].ungrounded.insert(out[i].ungrounded.begin(), "Imaginary Movie (2031)");
        ++marked;
      }
    report_all(out, on_response);
    return out;
  }

 private:
  std::unique_ptr<Recommender> inner_;
  int every_;
};

}  // namespace

TEST_CASE("an adapter answering all K candidates gets the same @k numbers as one answering the top k", "[audit][k]") {
  // K = 10 candidates, k = 5. The top-k scoring model and the same model
  // answering all 10 (as chat models do) must give identical set metrics:
  // every answer is cut to k once before the audits (audits/outcome.h).
  auto s = synthetic_setup(150, 40, 10, 12, 5);
  AuditOptions options;
  options.audits = {"popularity", "fairness", "accuracy"};
  options.attributes = s.workload.attributes;
  options.bootstrap_replicates = 50;
  const std::string keys = "relevance=popularity,noise=0,shift.gender.F=3,popularity_tilt=1";
  auto top_k = simulated(keys, s.context);
  AllCandidates all_k(simulated(keys, s.context));
  const auto a = run_audit(*top_k, s.workload, s.requests, options, {}, {}).report["metrics"];
  const auto b = run_audit(all_k, s.workload, s.requests, options, {}, {}).report["metrics"];
  const auto& ga = a["fairness"]["attributes"]["gender"];
  const auto& gb = b["fairness"]["attributes"]["gender"];
  for (const char* m : {"jaccard", "serp", "prag", "rbo"}) {
    CAPTURE(m);
    CHECK(gb["values"]["F"][m]["value"] == ga["values"]["F"][m]["value"]);
    CHECK(gb["snsr"][m]["value"] == ga["snsr"][m]["value"]);
  }
  // The shift changes the top 5, so Jaccard@5 is below 1; on whole lists of
  // all 10 candidates it would be 1 and SNSR 0.
  CHECK(gb["values"]["F"]["jaccard"]["value"].get<double>() < 0.9);
  CHECK(gb["snsr"]["jaccard"]["value"].get<double>() > 0.1);
  CHECK(gb["values"]["M"]["jaccard"]["value"].get<double>() == 1.0);  // M is not shifted
  for (const char* m : {"arp", "aplt", "aclt", "pop_rsp", "pop_reo", "gini_exposure", "catalog_coverage"}) {
    CAPTURE(m);
    REQUIRE(a["popularity"].contains(m));
    CHECK(b["popularity"][m]["value"] == a["popularity"][m]["value"]);
  }
  CHECK(b["popularity"]["delta_gap"] == a["popularity"]["delta_gap"]);
  for (const char* m : {"hit_rate", "ndcg", "mrr"}) {
    CAPTURE(m);
    CHECK(b["accuracy"][m]["value"] == a["accuracy"][m]["value"]);
  }
  // Metrics defined on whole rankings see the whole answer: popularity by
  // output rank has K ranks for the all-K adapter, k for the top-k one.
  CHECK(b["popularity"]["popularity_by_rank"].size() == 10);
  CHECK(a["popularity"]["popularity_by_rank"][5]["n"].get<double>() == 0);
}

TEST_CASE("in FaiRLLM compat mode per-value means, SNSR and SNSV equal FaiRLLM functions on the same lists", "[audit][compat]") {
  auto s = synthetic_setup(120, 40, 20, 5, 10);
  AuditOptions options;
  options.audits = {"fairness"};
  options.attributes = {{"gender", {"F", "M"}}, {"age", {"<18", "25-34", "56+"}}};
  options.fairllm_compat = true;
  options.bootstrap_replicates = 20;
  const std::string keys = "relevance=popularity,noise=0,shift.gender.F=2,shift.age.56+=1.5,shift.age.<18=0.5";
  auto model = simulated(keys, s.context);
  const auto report = run_audit(*model, s.workload, s.requests, options, {}, {}).report;
  // The same lists, by hand: the plan's calls answered by the same deterministic model.
  std::vector<EvalRequest> bases = s.requests.requests;
  for (auto& b : bases) b.request.user.attributes.clear();
  const auto plan = build_plan(bases, options);
  auto again = simulated(keys, s.context);
  const auto responses = again->rank(plan.calls);
  const std::map<std::string, std::string> metric_names = {{"jaccard", "jaccard"}, {"serp", "serp_ms"}, {"prag", "prag"}};
  for (const auto& set : options.attributes) {
    for (const auto& [ours, theirs] : metric_names) {
      std::vector<double> means;
      for (const auto& value : set.values) {
        double sum = 0;
        int n = 0;
        for (const auto& bp : plan.bases) {
          std::size_t i = 0;
          while (bp.profiles[i] != Profile{{set.name, value}}) ++i;
          const auto& neutral = responses[bp.identity].ranking;
          const auto& variant = responses[bp.counterfactual[i]].ranking;
          sum += fairllm::calc_metric_at_k(variant, neutral, 10, theirs);
          ++n;
        }
        means.push_back(sum / n);
        CAPTURE(set.name, value, ours);
        CHECK(report["metrics"]["fairness"]["attributes"][set.name]["values"][value][ours]["value"].get<double>() ==
              Approx(sum / n).margin(1e-12));
      }
      const auto [snsr, snsv] = fairllm::min_max_delta_std(means);
      CAPTURE(set.name, ours);
      CHECK(report["metrics"]["fairness"]["attributes"][set.name]["snsr"][ours]["value"].get<double>() == Approx(snsr).margin(1e-12));
      CHECK(report["metrics"]["fairness"]["attributes"][set.name]["snsv"][ours]["value"].get<double>() == Approx(snsv).margin(1e-12));
    }
  }
  CHECK(report["metrics"]["fairness"]["attributes"]["gender"]["snsr"]["serp"]["value"].get<double>() > 0.01);
}

TEST_CASE("a response whose first entry is not a candidate has no top-1 pick", "[audit][position]") {
  auto s = synthetic_setup(60, 40, 8, 9, 4);
  AuditOptions options;
  options.audits = {"position"};
  options.bootstrap_replicates = 20;
  FirstEntryHallucinated model(simulated("relevance=popularity,noise=0", s.context), 5);
  const auto report = run_audit(model, s.workload, s.requests, options, {}, {}).report;
  const auto& pos = report["metrics"]["position"];
  REQUIRE(model.marked > 0);
  CHECK(pos["top1_unusable"].get<int>() == model.marked);
  CHECK(pos["top1_picks"].get<int>() == pos["usable_responses"].get<int>() - model.marked);
  CHECK(pos["selection_rate"][0]["n"].get<double>() == pos["top1_picks"].get<double>());
  double picks = 0;
  for (const auto& rate : pos["selection_rate"]) picks += rate["value"].get<double>() * rate["n"].get<double>();
  CHECK(picks == Approx(pos["top1_picks"].get<double>()));
}

TEST_CASE("a report state whose unit keys are not numbers is bad input when merged", "[audit][merge]") {
  auto s = synthetic_setup(20, 40, 6, 3, 3);
  AuditOptions options;
  options.audits = {"fairness", "grounding"};
  options.attributes = s.workload.attributes;
  options.bootstrap_replicates = 5;
  auto model = simulated("relevance=popularity,noise=1,hallucination_rate=1", s.context);
  const nlohmann::ordered_json provenance = {{"adapter", "simulated"}, {"shard", {{"index", 0}, {"count", 1}}}};
  const nlohmann::json report = run_audit(*model, s.workload, s.requests, options, {}, provenance).report;
  auto paired = report;
  REQUIRE_FALSE(paired["state"]["fairness"]["paired"].empty());
  paired["state"]["fairness"]["paired"][0][0] = "not-a-number";
  CHECK_NOTHROW(merge_reports({report}));
  CHECK_THROWS_AS(merge_reports({paired}), BadInput);
  CHECK_THROWS_WITH(merge_reports({paired}), Catch::Matchers::Contains("fairness audit state: a unit key is not an unsigned integer"));
  auto examples = report;
  REQUIRE_FALSE(examples["state"]["grounding"]["examples"].empty());
  examples["state"]["grounding"]["examples"][0][0] = "-x";
  CHECK_THROWS_WITH(merge_reports({examples}), Catch::Matchers::Contains("grounding audit state: an example key is not an unsigned integer"));
}
