// recbias serve in-process: dynamic batching, the HTTP surface, Prometheus
// metrics, isolation of bad requests, graceful stop; and the executable's
// SIGTERM handling.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "serve/http_service.h"
#include "tests/adapters/adapter_fixtures.h"
#include "tests/datasets/fixtures.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

// Ranks candidates by item index, descending; sleeps per call; records batch
// sizes and fails the test if it is ever called concurrently. Requests that
// contain item "6" throw BadInput (an item "outside the vocabulary").
class SlowModel : public Recommender {
 public:
  explicit SlowModel(std::chrono::milliseconds delay) : delay_(delay) {}
  std::string id() const override { return "slow-model"; }
  Capabilities capabilities() const override { return {.scores = true}; }
  std::vector<int> batch_sizes() {
    std::lock_guard lock(mu_);
    return sizes_;
  }
  std::atomic<bool> concurrent{false};

 protected:
  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback&) override {
    if (busy_.exchange(true)) concurrent = true;
    {
      std::lock_guard lock(mu_);
      sizes_.push_back(static_cast<int>(requests.size()));
    }
    std::this_thread::sleep_for(delay_);
    std::vector<RankResponse> out;
    for (const auto& r : requests) {
      if (std::find(r.candidates.begin(), r.candidates.end(), ItemIndex{5}) != r.candidates.end()) {
        busy_ = false;
        throw BadInput(fmt::format("request {}: item \"6\" is not in the model's vocabulary", r.id));
      }
      std::vector<float> scores;
      for (auto item : r.candidates) scores.push_back(static_cast<float>(item));
      RankResponse response;
      response.request_id = r.id;
      response.ranking = top_k_by_score(scores, r.candidates, r.k);
      response.scores = scores;
      response.usage.calls = 1;
      out.push_back(std::move(response));
    }
    busy_ = false;
    return out;
  }

 private:
  std::chrono::milliseconds delay_;
  std::atomic<bool> busy_{false};
  std::mutex mu_;
  std::vector<int> sizes_;
};

std::string body(const std::vector<std::string>& candidates) {
  return nlohmann::json{{"user", {{"id", "u1"}, {"history", {"1", "3"}}, {"attributes", nlohmann::json::object()}}},
                        {"candidates", candidates},
                        {"k", 3}}
      .dump();
}

}  // namespace

TEST_CASE("serve batches concurrent requests into one model call and answers each correctly", "[serve]") {
  SlowModel model(std::chrono::milliseconds(30));
  ServeOptions options;
  options.port = 0;
  options.batching.max_batch = 16;
  options.batching.max_wait = std::chrono::milliseconds(20);
  HttpService service(model, small_context().catalog, options);
  const int port = service.start();
  constexpr int kClients = 32;
  std::vector<int> status(kClients, 0);
  std::vector<std::string> answers(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(30, 0);
      // Each client presents the candidates in a different order.
      std::vector<std::string> candidates = {"1", "2", "3", "4", "5"};
      std::rotate(candidates.begin(), candidates.begin() + c % 5, candidates.end());
      auto res = client.Post("/v1/rank", body(candidates), "application/json");
      if (res) status[c] = res->status, answers[c] = res->body;
      else answers[c] = "no response: " + httplib::to_string(res.error());
    });
  for (auto& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) {
    INFO("client " << c << ": " << answers[c]);
    REQUIRE(status[c] == 200);
    const auto j = nlohmann::json::parse(answers[c]);
    CHECK(j["ranking"] == nlohmann::json{"5", "4", "3"});  // by item index, whatever the presented order
    CHECK(j["model"] == "slow-model");
  }
  const auto sizes = model.batch_sizes();
  CHECK_FALSE(model.concurrent.load());
  CHECK(*std::max_element(sizes.begin(), sizes.end()) > 1);  // batched
  CHECK(*std::max_element(sizes.begin(), sizes.end()) <= 16);  // max batch honoured
  int total = 0;
  for (int s : sizes) total += s;
  CHECK(total == kClients);
  CHECK(sizes.size() < static_cast<std::size_t>(kClients));

  httplib::Client client("127.0.0.1", port);
  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK_THAT(health->body, Contains("\"status\":\"ok\""));
  auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK_THAT(metrics->body, Contains("recbias_requests_total 32\n"));
  CHECK_THAT(metrics->body, Contains(fmt::format("recbias_batches_total {}\n", sizes.size())));
  CHECK_THAT(metrics->body, Contains("recbias_request_latency_seconds_count 32\n"));
  CHECK_THAT(metrics->body, Contains("recbias_batch_size_bucket{le=\"+Inf\"} " + std::to_string(sizes.size()) + "\n"));
  CHECK_THAT(metrics->body, Contains("# TYPE recbias_request_latency_seconds histogram"));
  service.stop();
}

