#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/adapter_spec.h"
#include "adapters/grounding.h"
#include "adapters/registry.h"
#include "adapters/response_cache.h"
#include "tests/adapters/adapter_fixtures.h"
#include "tests/fake_llm_server.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;

namespace {

std::unique_ptr<CachedRecommender> cached(const FakeLlmServer& server, const std::string& dir) {
  const auto context = small_context();
  auto inner = make_recommender(AdapterSpec::parse("openai:model=m,backoff_ms=1,max_retries=1,base_url=" + server.base_url()), context);
  return std::make_unique<CachedRecommender>(std::move(inner), std::make_shared<ResponseCache>(dir), context.catalog);
}

}  // namespace

TEST_CASE("the same request twice reaches the server once, a re-run sends nothing", "[cache]") {
  FakeLlmServer server([](const Prompt&) { return Reply::answer("[2] > [1]"); });
  TempDir dir;
  const std::vector<RankRequest> batch = {small_request("a", {0, 1, 2}), small_request("b", {0, 1, 2}), small_request("c", {2, 1, 0})};
  auto rec = cached(server, dir.path().string());
  const auto first = rec->rank(batch);
  CHECK(server.hits() == 2);  // a and b are the same request under two ids
  CHECK(rec->stats().deduplicated == 1);
  CHECK(first[1].request_id == "b");
  CHECK(first[1].ranking == first[0].ranking);
  auto again = cached(server, dir.path().string());
  const auto second = again->rank(batch);
  CHECK(server.hits() == 2);
  CHECK(again->stats().hits == 3);
  CHECK(second[2].ranking == first[2].ranking);
  CHECK(second[2].usage.prompt_tokens == first[2].usage.prompt_tokens);
}

TEST_CASE("errors are not cached, unparseable answers are, as the model raw answer", "[cache]") {
  int calls = 0;
  const std::string prose = "I am sorry, but I cannot rank these movies without more information about you.";
  FakeLlmServer server([&](const Prompt&) {
    ++calls;
    return calls <= 2 ? Reply::error(404) : Reply::answer(prose);
  });
  TempDir dir;
  const std::vector<RankRequest> batch = {small_request("a", {0, 1, 2})};
  cached(server, dir.path().string())->rank(batch);  // 404
  cached(server, dir.path().string())->rank(batch);  // 404 again: not served from cache
  const auto first = cached(server, dir.path().string())->rank(batch);  // prose only: a parse failure
  CHECK(server.hits() == 3);
  auto again = cached(server, dir.path().string());
  const auto second = again->rank(batch);  // the model's answer, from the cache
  CHECK(server.hits() == 3);
  CHECK(again->stats().hits == 1);
  CHECK(second[0].parse_failures == 1);
  CHECK(second[0].ranking.empty());
  REQUIRE(second[0].raw.has_value());
  CHECK(second[0].raw->body == prose);
  CHECK(first[0].parse_failures == 1);
}

TEST_CASE("cached answers are grounded again when read, so a better grounder applies without re-sending", "[cache]") {
  FakeLlmServer server([](const Prompt&) { return Reply::answer(R"J({"ranking": ["Movie Two (1992)", "Movie One (1991)"]})J"); });
  TempDir dir;
  const std::vector<RankRequest> batch = {small_request("a", {0, 1, 2})};
  const auto first = cached(server, dir.path().string())->rank(batch);
  REQUIRE(first[0].raw.has_value());
  // Make the entry look as an older grounder left it: nothing grounded, one parse failure.
  int rewritten = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
    auto j = nlohmann::json::parse(read_file(entry.path().string()));
    CHECK(j["grounder"] == kGrounderVersion);
    j["grounder"] = "recbias.grounding/1";
    j["response"]["ranking"] = nlohmann::json::array();
    j["response"]["parse_failures"] = 1;
    write_file(entry.path().string(), j.dump());
    ++rewritten;
  }
  REQUIRE(rewritten == 1);
  const auto second = cached(server, dir.path().string())->rank(batch);
  CHECK(server.hits() == 1);
  CHECK(first[0].ranking == std::vector<int>{1, 0});
  CHECK(second[0].ranking == first[0].ranking);
  CHECK(second[0].parse_failures == 0);
}

