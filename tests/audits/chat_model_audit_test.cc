// End to end through the openai adapter: a loopback server that answers like
// a chat model (all K candidates, eight answer formats, hallucinations,
// duplicates, temperature) audited by recbias, against the same ranking
// function audited as a scoring adapter and against values computed directly
// from its known behaviour.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "adapters/adapter_spec.h"
#include "adapters/registry.h"
#include "audits/audit_runner.h"
#include "tests/audits/audit_fixtures.h"
#include "tests/fake_llm_server.h"

using namespace recbias;
using namespace recbias::testing;

namespace {

// The chat model's ranking function as a scoring adapter: same scores, top-k by score.
class ChatModelScorer final : public Recommender {
 public:
  ChatModelScorer(std::shared_ptr<const Catalog> catalog, ChatModelOptions options) : catalog_(std::move(catalog)), options_(std::move(options)) {}
  std::string id() const override { return "chat-model-scorer"; }
  Capabilities capabilities() const override { return {.scores = true}; }

  std::vector<int> top_k(const RankRequest& r) const {
    std::vector<std::string> titles;
    for (auto c : r.candidates) titles.push_back(catalog_->at(c).title);
    const auto s = chat_model_scores(titles, r.user.attributes, options_, 0.0, 0, "");
    std::vector<int> order(s.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return s[static_cast<std::size_t>(a)] > s[static_cast<std::size_t>(b)]; });
    order.resize(static_cast<std::size_t>(r.k));
    return order;
  }

 protected:
  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    std::vector<RankResponse> out;
    for (const auto& r : requests) {
      RankResponse response;
      response.request_id = r.id;
      response.ranking = top_k(r);
      response.usage.calls = 1;
      out.push_back(std::move(response));
    }
    report_all(out, on_response);
    return out;
  }

 private:
  std::shared_ptr<const Catalog> catalog_;
  ChatModelOptions options_;
};

std::unique_ptr<Recommender> openai_at(const FakeLlmServer& server, const AdapterContext& context, const std::string& extra = "") {
  return make_recommender(AdapterSpec::parse("openai:model=chat,in_flight=8,base_url=" + server.base_url() + extra), context);
}

}  // namespace

TEST_CASE("a chat model that lists all K candidates in many formats is audited like its ranking function", "[audit][e2e][openai]") {
  // 120 users, K = 12 candidates, k = 5. The chat model's gender effect
  // (stating gender F adds a per-title taste of scale 2) must show in gender
  // SNSR; age changes nothing, so its SNSR must be 0. At temperature 0 the
  // grounded top-5 of every answer equals the scorer's top-5 (hallucinations
  // are inserted after the first entry or first; duplicates after), so the
  // numbers agree exactly, not only within intervals.
  auto s = synthetic_setup(120, 300, 12, 17, 5, /*movie_titles=*/true);
  s.workload.attributes = {{"gender", {"F", "M"}}, {"age", {"18-24", "56+"}}};
  ChatModelOptions behaviour;
  behaviour.effect = 2.0;
  behaviour.hallucination_rate = 0.15;
  behaviour.first_hallucinated_rate = 0.05;
  behaviour.duplicate_rate = 0.1;
  auto stats = std::make_shared<ChatModelStats>();
  FakeLlmServer server(chat_model(behaviour, stats));
  AuditOptions options;
  options.audits = {"position", "popularity", "fairness", "grounding", "accuracy"};
  options.attributes = s.workload.attributes;
  options.permutations = 4;
  options.bootstrap_replicates = 100;
  auto llm = openai_at(server, s.context);
  const auto chat = run_audit(*llm, s.workload, s.requests, options, {}, {}).report["metrics"];
  ChatModelScorer scorer(s.context.catalog, behaviour);
  const auto scored = run_audit(scorer, s.workload, s.requests, options, {}, {}).report["metrics"];

  const auto& g_chat = chat["fairness"]["attributes"]["gender"];
  const auto& g_scored = scored["fairness"]["attributes"]["gender"];
  for (const char* m : {"jaccard", "serp", "prag", "rbo"}) {
    CAPTURE(m);
    CHECK(g_chat["snsr"][m]["value"].get<double>() == Approx(g_scored["snsr"][m]["value"].get<double>()).margin(1e-12));
    CHECK(chat["fairness"]["attributes"]["age"]["snsr"][m]["value"].get<double>() == 0.0);
  }
  // The effect is real and seen at k: Jaccard@5 of F against neutral well below 1.
  CHECK(g_chat["snsr"]["jaccard"]["value"].get<double>() > 0.2);
  CHECK(g_chat["values"]["M"]["jaccard"]["value"].get<double>() == 1.0);

  // Popularity, from the known behaviour: ARP = mean over users of the mean
  // training popularity of the scorer's top-5 for the neutral profile.
  double arp = 0;
  for (const auto& r : s.requests.requests) {
    auto neutral = r.request;
    neutral.user.attributes.clear();
    double sum = 0;
    const auto top = scorer.top_k(neutral);
    for (int p : top) sum += s.workload.catalog->at(neutral.candidates[static_cast<std::size_t>(p)]).popularity;
    arp += sum / static_cast<double>(top.size());
  }
  arp /= static_cast<double>(s.requests.requests.size());
  CHECK(chat["popularity"]["arp"]["value"].get<double>() == Approx(arp).epsilon(1e-9));
  CHECK(chat["popularity"]["aplt"]["value"] == scored["popularity"]["aplt"]["value"]);
  CHECK(chat["accuracy"]["ndcg"]["value"] == scored["accuracy"]["ndcg"]["value"]);

  // Grounding saw what the server wrote: every answer parsed, hallucinations
  // and duplicates counted, answers with an invented first entry have no top-1.
  const auto& grounding = chat["grounding"];
  CHECK(grounding["parse_failure_rate"]["value"].get<double>() == 0.0);
  CHECK(grounding["responses"].get<int>() == stats->answers.load());
  CHECK(grounding["output_entries"].get<int>() == stats->entries.load());
  const double invented = grounding["hallucination_rate"]["value"].get<double>() + grounding["out_of_range_rate"]["value"].get<double>();
  CHECK(invented * grounding["output_entries"].get<double>() == Approx(stats->hallucinated.load()));
  CHECK(grounding["duplicate_rate"]["value"].get<double>() * grounding["output_entries"].get<double>() == Approx(stats->duplicated.load()));
  CHECK(stats->first_hallucinated.load() > 0);
  CHECK(chat["position"]["top1_unusable"].get<int>() > 0);
  CHECK(chat["position"]["top1_unusable"].get<int>() <= stats->first_hallucinated.load());
}

