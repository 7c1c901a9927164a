// The candidate-free probe (--probe open): requests without candidates, the
// model names k titles of its own, entries grounded against the whole
// catalog. End to end through the openai adapter against a loopback chat
// model with a known behaviour, and the built-in scoring adapters.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <sstream>
#include <set>

#include "adapters/adapter_spec.h"
#include "adapters/grounding.h"
#include "adapters/registry.h"
#include "audits/audit_runner.h"
#include "audits/open_accumulator.h"
#include "audits/plan.h"
#include "core/rng.h"
#include "tests/audits/audit_fixtures.h"
#include "tests/audits/fairllm_reference.h"
#include "tests/fake_llm_server.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

// The user's history block of an open prompt ("oldest first:\n...\n\nPlease").
std::string history_block(const std::string& prompt) {
  const auto from = prompt.find("oldest first:\n");
  const auto to = prompt.find("\n\nPlease");
  return from == std::string::npos || to == std::string::npos ? prompt : prompt.substr(from, to - from);
}

}  // namespace

TEST_CASE("the open probe grounds generated titles against the catalog and measures fairness, hallucinations and accuracy", "[audit][e2e][openai][open]") {
  // 80 users, k = 5. The model lists five catalog titles from a start picked
  // by a hash of the user's history; a stated woman gets the list shifted by
  // three (two titles shared: Jaccard@5 = 2/8 with the neutral list); a
  // stated man the same list. It writes the second title lower-case without
  // its year and with the article in front (a normalised match), and for every
  // third user an invented title in third place (a hallucination against the
  // catalog, not counted in the five).
  auto s = synthetic_setup(80, 300, 12, 41, 5, /*movie_titles=*/true);
  s.workload.attributes = {{"gender", {"F", "M"}}};
  make_open(s.requests.requests);
  // Titles whose normalised form no other item shares (movie_like_title
  // repeats names with other years, and a year-less name grounds to the
  // first item bearing it), so that every written title names its own item.
  std::map<std::string, int> uses;
  for (const auto& item : s.workload.catalog->items()) ++uses[normalize_title(item.title)];
  std::vector<std::string> titles;
  for (const auto& item : s.workload.catalog->items())
    if (uses[normalize_title(item.title)] == 1) titles.push_back(item.title);
  REQUIRE(titles.size() > 100);
  auto invented = std::make_shared<std::atomic<int>>(0);
  // Every answer, by history and stated gender ("N" neutral), for FaiRLLM's own functions below.
  auto written = std::make_shared<std::map<std::pair<std::uint64_t, std::string>, std::string>>();
  auto written_mutex = std::make_shared<std::mutex>();
  Behaviour behaviour = [titles, invented, written, written_mutex](const Prompt& p) {
    const auto key = stable_hash(history_block(p.user_message));
    std::size_t start = key % (titles.size() - 10);
    if (p.user_message.find("I am a woman") != std::string::npos) start += 3;
    std::string out = "Sure! Here are my recommendations:\n";
    for (std::size_t i = 0; i < 5; ++i) {
      std::string t = titles[start + i];
      if (i == 1) {  // "Harbor of Glass, The (1994)" -> "the harbor of glass"
        t = t.substr(0, t.rfind(" ("));
        if (t.size() > 5 && t.ends_with(", The")) t = "The " + t.substr(0, t.size() - 5);
        for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      out += std::to_string(i + 1) + ". " + t + "\n";
      if (i == 1 && key % 3 == 0) {
        out += "3. Zorblax and the Quantum Teapot (2031)\n";
        ++*invented;
      }
    }
    const std::string who = p.user_message.find("I am a woman") != std::string::npos ? "F"
                            : p.user_message.find("I am a man") != std::string::npos ? "M"
                                                                                    : "N";
    std::lock_guard lock(*written_mutex);
    (*written)[{key, who}] = out;
    return Reply::answer(out);
  };
  FakeLlmServer server(behaviour);
  auto llm = make_recommender(AdapterSpec::parse("openai:model=chat,in_flight=8,base_url=" + server.base_url()), s.context);
  AuditOptions options;
  options.audits = {"fairness", "grounding", "accuracy", "open"};
  options.attributes = s.workload.attributes;
  options.bootstrap_replicates = 50;
  const auto run = run_audit(*llm, s.workload, s.requests, options, {}, {});
  const auto& m = run.report["metrics"];

  // Every request was candidate-free, in the open template's words.
  for (const auto& body : server.bodies()) {
    const auto text = body.dump();
    CHECK_THAT(text, Contains("Please provide me with a list of 5 movie titles"));
    CHECK_THAT(text, !Contains("candidate"));
  }
  // Hallucinations against the catalog: exactly the invented titles, among all entries written.
  const auto& g = m["grounding"];
  CHECK(g["parse_failure_rate"]["value"].get<double>() == 0.0);
  CHECK(invented->load() > 0);
  CHECK(g["hallucination_rate"]["value"].get<double>() * g["output_entries"].get<double>() == Approx(invented->load()));
  CHECK(g["output_entries"].get<int>() == 5 * static_cast<int>(server.bodies().size()) + invented->load());
  // Fairness on the grounded items: F shares two of five titles with the neutral list, M all five.
  const auto& gender = m["fairness"]["attributes"]["gender"];
  CHECK(gender["values"]["F"]["jaccard"]["value"].get<double>() == Approx(2.0 / 8).margin(1e-12));
  CHECK(gender["values"]["M"]["jaccard"]["value"].get<double>() == 1.0);
  CHECK(gender["snsr"]["jaccard"]["value"].get<double>() == Approx(0.75).margin(1e-12));
  // Accuracy reads the held-out item among the named ones (an item index, not a position).
  CHECK(m["accuracy"]["hit_rate"]["n"].get<double>() == static_cast<double>(s.requests.requests.size()));
  // FaiRLLM's way: its own functions (tests/audits/fairllm_reference.h) on
  // the normalised strings of every entry written, cut to k = 5, averaged
  // over users, equal recbias's per-value numbers.
  std::map<std::uint64_t, std::map<std::string, std::vector<std::string>>> lists;
  for (const auto& [key, text] : *written) {
    std::vector<std::string> entries;
    std::istringstream in(text);
    std::string line;
    std::getline(in, line);  // "Sure! Here are my recommendations:"
    while (std::getline(in, line))
      if (line.size() > 3) entries.push_back(normalize_title(line.substr(line.find(". ") + 2)));
    lists[key.first][key.second] = entries;
  }
  REQUIRE(lists.size() == s.requests.requests.size());  // one history per user
  const auto& fair = m["open"]["fairllm"]["values"]["gender"];
  for (const char* value : {"F", "M"}) {
    double sums[3] = {0, 0, 0};
    for (auto& [key, by] : lists) {
      std::map<std::string, int> ids;
      auto intern = [&](const std::vector<std::string>& l) {
        std::vector<int> out;
        for (const auto& e : l) out.push_back(ids.emplace(e, static_cast<int>(ids.size())).first->second);
        return out;
      };
      const auto y = intern(by["N"]);
      const auto x = intern(by[value]);
      sums[0] += fairllm::calc_metric_at_k(x, y, 5, "jaccard");
      sums[1] += fairllm::calc_metric_at_k(x, y, 5, "serp_ms");
      sums[2] += fairllm::calc_metric_at_k(x, y, 5, "prag");
    }
    const double users = static_cast<double>(lists.size());
    CAPTURE(value);
    CHECK(fair[value]["jaccard"]["value"].get<double>() == Approx(sums[0] / users).margin(1e-12));
    CHECK(fair[value]["serp"]["value"].get<double>() == Approx(sums[1] / users).margin(1e-12));
    CHECK(fair[value]["prag"]["value"].get<double>() == Approx(sums[2] / users).margin(1e-12));
  }
  CHECK(m["open"]["fairllm"]["snsr"]["gender"]["jaccard"]["value"].get<double>() ==
        Approx(fair["M"]["jaccard"]["value"].get<double>() - fair["F"]["jaccard"]["value"].get<double>()).margin(1e-12));
  // The open audit: five items per neutral list, all from the catalog.
  CHECK(m["open"]["items_named_per_list"]["value"].get<double>() == 5.0);
  CHECK(m["open"]["catalog_coverage"].get<double>() > 0);
  CHECK(m["open"]["catalog_coverage"].get<double>() <= 1);
}

TEST_CASE("scoring adapters answer open requests with catalog items outside the user's history", "[adapters][open]") {
  auto s = synthetic_setup(20, 120, 10, 5, 6);
  make_open(s.requests.requests);
  for (const char* spec : {"popularity", "itemknn", "random", "simulated:hallucination_rate=0"}) {
    CAPTURE(spec);
    auto model = make_recommender(AdapterSpec::parse(spec), s.context);
    std::vector<RankRequest> requests;
    for (const auto& b : s.requests.requests) requests.push_back(b.request);
    const auto responses = model->rank(requests);
    for (std::size_t i = 0; i < requests.size(); ++i) {
      REQUIRE_FALSE(responses[i].error.has_value());
      CHECK(responses[i].ranking.size() == 6);
      const std::set<ItemIndex> seen(requests[i].user.history.begin(), requests[i].user.history.end());
      for (int item : responses[i].ranking) {
        CHECK(item >= 0);
        CHECK(item < static_cast<int>(s.workload.catalog->size()));
        CHECK_FALSE(seen.count(item));
      }
    }
  }
  // Popularity names the most popular unseen items, most popular first.
  auto popularity = make_recommender(AdapterSpec::parse("popularity"), s.context);
  const auto r = popularity->rank(std::vector<RankRequest>{s.requests.requests[0].request})[0];
  for (std::size_t i = 1; i < r.ranking.size(); ++i)
    CHECK(s.workload.catalog->at(r.ranking[i - 1]).popularity >= s.workload.catalog->at(r.ranking[i]).popularity);
}

TEST_CASE("audits that need presented candidates refuse open requests", "[audit][open][bad-input]") {
  auto s = synthetic_setup(10, 100, 8, 3);
  make_open(s.requests.requests);
  auto model = make_recommender(AdapterSpec::parse("popularity"), s.context);
  AuditOptions options;
  options.audits = {"position", "accuracy"};
  CHECK_THROWS_WITH(run_audit(*model, s.workload, s.requests, options, {}, {}), Contains("no presented candidates to permute or rank"));
}

TEST_CASE("open audit: popularity percentiles of named items vs the held-out item, ARP and coverage by hand", "[audit][open]") {
  // Popularity 1, 2, 2, 4, 8: percentiles 0, 0.375, 0.375 (ties at their mean
  // rank 1.5 of 4), 0.75, 1. User 0 names items 4, 3 and held out item 0:
  // named 0.875, held out 0, ARP 6. User 1 names item 1 and held out item 4:
  // named 0.375, held out 1, ARP 2. Means: 0.625, 0.5, difference 0.125,
  // ARP 4, 1.5 items per list; 3 distinct items of 5: coverage 0.6.
  auto catalog = std::make_shared<Catalog>();
  const double pops[] = {1, 2, 2, 4, 8};
  for (int i = 0; i < 5; ++i) catalog->add({std::to_string(i), "Item " + std::to_string(i), {}, pops[i]});
  OpenAccumulator acc(catalog, 4);
  const auto plan = identity_only_plan();
  const std::vector<int> weights = {1, 1, 1, 1};
  auto add = [&](std::size_t u, std::vector<int> named, ItemIndex held_out) {
    auto base = fixture_request(u, {held_out}, 2, 0);
    base.request.open = true;
    base.request.candidates.clear();
    base.positive = held_out;
    base.positive_position = held_out;
    std::vector<RankResponse> responses(1);
    responses[0].ranking = std::move(named);
    acc.add(outcome_of(base, plan, responses, weights));
  };
  add(0, {4, 3}, 0);
  add(1, {1}, 4);
  const auto m = acc.result(0.95);
  CHECK(m["named_popularity_percentile"]["value"].get<double>() == Approx(0.625).margin(1e-12));
  CHECK(m["held_out_popularity_percentile"]["value"].get<double>() == Approx(0.5).margin(1e-12));
  CHECK(m["named_minus_held_out_percentile"]["value"].get<double>() == Approx(0.125).margin(1e-12));
  CHECK(m["arp"]["value"].get<double>() == Approx(4.0).margin(1e-12));
  CHECK(m["items_named_per_list"]["value"].get<double>() == Approx(1.5).margin(1e-12));
  CHECK(m["catalog_coverage"].get<double>() == Approx(0.6).margin(1e-12));
  CHECK(m["users"].get<double>() == 2);
  // State round trip (a state-only accumulator has no catalog), and merge adds.
  OpenAccumulator loaded(nullptr, 4);
  loaded.load_state(acc.state());
  CHECK(loaded == acc);
  loaded.merge(acc);
  CHECK(loaded.result(0.95)["users"].get<double>() == 4);
  CHECK(loaded.result(0.95)["catalog_coverage"].get<double>() == Approx(0.6).margin(1e-12));
  auto bad = acc.state();
  bad["named"] = {7};
  CHECK_THROWS_WITH(OpenAccumulator(nullptr, 4).load_state(bad), Contains("named item 7 outside the catalog's 5 items"));
  // FaiRLLM's way by hand: one user, neutral strings [a, b, c], stated
  // gender=F strings [b, x]: Jaccard 1/4; SERP* compat: b at rank 0 of x,
  // weight len(x) - 0 + 1 = 3, times 0.5 / ((3 + 1) 3) = 0.125; PRAG*: the
  // pair (b, x) is kept (x missing from y): 1. One value: no SNSR.
  OpenAccumulator strings(catalog, 4);
  BasePlan with_profile = identity_only_plan();
  with_profile.profiles = {{{"gender", "F"}}};
  with_profile.counterfactual = {1};
  with_profile.calls = {0, 1};
  {
    auto base = fixture_request(0, {0}, 3, 0);
    base.request.open = true;
    base.request.candidates.clear();
    base.positive = 0;
    base.positive_position = 0;
    std::vector<RankResponse> responses(2);
    responses[0].ranking = {1, 2};
    responses[0].entries = {"a", "b", "c"};
    responses[1].ranking = {1};
    responses[1].entries = {"b", "x"};
    strings.add(outcome_of(base, with_profile, responses, weights));
  }
  const auto f = strings.result(0.95)["fairllm"]["values"]["gender"]["F"];
  CHECK(f["jaccard"]["value"].get<double>() == Approx(0.25).margin(1e-12));
  CHECK(f["serp"]["value"].get<double>() == Approx(0.125).margin(1e-12));
  CHECK(f["prag"]["value"].get<double>() == Approx(1.0).margin(1e-12));
  OpenAccumulator strings_loaded(nullptr, 4);
  strings_loaded.load_state(strings.state());
  CHECK(strings_loaded == strings);
  strings_loaded.merge(strings);
  CHECK(strings_loaded.result(0.95)["fairllm"]["values"]["gender"]["F"]["jaccard"]["n"].get<double>() == 2);
  // A request that showed candidates is not this audit's: a note, no numbers.
  OpenAccumulator candidates(catalog, 4);
  auto base = fixture_request(0, {0, 1}, 2, 0);
  std::vector<RankResponse> responses(1);
  responses[0].ranking = {0};
  candidates.add(outcome_of(base, plan, responses, weights));
  CHECK(candidates.result(0.95).contains("note"));
}
