// The openai adapter's scoring modes (first-token, pointwise, loglik),
// structured outputs and request pass-through, against the loopback server
// answering in OpenAI's exact logprob formats.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include <catch2/catch.hpp>

#include "adapters/adapter_spec.h"
#include "adapters/openai_protocol.h"
#include "adapters/registry.h"
#include "core/errors.h"
#include "tests/adapters/adapter_fixtures.h"
#include "tests/fake_llm_server.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

std::unique_ptr<Recommender> scoring_openai(const FakeLlmServer& server, const std::string& keys) {
  return make_recommender(
      AdapterSpec::parse("openai:model=test-model,backoff_ms=5,max_backoff_ms=50,max_retries=1,timeout_ms=2000,base_url=" + server.base_url() +
                         keys),
      small_context());
}

double log_sum_exp(double a, double b) { return std::max(a, b) + std::log1p(std::exp(-std::abs(a - b))); }

}  // namespace

TEST_CASE("first-token scoring reads the labels' log-probabilities, one token per request", "[openai][scoring]") {
  // The server prefers Movie Three, then Five, One, Two; Four is not among top_logprobs.
  const std::map<std::string, double> logprob = {
      {"Movie Three (1993)", -0.3}, {"Movie Five (1995)", -1.5}, {"Movie One (1991)", -2.0}, {"Movie Two (1992)", -3.0}};
  FakeLlmServer server([&](const Prompt& p) {
    std::vector<std::pair<std::string, double>> top;
    const auto titles = lettered_candidates(p.user_message);
    for (std::size_t i = 0; i < titles.size(); ++i)
      if (auto it = logprob.find(titles[i]); it != logprob.end()) top.emplace_back(std::string(1, static_cast<char>('A' + i)), it->second);
    top.emplace_back(" A", -4.0);        // a second spelling of A: its probability adds to A's
    top.emplace_back("The", -5.0);       // not a label
    top.emplace_back("AB", -6.0);        // a multi-letter token names no candidate
    auto r = Reply::first_token(top);
    r.prompt_tokens = 150;
    return r;
  });
  auto rec = scoring_openai(server, ",scoring=first-token");
  CHECK(rec->capabilities().scores);
  CHECK_THAT(rec->id(), Contains("scoring=first-token"));
  CHECK_THAT(rec->id(), Contains("template=first-token@"));
  auto request = small_request("x", {0, 1, 2, 3, 4}, 3);
  const auto out = rec->rank(std::vector<RankRequest>{request});
  REQUIRE(out.size() == 1);
  REQUIRE_FALSE(out[0].error);
  const auto body = server.bodies().at(0);
  CHECK(body["max_tokens"] == 1);
  CHECK(body["logprobs"] == true);
  CHECK(body["top_logprobs"] == 5);  // K
  CHECK_THAT(body["messages"][1]["content"].get<std::string>(), Contains("A. Movie One (1991)\nB. Movie Two (1992)\nC. Movie Three (1993)"));
  REQUIRE(out[0].scores);
  const auto& s = *out[0].scores;
  REQUIRE(s.size() == 5);
  CHECK(s[0] == Approx(log_sum_exp(-2.0, -4.0)));  // "A" and " A"
  CHECK(s[1] == Approx(-3.0));
  CHECK(s[2] == Approx(-0.3));
  CHECK(std::isinf(s[3]));  // Four: masked
  CHECK(s[4] == Approx(-1.5));
  CHECK(out[0].ranking == std::vector<int>{2, 4, 0});
  CHECK(out[0].usage.calls == 1);
  CHECK(out[0].usage.completion_tokens == 1);
  CHECK(out[0].usage.prompt_tokens == 150);
  REQUIRE(out[0].raw);
  CHECK(out[0].raw->format == "logprobs");

  // Grounding again from the raw answer (what the response cache does) gives the same.
  RankResponse again = out[0];
  again.scores.reset();
  again.ranking.clear();
  rec->ground(request, again);
  CHECK(again.ranking == out[0].ranking);
  REQUIRE(again.scores);
  CHECK((*again.scores)[2] == Approx(-0.3));
}

TEST_CASE("first-token scoring refuses more candidates than single-letter labels", "[openai][scoring][bad-input]") {
  FakeLlmServer server([](const Prompt&) { return Reply::first_token({{"A", -0.1}}); });
  auto rec = scoring_openai(server, ",scoring=first-token");
  RankRequest big = small_request("big", {0, 1, 2, 3, 4, 5}, 3);
  for (int i = 0; i < 15; ++i) big.candidates.push_back(static_cast<ItemIndex>(i % 6));  // 21 candidates
  try {
    rec->rank(std::vector<RankRequest>{big});
    FAIL("expected BadInput");
  } catch (const BadInput& e) {
    CHECK_THAT(e.what(), Contains("at most 20 candidates"));
    CHECK_THAT(e.what(), Contains("request big has 21"));
  }
  CHECK(server.hits() == 0);
}