TEST_CASE("at temperature above 0 each variant is its own draw and the chat model's answers vary", "[audit][e2e][openai]") {
  auto s = synthetic_setup(60, 300, 12, 23, 5, /*movie_titles=*/true);
  s.workload.attributes = {{"gender", {"F", "M"}}};
  ChatModelOptions behaviour;  // no attribute effect at all
  behaviour.vary_formats = false;
  FakeLlmServer server(chat_model(behaviour));
  AuditOptions options;
  options.audits = {"fairness"};
  options.attributes = s.workload.attributes;
  options.bootstrap_replicates = 100;
  auto llm = openai_at(server, s.context, ",temperature=0.7,seed=11");
  const auto report = run_audit(*llm, s.workload, s.requests, options, {}, {}).report["metrics"]["fairness"];
  // Every call carries its own seed: neutral, noise floor and each value.
  std::set<std::int64_t> seeds;
  for (const auto& body : server.bodies()) seeds.insert(body["seed"].get<std::int64_t>());
  CHECK(seeds.size() == 4);  // sample 0, the noise floor's, and one per value
  // Noise alone separates the lists: the noise floor is below 1. With no
  // effect, each value's similarity to neutral has the noise floor's
  // distribution. Had the values shared the neutral prompt's seed (the old
  // plan: sample 0 for all), this server — whose random numbers depend on
  // the seed alone — would answer them with nearly the neutral list
  // (Jaccard ≈ 1, far above the floor).
  const double floor = report["noise_floor"]["jaccard"]["value"].get<double>();
  const auto& floor_ci = report["noise_floor"]["jaccard"]["ci"];
  CHECK(floor < 0.9);
  for (const char* v : {"F", "M"}) {
    const auto& value = report["attributes"]["gender"]["values"][v];
    const double d = value["jaccard"]["value"].get<double>() - floor;
    // SEs from the 95% intervals; 3.5 SE of the difference: a false failure
    // has probability < 0.05% (and the seeds are fixed).
    const double se_v = (value["jaccard"]["ci"][1].get<double>() - value["jaccard"]["ci"][0].get<double>()) / 3.92;
    const double se_f = (floor_ci[1].get<double>() - floor_ci[0].get<double>()) / 3.92;
    CAPTURE(v, floor, d, se_v, se_f);
    CHECK(std::abs(d) < 3.5 * std::sqrt(se_v * se_v + se_f * se_f));
    CHECK_FALSE(value["test"]["significant"].get<bool>());
  }
}

