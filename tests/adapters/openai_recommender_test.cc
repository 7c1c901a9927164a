// The openai adapter against a real HTTP server on 127.0.0.1 (cpp-httplib)
// that behaves like an LLM server, including its faults.
#include <chrono>
#include <cstdlib>

#include <catch2/catch.hpp>

#include "adapters/adapter_spec.h"
#include "adapters/registry.h"
#include "core/errors.h"
#include "tests/adapters/adapter_fixtures.h"
#include "tests/fake_llm_server.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

// Fast retries for tests: 5 ms first backoff.
std::unique_ptr<Recommender> openai(const FakeLlmServer& server, const std::string& extra = "") {
  const std::string timeout = extra.find("timeout_ms") == std::string::npos ? ",timeout_ms=2000" : "";
  return make_recommender(
      AdapterSpec::parse("openai:model=test-model,backoff_ms=5,max_backoff_ms=50,base_url=" + server.base_url() + timeout + extra),
      small_context());
}

std::vector<RankRequest> requests(int n) {
  std::vector<RankRequest> out;
  for (int i = 0; i < n; ++i) out.push_back(small_request("r" + std::to_string(i), {0, 1, 2, 3}, 4));
  return out;
}

}  // namespace

TEST_CASE("the openai adapter sends explicit sampling parameters and the rendered prompt", "[openai]") {
  FakeLlmServer server([](const Prompt&) { return Reply::answer("[2] > [1]"); });
  auto rec = openai(server, ",temperature=0.7,top_p=0.9,seed=11,max_tokens=64");
  auto request = small_request("x", {0, 1, 2, 3}, 4);
  request.sample = 2;
  const auto out = rec->rank(std::vector<RankRequest>{request});
  REQUIRE(server.bodies().size() == 1);
  const auto body = server.bodies()[0];
  CHECK(body["model"] == "test-model");
  CHECK(body["temperature"] == 0.7);
  CHECK(body["top_p"] == 0.9);
  CHECK(body["seed"] == 13);  // seed + sample
  CHECK(body["max_tokens"] == 64);
  const std::string user = body["messages"][1]["content"];
  CHECK_THAT(user, Contains("[1] Movie One (1991)\n[2] Movie Two (1992)"));
  CHECK_THAT(user, Contains("I am a woman.\n"));  // attributes in words (phrases.h)
  CHECK_THAT(user, Contains("1. Movie One (1991)\n2. Movie Three (1993)"));  // history
  CHECK(out[0].ranking == std::vector<int>{1, 0});
  CHECK(out[0].usage.prompt_tokens == 100);
  CHECK(out[0].usage.completion_tokens == 20);
  CHECK(out[0].usage.calls == 1);
  CHECK_FALSE(rec->capabilities().scores);
}

TEST_CASE("answers in every shape an LLM server returns are grounded", "[openai]") {
  const std::vector<std::string> answers = {
      "1. Movie Two\n2. Movie One (1991)",                                      // numbered, with and without year
      "- **Movie Four**\n- Movie Three",                                        // markdown bullets
      "Here is my ranking:\n[3] > [1] > [4] > [2]",                             // prose before the list
      "<think>[1] seems good</think>[4] > [3]",                                 // think block
      "1. Movie One\n2. The Godfather (1972)\n3. Movie Two",                    // hallucinated title
      "1. Movie One",                                                           // short list
  };
  // Each request states an attribute "case i" = "x", which the prompt renders ("I am someone whose case i is x."); the server answers by it.
  FakeLlmServer server([&](const Prompt& p) {
    const std::string& user = p.user_message;
    for (std::size_t i = 0; i < answers.size(); ++i)
      if (user.find("whose case " + std::to_string(i) + " is x") != std::string::npos) return Reply::answer(answers[i]);
    return Reply::answer("");
  });
  auto rec = openai(server, ",in_flight=3");
  std::vector<RankRequest> rs;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    auto r = small_request("r" + std::to_string(i), {0, 1, 2, 3}, 4);
    r.user.attributes = {{"case " + std::to_string(i), "x"}};  // no phrase: "someone whose case i is x"
    rs.push_back(r);
  }
  const auto out = rec->rank(rs);
  CHECK(out[0].ranking == std::vector<int>{1, 0});
  CHECK(out[1].ranking == std::vector<int>{3, 2});
  CHECK(out[2].ranking == std::vector<int>{2, 0, 3, 1});
  CHECK(out[3].ranking == std::vector<int>{3, 2});
  CHECK(out[4].ranking == std::vector<int>{0, 1});
  CHECK(out[4].ungrounded == std::vector<std::string>{"The Godfather (1972)"});
  CHECK(out[5].ranking == std::vector<int>{0});
}

TEST_CASE("429 with Retry-After, 500 and malformed JSON are retried until an answer comes", "[openai][faults]") {
  FakeLlmServer server([](const Prompt& p) {
    switch (p.attempt) {
      case 1: return Reply::error(429).retry_after(1);
      case 2: return Reply::error(500);
      case 3: return Reply::raw(R"({"choices": [{"message": {"content": "[1] > )");  // truncated JSON
      default: return Reply::answer("[3] > [2]");
    }
  });
  auto rec = openai(server);
  const auto started = std::chrono::steady_clock::now();
  const auto out = rec->rank(requests(1));
  const auto waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CHECK_FALSE(out[0].error.has_value());
  CHECK(out[0].ranking == std::vector<int>{2, 1});
  CHECK(out[0].usage.retries == 3);
  CHECK(server.hits() == 4);
  CHECK(waited >= 1.0);  // Retry-After: 1 was honoured although backoff_ms is 5
}