TEST_CASE("serve answers malformed requests with 400 naming the problem, and isolates a request the model rejects", "[serve]") {
  SlowModel model(std::chrono::milliseconds(20));
  ServeOptions options;
  options.port = 0;
  options.batching.max_wait = std::chrono::milliseconds(50);
  HttpService service(model, small_context().catalog, options);
  const int port = service.start();
  httplib::Client client("127.0.0.1", port);
  auto not_json = client.Post("/v1/rank", "{\"user\": ", "application/json");
  REQUIRE(not_json);
  CHECK(not_json->status == 400);
  CHECK_THAT(not_json->body, Contains("not valid JSON"));
  auto unknown = client.Post("/v1/rank", body({"1", "99"}), "application/json");
  REQUIRE(unknown);
  CHECK(unknown->status == 400);
  CHECK_THAT(unknown->body, Contains("99"));
  auto array = client.Post("/v1/rank", "[1, 2]", "application/json");
  REQUIRE(array);
  CHECK(array->status == 400);
  CHECK_THAT(array->body, Contains("expected a JSON object, found array"));

  // A request the model rejects, batched with good ones: only it fails.
  std::vector<int> status(6, 0);
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c)
    clients.emplace_back([&, c] {
      httplib::Client one("127.0.0.1", port);
      auto res = one.Post("/v1/rank", body(c == 3 ? std::vector<std::string>{"1", "6"} : std::vector<std::string>{"1", "2"}),
                          "application/json");
      if (res) status[c] = res->status;
    });
  for (auto& t : clients) t.join();
  for (int c = 0; c < 6; ++c) CHECK(status[c] == (c == 3 ? 400 : 200));
  service.stop();
  CHECK(service.metrics().bad_requests.load() == 4);
}

TEST_CASE("serve stops gracefully: requests in flight are answered, new connections refused", "[serve]") {
  SlowModel model(std::chrono::milliseconds(300));
  ServeOptions options;
  options.port = 0;
  options.batching.max_batch = 4;  // 8 requests = two slow batches
  options.batching.max_wait = std::chrono::milliseconds(5);
  HttpService service(model, small_context().catalog, options);
  const int port = service.start();
  std::vector<int> status(8, 0);
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&, c] {
      httplib::Client one("127.0.0.1", port);
      one.set_read_timeout(30, 0);
      auto res = one.Post("/v1/rank", body({"1", "2", "3"}), "application/json");
      if (res) status[c] = res->status;
    });
  while (service.metrics().requests.load() < 8) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  service.stop();  // returns once every request has its answer
  for (auto& t : clients) t.join();
  for (int c = 0; c < 8; ++c) CHECK(status[c] == 200);
  httplib::Client late("127.0.0.1", port);
  late.set_connection_timeout(1, 0);
  CHECK_FALSE(late.Get("/healthz"));
}

TEST_CASE("recbias serve prints its port, serves, and exits 0 on SIGTERM", "[serve][cli]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  int out[2];
  REQUIRE(pipe(out) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    execl(recbias_binary().c_str(), recbias_binary().c_str(), "serve", "--adapter", "popularity", "--dataset", dir.path().c_str(), "--port", "0",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string banner;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') banner += c;
  INFO(banner);
  const auto at = banner.find("http://127.0.0.1:");
  REQUIRE(at != std::string::npos);
  const int port = std::stoi(banner.substr(at + std::string("http://127.0.0.1:").size()));
  httplib::Client client("127.0.0.1", port);
  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto ranked = client.Post("/v1/rank", R"({"user": {"history": ["a"]}, "candidates": ["c", "b"], "k": 2})", "application/json");
  REQUIRE(ranked);
  CHECK(ranked->status == 200);
  CHECK(nlohmann::json::parse(ranked->body)["model"] == "popularity");
  kill(pid, SIGTERM);
  int wstatus = 0;
  REQUIRE(waitpid(pid, &wstatus, 0) == pid);
  CHECK(WIFEXITED(wstatus));
  CHECK(WEXITSTATUS(wstatus) == 0);
  close(out[0]);
}