TEST_CASE("a server that ignores logprobs ends a scoring run with one error naming the keys", "[openai][scoring][faults]") {
  FakeLlmServer server([](const Prompt&) { return Reply::answer("C"); });  // no logprobs at all
  SECTION("first-token") {
    auto rec = scoring_openai(server, ",scoring=first-token");
    try {
      rec->rank(std::vector<RankRequest>{small_request("a", {0, 1, 2}), small_request("b", {0, 1, 2})});
      FAIL("expected BackendFailure");
    } catch (const BackendFailure& e) {
      CHECK_THAT(e.what(), Contains("scoring=first-token"));
      CHECK_THAT(e.what(), Contains("logprobs=true"));
      CHECK_THAT(e.what(), Contains("top_logprobs"));
    }
  }
  SECTION("loglik") {
    auto rec = scoring_openai(server, ",scoring=loglik");
    try {
      rec->rank(std::vector<RankRequest>{small_request("a", {0, 1, 2})});
      FAIL("expected BackendFailure");
    } catch (const BackendFailure& e) {
      CHECK_THAT(e.what(), Contains("scoring=loglik"));
      CHECK_THAT(e.what(), Contains("echo=true"));
    }
  }
}

TEST_CASE("pointwise scoring asks once per candidate with the shared prefix first", "[openai][scoring]") {
  // log P(Yes) per title; No gets log(1 - P(Yes)). Movie Two lists only "No" (Yes bounded by the smallest listed).
  const std::map<std::string, double> p_yes = {{"Movie One (1991)", 0.2}, {"Movie Three (1993)", 0.9}, {"Movie Four (1994)", 0.6}};
  FakeLlmServer server([&](const Prompt& p) {
    for (const auto& [title, p1] : p_yes)
      if (p.user_message.find("\"" + title + "\"") != std::string::npos)
        return Reply::first_token({{"Yes", std::log(p1 * 0.75)}, {" yes", std::log(p1 * 0.25)}, {"No", std::log(1 - p1)}});
    return Reply::first_token({{"No", std::log(0.95)}, {"Maybe", std::log(0.01)}});
  });
  auto rec = scoring_openai(server, ",scoring=pointwise,top_logprobs=5");
  const auto out = rec->rank(std::vector<RankRequest>{small_request("x", {0, 1, 2, 3}, 2)});
  REQUIRE_FALSE(out[0].error);
  const auto bodies = server.bodies();
  REQUIRE(bodies.size() == 4);
  CHECK(out[0].usage.calls == 4);
  // Every prompt starts with the same prefix (profile and history) and differs only after it.
  std::vector<std::string> prompts;
  for (const auto& b : bodies) {
    CHECK(b["max_tokens"] == 1);
    CHECK(b["top_logprobs"] == 5);
    prompts.push_back(b["messages"][1]["content"]);
  }
  const auto prefix_end = prompts[0].find("Will I like");
  REQUIRE(prefix_end != std::string::npos);
  for (const auto& p : prompts) CHECK(p.substr(0, prefix_end) == prompts[0].substr(0, prefix_end));
  REQUIRE(out[0].scores);
  const auto& s = *out[0].scores;
  CHECK(s[0] == Approx(std::log(0.2) - std::log(0.8)));
  CHECK(s[1] == Approx(std::log(0.01) - std::log(0.95)));  // Yes absent: bounded by the smallest listed
  CHECK(s[2] == Approx(std::log(0.9) - std::log(0.1)));
  CHECK(s[3] == Approx(std::log(0.6) - std::log(0.4)));
  CHECK(out[0].ranking == std::vector<int>{2, 3});
}