TEST_CASE("slow replies beyond the timeout and dropped connections are retried", "[openai][faults]") {
  FakeLlmServer server([](const Prompt& p) {
    if (p.attempt == 1) return Reply::answer("[1]").after_ms(4000);
    if (p.attempt == 2) return Reply::drop();
    return Reply::answer("[4] > [1]");
  });
  auto rec = openai(server, ",timeout_ms=1000");  // generous for a loaded machine, far short of the 4 s reply
  const auto out = rec->rank(requests(1));
  CHECK_FALSE(out[0].error.has_value());
  CHECK(out[0].ranking == std::vector<int>{3, 0});
  CHECK(out[0].usage.retries == 2);
}

TEST_CASE("a request that keeps failing gets an error, others in the batch still succeed", "[openai][faults]") {
  FakeLlmServer server([](const Prompt& p) {
    if (p.user_message.find("poison") != std::string::npos) return Reply::error(503);
    return Reply::answer("[1] > [2]");
  });
  auto rec = openai(server, ",max_retries=2");
  auto batch = requests(3);
  batch[1].user.attributes = {{"note", "poison"}};
  const auto out = rec->rank(batch);
  CHECK_FALSE(out[0].error.has_value());
  REQUIRE(out[1].error.has_value());
  CHECK_THAT(*out[1].error, Contains("gave up after 3 attempts: HTTP 503"));
  CHECK(out[1].ranking.empty());
  CHECK_FALSE(out[2].error.has_value());
}

TEST_CASE("client errors fail at once without retries", "[openai][faults]") {
  FakeLlmServer server([](const Prompt&) { return Reply::error(404); });
  auto rec = openai(server);
  const auto out = rec->rank(requests(1));
  REQUIRE(out[0].error.has_value());
  CHECK_THAT(*out[0].error, Contains("HTTP 404"));
  CHECK(server.hits() == 1);
}

TEST_CASE("an unreachable server ends the run at once with a backend failure naming the URL", "[openai][faults]") {
  // Port 9 (discard) on loopback: connection refused. With max_retries=6 and
  // backoff_ms=500 each call would otherwise retry for ~30 s; the probe fails
  // before any call is planned out.
  auto rec = make_recommender(AdapterSpec::parse("openai:model=m,base_url=http://127.0.0.1:9/v1,connect_timeout_ms=500"),
                              small_context());
  CHECK_THROWS_AS(rec->rank(requests(2)), BackendFailure);
  CHECK_THROWS_WITH(rec->rank(requests(2)), Contains("cannot reach the server at http://127.0.0.1:9/v1/models") &&
                                                Contains("Couldn't connect"));
  // Nothing to send: no probe, no failure (a fully cached re-run works with the server down).
  CHECK(rec->rank(std::vector<RankRequest>{}).empty());
  // A malformed base_url is the user's to fix.
  auto bad = make_recommender(AdapterSpec::parse("openai:model=m,base_url=htp://127.0.0.1:9/v1"), small_context());
  CHECK_THROWS_AS(bad->rank(requests(1)), BadInput);
}

TEST_CASE("the API key is sent as a bearer token and never appears in the id or errors", "[openai][secrets]") {
  ::setenv("RECBIAS_TEST_KEY", "sk-test-SECRET-123", 1);
  FakeLlmServer server([](const Prompt&) { return Reply::error(400); });
  auto rec = openai(server, ",api_key_env=RECBIAS_TEST_KEY");
  const auto out = rec->rank(requests(1));
  CHECK(server.authorization_headers().at(0) == "Bearer sk-test-SECRET-123");
  CHECK(rec->id().find("SECRET") == std::string::npos);
  REQUIRE(out[0].error.has_value());
  CHECK(out[0].error->find("SECRET") == std::string::npos);
}

TEST_CASE("a truncated completion is flagged", "[openai]") {
  FakeLlmServer server([](const Prompt&) { return Reply::answer("[1] > [2").finish("length"); });
  const auto out = openai(server)->rank(requests(1));
  CHECK(out[0].truncated);
  CHECK(out[0].ranking == std::vector<int>{0});
}

TEST_CASE("many requests in flight all complete, each answered once", "[openai]") {
  FakeLlmServer server([](const Prompt&) { return Reply::answer("[2] > [1]").after_ms(5); });
  auto rec = openai(server, ",in_flight=16");
  std::vector<RankRequest> batch;
  for (int i = 0; i < 64; ++i) {
    auto r = small_request("r" + std::to_string(i), {0, 1, 2, 3}, 4);
    r.user.id = std::to_string(i);
    r.sample = static_cast<std::uint64_t>(i);  // distinct bodies
    batch.push_back(r);
  }
  std::vector<int> seen(64, 0);
  const auto out = rec->rank(batch, [&](std::size_t i, const RankResponse&) { seen[i]++; });
  CHECK(server.hits() == 64);
  for (int s : seen) CHECK(s == 1);
  for (const auto& r : out) CHECK(r.ranking == std::vector<int>{1, 0});
}