TEST_CASE("cache keys cover sampling parameters, sample and the request, and never the API key", "[cache]") {
  const auto context = small_context();
  const auto r = small_request("a", {0, 1, 2});
  auto s = r;
  s.sample = 1;
  auto renamed = r;
  renamed.id = "other-id";
  const auto k = ResponseCache::key("openai:model=m,temperature=0", r, *context.catalog);
  CHECK(k == ResponseCache::key("openai:model=m,temperature=0", renamed, *context.catalog));
  CHECK(k != ResponseCache::key("openai:model=m,temperature=0.7", r, *context.catalog));
  CHECK(k != ResponseCache::key("openai:model=m,temperature=0", s, *context.catalog));
  ::setenv("RECBIAS_CACHE_TEST_KEY", "sk-cache-SECRET", 1);
  FakeLlmServer server([](const Prompt&) { return Reply::answer("[1]"); });
  TempDir dir;
  auto inner = make_recommender(AdapterSpec::parse("openai:model=m,api_key_env=RECBIAS_CACHE_TEST_KEY,base_url=" + server.base_url()), context);
  CachedRecommender rec(std::move(inner), std::make_shared<ResponseCache>(dir.path().string()), context.catalog);
  rec.rank(std::vector<RankRequest>{r});
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path()))
    if (entry.is_regular_file()) CHECK(read_file(entry.path().string()).find("SECRET") == std::string::npos);
}

TEST_CASE("a killed `recbias rank` resumes from the cache without repeating completed calls", "[cache][crash]") {
  // 40 requests answered one at a time, 20 ms each; the run is SIGKILLed after about
  // 10 have completed, then re-run to the end.
  FakeLlmServer server([](const Prompt&) { return Reply::answer("[2] > [1] > [3]").after_ms(20); });
  TempDir dir;
  write_file(dir / "data/items.jsonl", "{\"id\": \"a\", \"title\": \"Alpha\"}\n{\"id\": \"b\", \"title\": \"Beta\"}\n{\"id\": \"c\", \"title\": \"Gamma\"}\n");
  write_file(dir / "data/users.jsonl", "{\"id\": \"u\"}\n");
  write_file(dir / "data/interactions.jsonl", "{\"user\": \"u\", \"item\": \"a\", \"timestamp\": 1}\n");
  std::string requests;
  for (int i = 0; i < 40; ++i)
    requests += nlohmann::json{{"id", "r" + std::to_string(i)}, {"k", 3}, {"sample", i},
                               {"user", {{"id", "u"}}}, {"candidates", {"a", "b", "c"}}}.dump() + "\n";
  write_file(dir / "requests.jsonl", requests);
  const std::vector<std::string> args = {"rank", "--adapter", "openai:model=m,in_flight=1,base_url=" + server.base_url(),
                                         "--dataset", dir / "data", "--requests", dir / "requests.jsonl",
                                         "--cache-dir", dir / "cache", "-o", dir / "out.jsonl"};
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<std::string> full = {recbias_binary()};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (server.completed_by_body().size() < 10 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  const auto before = server.completed_by_body().size();
  REQUIRE(before >= 10);
  REQUIRE(before < 40);
  CHECK_FALSE(std::filesystem::exists(dir / "out.jsonl"));  // the output is written only when complete

  const auto rerun = run_recbias(args);
  INFO(rerun.err);
  REQUIRE(rerun.exit_code == 0);
  const auto completed = server.completed_by_body();
  CHECK(completed.size() == 40);
  // A call the server completed but whose answer had not reached the client when
  // it was killed is sent again; with in_flight=1 that is at most one call.
  int repeated = 0;
  for (const auto& [body, count] : completed) repeated += count - 1;
  CHECK(repeated <= 1);
  CHECK(std::count(rerun.err.begin(), rerun.err.end(), '\n') >= 1);
  const auto out = read_file(dir / "out.jsonl");
  CHECK(std::count(out.begin(), out.end(), '\n') == 40);
}