TEST_CASE("loglik scoring sums the title's echoed log-probabilities at code-point offsets", "[openai][scoring]") {
  // Titles with a non-ASCII character before them in the prompt: offsets are code points, not bytes.
  auto context = small_context();
  auto catalog = std::make_shared<Catalog>(*context.catalog);
  catalog->add({"7", "Amélie (2001)", {"Comedy"}, 5});
  context.catalog = catalog;
  std::map<std::string, std::vector<double>> per_title = {
      {" Movie One (1991)", {-1.0, -0.5}}, {" Movie Two (1992)", {-2.0, -2.0}}, {" Amélie (2001)", {-0.25, -0.25}}};
  FakeLlmServer server([&](const Prompt& p) {
    const std::string& text = p.user_message;
    for (const auto& [title, lps] : per_title) {
      if (text.size() < title.size() || text.compare(text.size() - title.size(), title.size(), title) != 0) continue;
      const std::string prompt = text.substr(0, text.size() - title.size());
      std::size_t n = 0;
      for (unsigned char c : prompt) n += (c & 0xC0) != 0x80;
      std::size_t t = 0;
      for (unsigned char c : title) t += (c & 0xC0) != 0x80;
      // Tokens: the whole prompt as one (null logprob), then the title in two halves, then one generated token.
      auto r = echo_answer(text + " x", {0, n, n + t / 2, n + t}, {0.0, lps[0], lps[1], -9.0});
      return r;
    }
    return Reply::error(400);
  });
  auto request = small_request("x", {0, 1, 6}, 3);
  request.user.history = {6, 0};  // "Amélie" in the history: multi-byte text before the candidate
  for (const char* mode : {"sum", "mean"}) {
    auto rec = make_recommender(AdapterSpec::parse(std::string("openai:model=m,scoring=loglik,max_retries=0,loglik=") + mode +
                                                   ",base_url=" + server.base_url()),
                                context);
    const auto out = rec->rank(std::vector<RankRequest>{request});
    INFO(mode << ": " << out[0].error.value_or(""));
    REQUIRE_FALSE(out[0].error);
    REQUIRE(out[0].scores);
    const double scale = std::string(mode) == "mean" ? 0.5 : 1.0;
    CHECK((*out[0].scores)[0] == Approx(-1.5 * scale));
    CHECK((*out[0].scores)[1] == Approx(-4.0 * scale));
    CHECK((*out[0].scores)[2] == Approx(-0.5 * scale));
    CHECK(out[0].ranking == std::vector<int>{2, 0, 1});
  }
  const auto body = server.bodies().at(0);
  CHECK(body["echo"] == true);
  CHECK(body["logprobs"] == 1);
  CHECK_FALSE(body.contains("messages"));
}

TEST_CASE("structured outputs send the schema in each spelling and flag answers that break it", "[openai][structured]") {
  bool honour = true;
  FakeLlmServer server([&](const Prompt&) {
    if (!honour) return Reply::answer("1. Movie Two (1992)\n2. Movie One (1991)");  // ignores the constraint
    return Reply::answer(R"j({"ranking": ["Movie Two (1992)", "Movie One (1991)"]})j");
  });
  const auto request = small_request("x", {0, 1, 2}, 2);
  SECTION("json_schema: honoured, then ignored") {
    auto rec = scoring_openai(server, ",structured=json_schema");
    CHECK_THAT(rec->id(), Contains("structured=json_schema"));
    CHECK_THAT(rec->id(), Contains("template=json@"));
    auto out = rec->rank(std::vector<RankRequest>{request});
    const auto body = server.bodies().back();
    const auto& schema = body["response_format"]["json_schema"]["schema"];
    CHECK(body["response_format"]["type"] == "json_schema");
    CHECK(schema["properties"]["ranking"]["minItems"] == 2);
    CHECK(schema["properties"]["ranking"]["items"]["enum"] ==
          nlohmann::json::array({"Movie One (1991)", "Movie Two (1992)", "Movie Three (1993)"}));
    CHECK(out[0].constrained);
    CHECK_FALSE(out[0].constraint_ignored);
    CHECK(out[0].ranking == std::vector<int>{1, 0});
    honour = false;
    out = rec->rank(std::vector<RankRequest>{request});
    CHECK(out[0].constrained);
    CHECK(out[0].constraint_ignored);
    CHECK(out[0].ranking == std::vector<int>{1, 0});  // still grounded as text
  }
  SECTION("the vLLM and llama.cpp spellings") {
    scoring_openai(server, ",structured=vllm")->rank(std::vector<RankRequest>{request});
    CHECK(server.bodies().back().contains("structured_outputs"));
    scoring_openai(server, ",structured=guided_json")->rank(std::vector<RankRequest>{request});
    CHECK(server.bodies().back().contains("guided_json"));
    scoring_openai(server, ",structured=llama")->rank(std::vector<RankRequest>{request});
    CHECK(server.bodies().back().contains("json_schema"));
    CHECK_FALSE(server.bodies().back().contains("response_format"));
  }
  SECTION("off by default: nothing is constrained") {
    const auto out = scoring_openai(server, "")->rank(std::vector<RankRequest>{request});
    CHECK_FALSE(out[0].constrained);
    CHECK_FALSE(server.bodies().back().contains("response_format"));
  }
}