TEST_CASE("first-token scoring: the chat model's label log-probabilities are audited like its ranking function", "[audit][e2e][openai][scoring]") {
  // The server answers one token, with every label's log-probability
  // log-softmax(chat_model_scores) over the lettered candidates. Ranking by
  // those scores is the scorer's ranking, so every number agrees exactly,
  // and each answer costs one completion token.
  auto s = synthetic_setup(80, 300, 12, 29, 5, /*movie_titles=*/true);
  s.workload.attributes = {{"gender", {"F", "M"}}};
  ChatModelOptions behaviour;
  behaviour.effect = 2.0;
  behaviour.primacy = 1.0;
  FakeLlmServer server([behaviour](const Prompt& p) {
    const auto& text = p.user_message;
    const auto titles = lettered_candidates(text);
    std::map<std::string, std::string> profile;
    if (text.starts_with("I am a woman.")) profile["gender"] = "F";  // the built-in templates state it in words
    if (text.starts_with("I am a man.")) profile["gender"] = "M";
    const auto z = chat_model_scores(titles, profile, behaviour, 0.0, 0, "");
    double m = -1e300, sum = 0;
    for (double v : z) m = std::max(m, v);
    for (double v : z) sum += std::exp(v - m);
    std::vector<std::pair<std::string, double>> top;
    for (std::size_t j = 0; j < z.size(); ++j) top.emplace_back(std::string(1, static_cast<char>('A' + j)), z[j] - m - std::log(sum));
    std::stable_sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    return Reply::first_token(top);
  });
  AuditOptions options;
  options.audits = {"position", "popularity", "fairness", "grounding", "accuracy"};
  options.attributes = s.workload.attributes;
  options.permutations = 4;
  options.bootstrap_replicates = 50;
  auto llm = openai_at(server, s.context, ",scoring=first-token");
  const auto chat = run_audit(*llm, s.workload, s.requests, options, {}, {}).report["metrics"];
  ChatModelScorer scorer(s.context.catalog, behaviour);
  const auto scored = run_audit(scorer, s.workload, s.requests, options, {}, {}).report["metrics"];
  CHECK(chat["position"]["tvd"]["value"] == scored["position"]["tvd"]["value"]);
  CHECK(chat["position"]["tvd"]["value"].get<double>() > 0.05);  // the primacy is seen
  CHECK(chat["accuracy"]["ndcg"]["value"] == scored["accuracy"]["ndcg"]["value"]);
  CHECK(chat["popularity"]["arp"]["value"] == scored["popularity"]["arp"]["value"]);
  CHECK(chat["fairness"]["attributes"]["gender"]["snsr"]["jaccard"]["value"] == scored["fairness"]["attributes"]["gender"]["snsr"]["jaccard"]["value"]);
  CHECK(chat["grounding"]["parse_failure_rate"]["value"].get<double>() == 0.0);
  CHECK(chat["cost"]["completion_tokens"].get<double>() == chat["cost"]["calls"].get<double>());  // one token per call
}

TEST_CASE("a server that ignores the structured-output constraint is reported as such", "[audit][e2e][openai][structured]") {
  auto s = synthetic_setup(40, 300, 8, 31, 4, /*movie_titles=*/true);
  AuditOptions options;
  options.audits = {"grounding", "accuracy"};
  options.bootstrap_replicates = 50;
  for (const bool honour : {true, false}) {
    FakeLlmServer server([honour](const Prompt& p) {
      if (!honour) return Reply::answer(bracket_answer({1, 0, 2, 3, 4, 5, 6, 7}));  // ignores it: all K, as indices
      nlohmann::json ranking = nlohmann::json::array();
      for (std::size_t j = 0; j < 4 && j < p.candidates.size(); ++j) ranking.push_back(p.candidates[j]);
      return Reply::answer(nlohmann::json{{"ranking", ranking}}.dump());
    });
    auto llm = openai_at(server, s.context, ",structured=json_schema,template=listwise");
    const auto grounding = run_audit(*llm, s.workload, s.requests, options, {}, {}).report["metrics"]["grounding"];
    INFO("honour = " << honour);
    CHECK(grounding["constrained_responses"].get<int>() == static_cast<int>(s.requests.requests.size()));
    CHECK(grounding["constraint_ignored_rate"]["value"].get<double>() == (honour ? 0.0 : 1.0));
    CHECK(grounding["parse_failure_rate"]["value"].get<double>() == 0.0);  // grounded as text either way
  }
}
