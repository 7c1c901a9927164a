#include "adapters/openai_recommender.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <queue>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/prompt_template.h"
#include "core/errors.h"
#include "core/json_errors.h"
#include "core/rng.h"

namespace recbias {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

void global_curl_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t append_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// One request's transfer state across its attempts.
struct Transfer {
  std::size_t index = 0;
  std::string body;       // request JSON (kept alive for CURLOPT_POSTFIELDS)
  std::string received;   // response body of the current attempt
  int attempt = 0;        // attempts made so far
  std::string last_error; // why the previous attempt failed
  CURL* easy = nullptr;
};

enum class Outcome { kDone, kRetry, kFail };

class OpenAiRecommender final : public Recommender {
 public:
  OpenAiRecommender(std::shared_ptr<const Catalog> catalog, OpenAiOptions options)
      : catalog_(std::move(catalog)), options_(std::move(options)), template_(PromptTemplate::load(options_.prompt_template)) {
    if (options_.model.empty()) throw BadInput("adapter openai: model=... is required (the model name the server serves)");
    if (!options_.api_key_env.empty()) {
      const char* key = std::getenv(options_.api_key_env.c_str());
      if (!key || !*key)
        throw BadInput(fmt::format("adapter openai: api_key_env={}: that environment variable is not set", options_.api_key_env));
      api_key_ = key;
    }
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
    url_ = options_.base_url + "/chat/completions";
    global_curl_init();
    multi_ = curl_multi_init();
    if (!multi_) throw BackendFailure("adapter openai: curl_multi_init failed");
    // Keep exactly `in_flight` connections open and reuse them: servers with a
    // fixed pool of keep-alive workers stall when a client opens more.
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.in_flight));
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.in_flight));
    headers_ = curl_slist_append(nullptr, "Content-Type: application/json");
    // No "Expect: 100-continue" round trip before large prompt bodies.
    headers_ = curl_slist_append(headers_, "Expect:");
    if (!api_key_.empty()) headers_ = curl_slist_append(headers_, ("Authorization: Bearer " + api_key_).c_str());
  }

  ~OpenAiRecommender() override {
    curl_slist_free_all(headers_);
    curl_multi_cleanup(multi_);
  }

  std::string id() const override {
    return fmt::format(
        "openai:base_url={},model={},temperature={},top_p={},seed={},max_tokens={},template={}@{},max_history={},item={}",
        options_.base_url, options_.model, options_.temperature, options_.top_p, options_.seed, options_.max_tokens,
        template_.name(), template_.sha256().substr(0, 12), options_.max_history, options_.item);
  }

  Capabilities capabilities() const override {
    return {.scores = false, .deterministic = options_.temperature == 0, .thread_safe = false, .remote = true};
  }

  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    std::vector<RankResponse> out(requests.size());
    if (requests.empty()) return out;
    check_reachable();
    std::vector<Transfer> transfers(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      out[i].request_id = requests[i].id;
      transfers[i].index = i;
    }
    Rng jitter(static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()));
    std::deque<std::size_t> ready;
    for (std::size_t i = 0; i < requests.size(); ++i) ready.push_back(i);
    using Delayed = std::pair<Clock::time_point, std::size_t>;
    std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> delayed;
    std::size_t active = 0, finished = 0;

    while (finished < requests.size()) {
      const auto now = Clock::now();
      while (!delayed.empty() && delayed.top().first <= now) {
        ready.push_back(delayed.top().second);
        delayed.pop();
      }
      while (active < static_cast<std::size_t>(std::max(1, options_.in_flight)) && !ready.empty()) {
        // Bodies are rendered when first sent, so rendering overlaps waiting for the server.
        auto& transfer = transfers[ready.front()];
        if (transfer.body.empty()) transfer.body = request_body(requests[transfer.index]);
        start(transfer);
        ready.pop_front();
        ++active;
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      int pending = 0;
      bool any_done = false;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &pending)) {
        if (msg->msg != CURLMSG_DONE) continue;
        any_done = true;
        Transfer* t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
        --active;
        long retry_after_s = 0;
        const auto outcome = finish(*t, msg->data.result, requests[t->index], out[t->index], retry_after_s);
        if (outcome == Outcome::kRetry && t->attempt <= options_.max_retries) {
          const double base = std::min<double>(options_.max_backoff_ms, options_.backoff_ms * std::ldexp(1.0, t->attempt - 1));
          const double wait_ms = std::max(base * (0.5 + 0.5 * jitter.uniform01()), retry_after_s * 1000.0);
          delayed.push({Clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(wait_ms * 1000)), t->index});
          ++out[t->index].usage.retries;
          continue;
        }
        if (outcome != Outcome::kDone) {
          out[t->index].error = outcome == Outcome::kRetry
                                    ? fmt::format("request {}: gave up after {} attempts: {}", requests[t->index].id, t->attempt, t->last_error)
                                    : fmt::format("request {}: {}", requests[t->index].id, t->last_error);
          out[t->index].ranking.clear();
        }
        ++finished;
        if (on_response) on_response(t->index, out[t->index]);
      }
      if (finished == requests.size()) break;
      if (any_done && !ready.empty()) continue;  // refill the freed slots before waiting
      int wait_ms = 100;
      if (!delayed.empty()) {
        const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(delayed.top().first - Clock::now()).count();
        wait_ms = static_cast<int>(std::clamp<std::int64_t>(until, 0, 100));
      }
      if (active == 0) {
        if (ready.empty() && wait_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
        continue;
      }
      curl_multi_poll(multi_, nullptr, 0, wait_ms, nullptr);
    }
    return out;
  }

 private:
  std::string request_body(const RankRequest& request) const {
    json messages = json::array();
    for (const auto& m : template_.render(request, *catalog_, options_.max_history, options_.item))
      messages.push_back({{"role", m.role}, {"content", m.content}});
    return json{{"model", options_.model},
                {"messages", messages},
                {"temperature", options_.temperature},
                {"top_p", options_.top_p},
                {"seed", options_.seed + static_cast<std::int64_t>(request.sample)},
                {"max_tokens", options_.max_tokens},
                {"n", 1},
                {"stream", false}}
        .dump();
  }

  void start(Transfer& t) {
    ++t.attempt;
    t.received.clear();
    t.easy = curl_easy_init();
    if (!t.easy) throw BackendFailure("adapter openai: curl_easy_init failed");
    curl_easy_setopt(t.easy, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(t.easy, CURLOPT_POSTFIELDS, t.body.c_str());
    curl_easy_setopt(t.easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(t.body.size()));
    curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t.received);
    curl_easy_setopt(t.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
    curl_easy_setopt(t.easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
    curl_easy_setopt(t.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
    curl_multi_add_handle(multi_, t.easy);
  }

  // Classifies a finished attempt and, on success, fills the response.
  Outcome finish(Transfer& t, CURLcode result, const RankRequest& request, RankResponse& response, long& retry_after_s) {
    long status = 0;
    curl_off_t total_us = 0, retry_after = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t.easy, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(t.easy, CURLINFO_RETRY_AFTER, &retry_after);
    curl_multi_remove_handle(multi_, t.easy);
    curl_easy_cleanup(t.easy);
    t.easy = nullptr;
    retry_after_s = static_cast<long>(retry_after);

    if (result != CURLE_OK) {
      t.last_error = redact(fmt::format("{} ({})", curl_easy_strerror(result), url_));
      return result == CURLE_URL_MALFORMAT || result == CURLE_UNSUPPORTED_PROTOCOL ? Outcome::kFail : Outcome::kRetry;
    }
    if (status == 429 || status >= 500) {
      t.last_error = redact(fmt::format("HTTP {} from {}: {}", status, url_, t.received.substr(0, 200)));
      return Outcome::kRetry;
    }
    if (status != 200) {
      t.last_error = redact(fmt::format("HTTP {} from {}: {}", status, url_, t.received.substr(0, 300)));
      return Outcome::kFail;
    }
    json body;
    try {
      body = json::parse(t.received);
    } catch (const json::exception&) {  // malformed, or a number beyond double's range
      t.last_error = fmt::format("malformed JSON from {} ({} bytes)", url_, t.received.size());
      return Outcome::kRetry;
    }
    const json* content = nullptr;
    std::string finish_reason;
    try {
      const auto& choice = body.at("choices").at(0);
      content = &choice.at("message").at("content");
      if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) finish_reason = choice["finish_reason"];
    } catch (const json::exception&) {
      t.last_error = fmt::format("response from {} has no choices[0].message.content", url_);
      return Outcome::kRetry;
    }
    response.usage.calls = 1;
    response.usage.latency_ms = static_cast<double>(total_us) / 1000.0;
    if (body.contains("usage") && body["usage"].is_object()) {
      // Usage is the server's word on cost: a count that is not one (a
      // fractional or out-of-range number) is left at 0, never converted.
      const auto& usage = body["usage"];
      if (auto v = usage.find("prompt_tokens"); v != usage.end()) response.usage.prompt_tokens = json_count(*v).value_or(0);
      if (auto v = usage.find("completion_tokens"); v != usage.end()) response.usage.completion_tokens = json_count(*v).value_or(0);
    }
    response.truncated = finish_reason == "length";
    response.raw = RawAnswer{"text", content->is_string() ? content->get<std::string>() : std::string()};
    ground(request, response);
    return Outcome::kDone;
  }

 public:
  void ground(const RankRequest& request, RankResponse& response) const override {
    if (!response.raw || response.error) return;
    std::vector<std::string> titles;
    titles.reserve(request.candidates.size());
    for (auto item : request.candidates) titles.push_back(catalog_->at(item).title);
    reset_grounding(response);
    ground_answer(response.raw->body, titles, options_.grounding, response);
  }

 private:
  // One GET {base_url}/models before the first call: a server that cannot be
  // reached at all (connection refused, unknown host) ends the run at once
  // instead of costing every call its retries. Any HTTP answer, even 404
  // from a server without /models, counts as reachable.
  void check_reachable() {
    if (reachable_) return;
    CURL* easy = curl_easy_init();
    if (!easy) throw BackendFailure("adapter openai: curl_easy_init failed");
    std::string sink;
    const auto url = options_.base_url + "/models";
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms) + 5000L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    const CURLcode result = curl_easy_perform(easy);
    curl_easy_cleanup(easy);
    switch (result) {
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        throw BadInput(redact(fmt::format("adapter openai: base_url={} is not a usable http(s) URL: {}", options_.base_url,
                                          curl_easy_strerror(result))));
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
        throw BackendFailure(redact(fmt::format(
            "adapter openai: cannot reach the server at {}: {} (is it running, and are base_url's host and port right?)",
            url, curl_easy_strerror(result))));
      default:
        break;  // answered, or a transient failure that the calls' own retries handle
    }
    reachable_ = true;
  }

  std::string redact(std::string text) const {
    if (api_key_.empty()) return text;
    for (std::size_t at; (at = text.find(api_key_)) != std::string::npos;) text.replace(at, api_key_.size(), "***");
    return text;
  }

  std::shared_ptr<const Catalog> catalog_;
  OpenAiOptions options_;
  PromptTemplate template_;
  std::string api_key_;
  std::string url_;
  CURLM* multi_ = nullptr;
  curl_slist* headers_ = nullptr;
  bool reachable_ = false;  // check_reachable() passed once
};

}  // namespace

std::unique_ptr<Recommender> make_openai_recommender(std::shared_ptr<const Catalog> catalog, OpenAiOptions options) {
  return std::make_unique<OpenAiRecommender>(std::move(catalog), std::move(options));
}

}  // namespace recbias
