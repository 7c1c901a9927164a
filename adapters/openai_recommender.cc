#include "adapters/openai_recommender.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "adapters/catalog_grounder.h"
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

// One call of a request: the whole request (generate, first-token), or one
// of its candidates (pointwise, loglik).
struct Call {
  std::size_t request = 0;
  std::optional<std::size_t> candidate;
};

// One call's transfer state across its attempts.
struct Transfer {
  std::size_t call = 0;
  std::string body;       // request JSON (kept alive for CURLOPT_POSTFIELDS)
  std::string received;   // response body of the current attempt
  int attempt = 0;        // attempts made so far
  std::string last_error; // why the previous attempt failed
  std::size_t from = 0, to = 0;  // loglik: the title's code points in the echoed prompt
  CURL* easy = nullptr;
};

// A request's calls so far.
struct Pending {
  std::size_t left = 0;   // calls not yet finished
  bool failed = false;
  nlohmann::json parts;   // scoring modes: what the calls returned (the raw answer)
};

enum class Outcome { kDone, kRetry, kFail };

class OpenAiRecommender final : public Recommender {
 public:
  OpenAiRecommender(std::shared_ptr<const Catalog> catalog, OpenAiOptions options)
      : catalog_(std::move(catalog)),
        options_(std::move(options)),
        template_(PromptTemplate::load(default_template(options_))),
        open_template_(PromptTemplate::load(options_.open_template.empty() ? "open" : options_.open_template)) {
    if (options_.model.empty()) throw BadInput("adapter openai: model=... is required (the model name the server serves)");
    if (options_.phrases) {
      template_.set_phrases(options_.phrases);
      open_template_.set_phrases(options_.phrases);
    }
    check_mode();
    if (!options_.api_key_env.empty()) {
      const char* key = std::getenv(options_.api_key_env.c_str());
      if (!key || !*key)
        throw BadInput(fmt::format("adapter openai: api_key_env={}: that environment variable is not set", options_.api_key_env));
      api_key_ = key;
    }
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
    url_ = options_.base_url + (options_.scoring == Scoring::kLoglik ? "/completions" : "/chat/completions");
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
    // What changes answers; the settings at their defaults leave the id as
    // it was before they existed, so cached generate answers stay valid.
    auto id = fmt::format(
        "openai:base_url={},model={},temperature={},top_p={},seed={},max_tokens={},template={}@{},max_history={},item={}",
        options_.base_url, options_.model, options_.temperature, options_.top_p, options_.seed, options_.max_tokens,
        template_.name(), template_.sha256().substr(0, 12), options_.max_history, options_.item);
    if (options_.scoring != Scoring::kGenerate) id += ",scoring=" + scoring_name(options_.scoring);
    if (options_.scoring == Scoring::kPointwise) id += fmt::format(",top_logprobs={}", options_.top_logprobs);
    if (options_.scoring == Scoring::kLoglik && options_.loglik_mean) id += ",loglik=mean";
    if (options_.structured != Structured::kOff) id += ",structured=" + structured_name(options_.structured);
    if (!options_.extra.empty()) id += ",extra=" + options_.extra.dump();
    // Prompts that state attributes in words change with the phrase table.
    if (template_.uses_phrases()) id += ",phrases=@" + template_.phrases().sha256().substr(0, 12);
    // The built-in "open" template is frozen (a change needs a new name), so
    // the default leaves ids -- and the cache keys of candidate answers -- as
    // they were; a template given for open requests is part of the id.
    if (!options_.open_template.empty()) id += fmt::format(",open_template={}@{}", open_template_.name(), open_template_.sha256().substr(0, 12));
    return id;
  }