TEST_CASE("follows_ranking_schema accepts exactly the schema's answers", "[openai][structured]") {
  const std::vector<std::string> titles = {"A (1)", "B (2)", "C (3)"};
  CHECK(follows_ranking_schema(R"j({"ranking": ["B (2)", "A (1)"]})j", titles, 2));
  CHECK(follows_ranking_schema("<think>hm</think>{\"ranking\": [\"C (3)\", \"A (1)\"]}", titles, 2));
  CHECK_FALSE(follows_ranking_schema(R"j({"ranking": ["B (2)"]})j", titles, 2));                      // too short
  CHECK_FALSE(follows_ranking_schema(R"j({"ranking": ["B (2)", "B (2)"]})j", titles, 2));             // duplicate
  CHECK_FALSE(follows_ranking_schema(R"j({"ranking": ["B (2)", "Z (9)"]})j", titles, 2));             // not a candidate
  CHECK_FALSE(follows_ranking_schema(R"j({"ranking": ["B (2)", "A (1)"], "why": "x"})j", titles, 2)); // extra key
  CHECK_FALSE(follows_ranking_schema(R"j(["B (2)", "A (1)"])j", titles, 2));                          // not the object
  CHECK_FALSE(follows_ranking_schema("1. B (2)\n2. A (1)", titles, 2));
}

TEST_CASE("extra fields pass through into the body and the id, never over the adapter's own", "[openai][extra]") {
  FakeLlmServer server([](const Prompt&) { return Reply::answer("[1] > [2]"); });
  TempDir dir;
  const auto file = dir / "body.json";
  std::ofstream(file) << R"j({"repetition_penalty": 1.1, "chat_template_kwargs": {"enable_thinking": false}})j";
  auto rec = scoring_openai(server, ",extra.top_k=40,extra.min_p=0.05,extra.stop=\"END\",extra=@" + file);
  rec->rank(std::vector<RankRequest>{small_request("x", {0, 1, 2})});
  const auto body = server.bodies().back();
  CHECK(body["top_k"] == 40);
  CHECK(body["min_p"] == 0.05);
  CHECK(body["stop"] == "END");
  CHECK(body["repetition_penalty"] == 1.1);
  CHECK(body["chat_template_kwargs"]["enable_thinking"] == false);
  CHECK(body["temperature"] == 0);  // the adapter's own, unchanged
  CHECK_THAT(rec->id(), Contains("extra={\"chat_template_kwargs\":{\"enable_thinking\":false}"));
  CHECK_THAT(rec->id(), Contains("\"top_k\":40"));

  auto bad = [&](const std::string& keys, const std::string& message) {
    INFO(keys);
    try {
      scoring_openai(server, keys);
      FAIL("expected BadInput");
    } catch (const BadInput& e) {
      CHECK_THAT(e.what(), Contains(message));
    }
  };
  bad(",extra.temperature=0.5", "extra.temperature conflicts with a field the adapter sets itself");
  bad(",extra.response_format=1", "extra.response_format conflicts");
  bad(",extra.repetition_penalty=1.3,extra=@" + file, "extra.repetition_penalty=1.3 conflicts with \"repetition_penalty\": 1.1");
  bad(",extra=body.json", "expected @FILE.json");
  bad(",extra=@" + (dir / "missing.json"), "cannot read that file");
  std::ofstream(dir / "array.json") << "[1, 2]";
  bad(",extra=@" + (dir / "array.json"), "expected a JSON object of request body fields, found array");
  bad(",scoring=listwise", "scoring=listwise: expected one of first-token, generate, loglik, pointwise");
  bad(",scoring=first-token,structured=json_schema", "structured=json_schema constrains generated text");
  bad(",scoring=pointwise,template=listwise", "does not name the candidate ({{candidate}})");
  bad(",scoring=first-token,template=listwise", "does not show the lettered candidates ({{lettered}})");
}

TEST_CASE("scores from the raw logprob answers: malformed raw bodies count a parse failure", "[openai][scoring]") {
  const auto request = small_request("x", {0, 1, 2}, 2);
  auto check_failure = [&](const std::string& raw, Scoring scoring) {
    INFO(raw);
    RankResponse r;
    ground_scores(raw, scoring, false, request, r);
    CHECK(r.parse_failures == 1);
    CHECK(r.ranking.empty());
  };
  check_failure("not json", Scoring::kFirstToken);
  check_failure(R"j({"top_logprobs": 3})j", Scoring::kFirstToken);
  check_failure(R"j({"top_logprobs": [{"token": "Q", "logprob": -1}]})j", Scoring::kFirstToken);  // no label
  check_failure(R"j({"candidates": [[], []]})j", Scoring::kPointwise);                              // wrong K
  check_failure(R"j({"candidates": [null, null, null]})j", Scoring::kLoglik);
  RankResponse r;
  ground_scores(R"j({"candidates": [[-1.0], null, [-0.5, "x"]]})j", Scoring::kLoglik, false, request, r);
  CHECK(r.parse_failures == 0);
  CHECK(r.ranking == std::vector<int>{0});  // only candidate 0 has a readable title log-likelihood
}