  Capabilities capabilities() const override {
    return {.scores = options_.scoring != Scoring::kGenerate, .deterministic = options_.temperature == 0, .thread_safe = false, .remote = true};
  }

  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    std::vector<RankResponse> out(requests.size());
    if (requests.empty()) return out;
    const bool per_candidate = options_.scoring == Scoring::kPointwise || options_.scoring == Scoring::kLoglik;
    std::vector<Call> calls;
    std::vector<Pending> pending(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const auto k = requests[i].candidates.size();
      check_labels(requests[i]);
      out[i].request_id = requests[i].id;
      if (per_candidate) {
        pending[i].left = k;
        pending[i].parts = {{"candidates", nlohmann::json::array()}};
        for (std::size_t j = 0; j < k; ++j) {
          pending[i].parts["candidates"].push_back(nullptr);
          calls.push_back({i, j});
        }
      } else {
        pending[i].left = 1;
        calls.push_back({i, std::nullopt});
      }
    }
    check_reachable();
    std::vector<Transfer> transfers(calls.size());
    for (std::size_t c = 0; c < calls.size(); ++c) transfers[c].call = c;
    Rng jitter(static_cast<std::uint64_t>(Clock::now().time_since_epoch().count()));
    std::deque<std::size_t> ready;
    for (std::size_t c = 0; c < calls.size(); ++c) ready.push_back(c);
    using Delayed = std::pair<Clock::time_point, std::size_t>;
    std::priority_queue<Delayed, std::vector<Delayed>, std::greater<>> delayed;
    std::size_t active = 0, finished = 0, missing_logprobs = 0;
    std::string missing_logprobs_error;

    // A call is over (answered, failed, or skipped because its request failed).
    auto call_over = [&](std::size_t c) {
      ++finished;
      const auto i = calls[c].request;
      if (--pending[i].left > 0) return;
      auto& response = out[i];
      if (pending[i].failed) {
        response.ranking.clear();
        response.scores.reset();
      } else if (options_.scoring != Scoring::kGenerate) {
        response.raw = RawAnswer{"logprobs", pending[i].parts.dump()};
        ground(requests[i], response);
      }
      if (on_response) on_response(i, response);
    };

    while (finished < calls.size()) {
      const auto now = Clock::now();
      while (!delayed.empty() && delayed.top().first <= now) {
        ready.push_back(delayed.top().second);
        delayed.pop();
      }
      while (active < static_cast<std::size_t>(std::max(1, options_.in_flight)) && !ready.empty()) {
        const auto c = ready.front();
        ready.pop_front();
        if (pending[calls[c].request].failed) {  // another call of this request failed: do not send the rest
          call_over(c);
          continue;
        }
        // Bodies are rendered when first sent, so rendering overlaps waiting for the server.
        auto& transfer = transfers[c];
        if (transfer.body.empty()) transfer.body = request_body(calls[c], requests[calls[c].request], transfer);
        start(transfer);
        ++active;
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      int queued = 0;
      bool any_done = false;
      while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
        if (msg->msg != CURLMSG_DONE) continue;
        any_done = true;
        Transfer* t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
        --active;
        long retry_after_s = 0;
        const auto& call = calls[t->call];
        auto& response = out[call.request];
        bool logprobs_absent = false;
        const auto outcome = finish(*t, msg->data.result, call, requests[call.request], response, pending[call.request], retry_after_s,
                                    logprobs_absent);
        if (outcome == Outcome::kRetry && t->attempt <= options_.max_retries) {
          const double base = std::min<double>(options_.max_backoff_ms, options_.backoff_ms * std::ldexp(1.0, t->attempt - 1));
          const double wait_ms = std::max(base * (0.5 + 0.5 * jitter.uniform01()), retry_after_s * 1000.0);
          delayed.push({Clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(wait_ms * 1000)), t->call});
          ++response.usage.retries;
          continue;
        }
        if (outcome != Outcome::kDone && !pending[call.request].failed) {
          pending[call.request].failed = true;
          const auto& id = requests[call.request].id;
          response.error = outcome == Outcome::kRetry ? fmt::format("request {}: gave up after {} attempts: {}", id, t->attempt, t->last_error)
                                                      : fmt::format("request {}: {}", id, t->last_error);
          if (logprobs_absent) {
            ++missing_logprobs;
            missing_logprobs_error = t->last_error;
          }
        }
        call_over(t->call);
      }
      if (finished == calls.size()) break;
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
    // A server that never returns log-probabilities cannot be scored at all:
    // one clear error for the run instead of one per request.
    if (missing_logprobs == requests.size())
      throw BackendFailure(fmt::format("adapter openai: scoring={}: {}", scoring_name(options_.scoring), missing_logprobs_error));
    return out;
  }

 public:
  void ground(const RankRequest& request, RankResponse& response) const override {
    if (!response.raw || response.error) return;
    if (response.raw->format == "logprobs") {
      ground_scores(response.raw->body, options_.scoring, options_.loglik_mean, request, response);
      return;
    }
    if (request.open) {
      reset_grounding(response);
      ground_open_answer(response.raw->body, open_grounder(), response);
      return;
    }
    std::vector<std::string> titles;
    titles.reserve(request.candidates.size());
    for (auto item : request.candidates) titles.push_back(catalog_->at(item).title);
    reset_grounding(response);
    ground_answer(response.raw->body, titles, options_.grounding, response);
    response.constrained = options_.structured != Structured::kOff;
    response.constraint_ignored = response.constrained && !follows_ranking_schema(response.raw->body, titles, request.k);
  }

  std::vector<BatchCall> batch_calls(const RankRequest& request) const override {
    std::vector<BatchCall> out;
    const std::string url = options_.scoring == Scoring::kLoglik ? "/v1/completions" : "/v1/chat/completions";
    check_labels(request);
    for (const auto& call : calls_of(request)) {
      Transfer t;
      out.push_back({url, request_body(call, request, t)});
    }
    return out;
  }

  RankResponse from_batch(const RankRequest& request, const std::vector<std::string>& bodies) const override {
    RankResponse response;
    response.request_id = request.id;
    const auto calls = calls_of(request);
    if (bodies.size() != calls.size()) {
      response.error = fmt::format("request {}: the batch answered {} calls of {}", request.id, bodies.size(), calls.size());
      return response;
    }
    Pending pending;
    if (calls.size() > 1 || calls[0].candidate) {
      pending.parts = {{"candidates", json::array()}};
      for (std::size_t j = 0; j < calls.size(); ++j) pending.parts["candidates"].push_back(nullptr);
    }
    for (std::size_t j = 0; j < calls.size(); ++j) {
      Transfer t;
      request_body(calls[j], request, t);  // the loglik title's offsets
      json body;
      try {
        body = json::parse(bodies[j]);
      } catch (const json::exception&) {
        t.last_error = "the batch's response body is not JSON";
      }
      bool logprobs_absent = false;
      if (t.last_error.empty() && absorb(body, t, calls[j], request, response, pending, logprobs_absent, 0.0) == Outcome::kDone) continue;
      response = RankResponse{};
      response.request_id = request.id;
      response.error = fmt::format("request {}: batch call {}: {}", request.id, j, t.last_error);
      return response;
    }
    if (options_.scoring != Scoring::kGenerate) {
      response.raw = RawAnswer{"logprobs", pending.parts.dump()};
      ground(request, response);
    }
    return response;
  }

  // POST {server root}/tokenize with the first call's prompt: vLLM's form
  // ({"model", "messages"} or {"model", "prompt"} -> {"count"}), then
  // llama.cpp's ({"content"} -> {"tokens"}, the messages joined).
  TokenizerRatio tokenizer_ratio(const RankRequest& request) const override {
    const auto calls = calls_of(request);
    const auto messages = template_for(request).render(request, *catalog_, options_.max_history, options_.item, calls[0].candidate);
    std::size_t chars = 0;
    std::string joined;
    json chat = json::array();
    for (const auto& m : messages) {
      chars += code_points(m.content);
      joined += (joined.empty() ? "" : "\n\n") + m.content;
      chat.push_back({{"role", m.role}, {"content", m.content}});
    }
    const double estimated = static_cast<double>((chars + 3) / 4 + 4 * messages.size());
    auto root = options_.base_url;
    if (root.ends_with("/v1")) root.resize(root.size() - 3);
    std::string last_error;
    const json forms[] = {options_.scoring == Scoring::kLoglik ? json{{"model", options_.model}, {"prompt", joined}}
                                                               : json{{"model", options_.model}, {"messages", chat}, {"add_generation_prompt", true}},
                          json{{"content", joined}}};
    for (const auto& body : forms) {
      CURL* easy = curl_easy_init();
      if (!easy) return {std::nullopt, "curl_easy_init failed"};
      std::string received;
      const auto text = body.dump(-1, ' ', false, json::error_handler_t::replace);
      const auto url = root + "/tokenize";
      curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
      curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, text.c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(text.size()));
      curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, append_body);
      curl_easy_setopt(easy, CURLOPT_WRITEDATA, &received);
      curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
      curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_ms));
      curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
      const CURLcode result = curl_easy_perform(easy);
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_cleanup(easy);
      if (result != CURLE_OK) return {std::nullopt, redact(fmt::format("{} ({})", curl_easy_strerror(result), url))};
      if (status != 200) {
        last_error = redact(fmt::format("HTTP {} from {}", status, url));
        continue;
      }
      const auto answer = json::parse(received, nullptr, false);
      std::optional<std::int64_t> count;
      if (answer.is_object()) {
        if (auto c = answer.find("count"); c != answer.end()) count = json_count(*c);
        else if (auto t = answer.find("tokens"); t != answer.end() && t->is_array()) count = static_cast<std::int64_t>(t->size());
      }
      if (!count) {
        last_error = fmt::format("the answer from {} has no \"count\" or \"tokens\"", url);
        continue;
      }
      return {static_cast<double>(*count) / estimated, ""};
    }
    return {std::nullopt, last_error};
  }

  // Prompt tokens are estimated as UTF-8 code points / 4 plus 4 per message
  // (the chat template's role markers); no tokenizer is consulted.
  CallEstimate estimate(const RankRequest& request) const override {
    const bool per_candidate = options_.scoring == Scoring::kPointwise || options_.scoring == Scoring::kLoglik;
    const std::size_t k = request.candidates.size();
    CallEstimate e;
    e.http_calls = per_candidate ? static_cast<std::int64_t>(k) : 1;
    std::int64_t tokens = 0;
    for (std::size_t j = 0; j < (per_candidate ? k : 1); ++j) {
      const std::optional<std::size_t> candidate = per_candidate ? std::optional<std::size_t>(j) : std::nullopt;
      std::size_t chars = 0;
      const auto messages = template_for(request).render(request, *catalog_, options_.max_history, options_.item, candidate);
      for (const auto& m : messages) chars += code_points(m.content);
      if (options_.scoring == Scoring::kLoglik) chars += 1 + code_points(catalog_->at(request.candidates[j]).title);
      tokens += static_cast<std::int64_t>((chars + 3) / 4 + 4 * messages.size());
    }
    e.prompt_tokens = tokens;
    e.max_completion_tokens = e.http_calls * (options_.scoring == Scoring::kGenerate ? options_.max_tokens : 1);
    return e;
  }

 private:
  static std::string default_template(const OpenAiOptions& o) {
    if (!o.prompt_template.empty()) return o.prompt_template;
    switch (o.scoring) {
      case Scoring::kFirstToken: return "first-token";
      case Scoring::kPointwise: return "pointwise";
      case Scoring::kLoglik: return "loglik";
      case Scoring::kGenerate: break;
    }
    return o.structured != Structured::kOff ? "json" : "listwise";
  }

  // The mode's requirements on the template and the other keys.
  void check_mode() const {
    const auto mode = scoring_name(options_.scoring);
    if (options_.structured != Structured::kOff && options_.scoring != Scoring::kGenerate)
      throw BadInput(fmt::format("adapter openai: structured={} constrains generated text; scoring={} reads log-probabilities (use "
                                 "scoring=generate, or structured=off)",
                                 structured_name(options_.structured), mode));
    if (options_.scoring == Scoring::kFirstToken && !template_.uses("lettered"))
      throw BadInput(fmt::format("adapter openai: scoring=first-token: template {} does not show the lettered candidates ({{{{lettered}}}})",
                                 template_.name()));
    if (options_.scoring == Scoring::kPointwise && !template_.uses("candidate"))
      throw BadInput(fmt::format("adapter openai: scoring=pointwise: template {} does not name the candidate ({{{{candidate}}}})",
                                 template_.name()));
    for (const auto& [key, value] : options_.extra.items()) {
      const auto& reserved = openai_reserved_fields();
      if (std::find(reserved.begin(), reserved.end(), key) != reserved.end())
        throw BadInput(fmt::format("adapter openai: extra.{} conflicts with a field the adapter sets itself ({}); set it through the "
                                   "adapter's own key where there is one (e.g. temperature=, top_p=, seed=, max_tokens=)",
                                   key, fmt::join(reserved, ", ")));
    }
  }

  // Open requests: their template, and the catalog-wide grounder (built on first use).
  const PromptTemplate& template_for(const RankRequest& request) const { return request.open ? open_template_ : template_; }
  const CatalogGrounder& open_grounder() const {
    std::call_once(open_grounder_once_, [&] { open_grounder_ = std::make_unique<CatalogGrounder>(*catalog_); });
    return *open_grounder_;
  }

  void check_labels(const RankRequest& request) const {
    if (request.open && (options_.scoring != Scoring::kGenerate || options_.structured != Structured::kOff))
      throw BadInput(fmt::format("adapter openai: request {} is candidate-free (--probe open): it needs scoring=generate without "
                                 "structured=, since there are no candidates to score or to list in a schema",
                                 request.id));
    const auto k = request.candidates.size();
    if (options_.scoring == Scoring::kFirstToken && k > kMaxLabels)
      throw BadInput(fmt::format("adapter openai: scoring=first-token labels the candidates A to T, so at most {} candidates; request {} "
                                 "has {} (use --candidates {} or fewer, or scoring=pointwise or loglik)",
                                 kMaxLabels, request.id, k, kMaxLabels));
  }

  // The HTTP calls of one request (rank_batch's split, for one request).
  std::vector<Call> calls_of(const RankRequest& request) const {
    if (options_.scoring != Scoring::kPointwise && options_.scoring != Scoring::kLoglik) return {{0, std::nullopt}};
    std::vector<Call> calls;
    for (std::size_t j = 0; j < request.candidates.size(); ++j) calls.push_back({0, j});
    return calls;
  }

  std::string request_body(const Call& call, const RankRequest& request, Transfer& t) const {
    json body;
    const auto messages = template_for(request).render(request, *catalog_, options_.max_history, options_.item, call.candidate);
    if (options_.scoring == Scoring::kLoglik) {
      // A completion prompt: the messages flattened, then the candidate's title.
      std::string prompt;
      for (const auto& m : messages) prompt += (prompt.empty() ? "" : "\n\n") + m.content;
      const auto title = " " + catalog_->at(request.candidates[*call.candidate]).title;
      t.from = code_points(prompt);
      t.to = t.from + code_points(title);
      body = {{"model", options_.model}, {"prompt", prompt + title}, {"max_tokens", 1}, {"echo", true}, {"logprobs", 1},
              {"temperature", options_.temperature}, {"top_p", options_.top_p},
              {"seed", options_.seed + static_cast<std::int64_t>(request.sample)}, {"n", 1}, {"stream", false}};
    } else {
      json chat = json::array();
      for (const auto& m : messages) chat.push_back({{"role", m.role}, {"content", m.content}});
      body = {{"model", options_.model},
              {"messages", chat},
              {"temperature", options_.temperature},
              {"top_p", options_.top_p},
              {"seed", options_.seed + static_cast<std::int64_t>(request.sample)},
              {"max_tokens", options_.max_tokens},
              {"n", 1},
              {"stream", false}};
      if (options_.scoring == Scoring::kFirstToken || options_.scoring == Scoring::kPointwise) {
        body["max_tokens"] = 1;
        body["logprobs"] = true;
        body["top_logprobs"] = options_.scoring == Scoring::kFirstToken ? static_cast<int>(request.candidates.size()) : options_.top_logprobs;
      }
      if (options_.structured != Structured::kOff) {
        std::vector<std::string> titles;
        for (auto item : request.candidates) titles.push_back(catalog_->at(item).title);
        add_constraint(body, options_.structured, ranking_schema(titles, request.k));
      }
    }
    for (const auto& [key, value] : options_.extra.items()) body[key] = value;
    return body.dump();
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

  // Classifies a finished attempt and, on success, takes what the call
  // returned into the response (generate) or the request's parts (scoring).
  Outcome finish(Transfer& t, CURLcode result, const Call& call, const RankRequest& request, RankResponse& response, Pending& pending,
                 long& retry_after_s, bool& logprobs_absent) {
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
    return absorb(body, t, call, request, response, pending, logprobs_absent, static_cast<double>(total_us) / 1000.0);
  }

  // Takes a successful (HTTP 200) answer's body into the response
  // (generate) or the request's parts (scoring); kRetry for a body without
  // what the mode needs, kFail where retrying cannot help.
  Outcome absorb(const json& body, Transfer& t, const Call& call, const RankRequest& request, RankResponse& response, Pending& pending,
                 bool& logprobs_absent, double latency_ms) const {
    const json* content = nullptr;
    std::string finish_reason;
    if (options_.scoring == Scoring::kGenerate) {
      try {
        const auto& choice = body.at("choices").at(0);
        content = &choice.at("message").at("content");
        if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) finish_reason = choice["finish_reason"];
      } catch (const json::exception&) {
        t.last_error = fmt::format("response from {} has no choices[0].message.content", url_);
        return Outcome::kRetry;
      }
    } else if (const auto outcome = take_logprobs(t, body, call, pending, logprobs_absent); outcome != Outcome::kDone) {
      return outcome;
    }
    response.usage.calls += 1;
    response.usage.latency_ms += latency_ms;
    if (body.contains("usage") && body["usage"].is_object()) {
      // Usage is the server's word on cost: a count that is not one (a
      // fractional or out-of-range number) is left at 0, never converted.
      const auto& usage = body["usage"];
      if (auto v = usage.find("prompt_tokens"); v != usage.end()) response.usage.prompt_tokens += json_count(*v).value_or(0);
      if (auto v = usage.find("completion_tokens"); v != usage.end()) response.usage.completion_tokens += json_count(*v).value_or(0);
    }
    if (options_.scoring == Scoring::kGenerate) {
      response.truncated = finish_reason == "length";
      response.raw = RawAnswer{"text", content->is_string() ? content->get<std::string>() : std::string()};
      ground(request, response);
    }
    return Outcome::kDone;
  }

  // The log-probabilities a scoring call returned, into the request's parts.
  Outcome take_logprobs(Transfer& t, const json& body, const Call& call, Pending& pending, bool& logprobs_absent) const {
    if (options_.scoring == Scoring::kLoglik) {
      const auto values = echoed_logprobs(body, t.from, t.to);
      if (!values) {
        logprobs_absent = true;
        t.last_error = fmt::format(
            "the answer from {} has no choices[0].logprobs.token_logprobs and text_offset covering the title: the server does not "
            "echo the prompt's log-probabilities (key echo=true with logprobs=1; llama.cpp's server has no echo; use scoring=first-token "
            "or pointwise there)",
            url_);
        return Outcome::kFail;
      }
      pending.parts["candidates"][*call.candidate] = *values;
      return Outcome::kDone;
    }
    const auto top = first_token_top_logprobs(body);
    if (!top) {
      logprobs_absent = true;
      t.last_error = fmt::format(
          "the answer from {} has no choices[0].logprobs.content[0].top_logprobs: the server ignored the keys logprobs=true and "
          "top_logprobs (vLLM: start it with --max-logprobs 20 or more; Ollama >= 0.12 and llama.cpp's server return them)",
          url_);
      return Outcome::kFail;
    }
    if (options_.scoring == Scoring::kFirstToken) pending.parts = {{"top_logprobs", top_logprobs_json(*top)}};
    else pending.parts["candidates"][*call.candidate] = top_logprobs_json(*top);
    return Outcome::kDone;
  }

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
  PromptTemplate open_template_;
  mutable std::once_flag open_grounder_once_;
  mutable std::unique_ptr<CatalogGrounder> open_grounder_;
  std::string api_key_;
  std::string url_;
  CURLM* multi_ = nullptr;
  curl_slist* headers_ = nullptr;
  bool reachable_ = false;  // check_reachable() passed once
};

}  // namespace

const std::vector<std::string>& openai_reserved_fields() {
  static const std::vector<std::string> fields = {"model", "messages", "prompt", "temperature", "top_p", "seed", "max_tokens", "n", "stream",
                                                  "logprobs", "top_logprobs", "echo", "response_format", "structured_outputs",
                                                  "guided_json", "json_schema"};
  return fields;
}

std::unique_ptr<Recommender> make_openai_recommender(std::shared_ptr<const Catalog> catalog, OpenAiOptions options) {
  return std::make_unique<OpenAiRecommender>(std::move(catalog), std::move(options));
}

}  // namespace recbias
