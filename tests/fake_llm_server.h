// A loopback HTTP server that behaves like an OpenAI-compatible LLM server,
// for the openai adapter's tests and benchmarks. It parses the candidate list
// out of the prompt ("[i] Title" lines) and answers with whatever the test's
// Behaviour returns: well-formed answers in many shapes, or faults (429 with
// Retry-After, 5xx, slow replies, dropped connections, malformed JSON).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace recbias::testing {

struct Prompt {
  nlohmann::json body;                  // the request body as received
  std::string user_message;             // content of the last user message
  std::vector<std::string> candidates;  // titles parsed from "[i] Title" lines, in order
  int attempt = 0;                      // 1 for the first time this exact body arrives, 2 for the next, ...
};

struct Reply {
  int status = 200;
  std::string content;            // assistant message content (status 200)
  std::string raw_body;           // when non-empty, sent verbatim instead of a chat completion
  int retry_after_s = -1;         // Retry-After header when >= 0
  int delay_ms = 0;               // wait before answering
  bool drop_connection = false;   // close the connection without a complete response
  std::string finish_reason = "stop";
  int prompt_tokens = 100;
  int completion_tokens = 20;

  static Reply answer(std::string text) { Reply r; r.content = std::move(text); return r; }
  static Reply error(int http_status) { Reply r; r.status = http_status; return r; }
  static Reply raw(std::string body) { Reply r; r.raw_body = std::move(body); return r; }
  static Reply drop() { Reply r; r.drop_connection = true; return r; }
  Reply after_ms(int ms) && { delay_ms = ms; return std::move(*this); }
  Reply retry_after(int seconds) && { retry_after_s = seconds; return std::move(*this); }
  Reply finish(std::string reason) && { finish_reason = std::move(reason); return std::move(*this); }
};

using Behaviour = std::function<Reply(const Prompt&)>;

class FakeLlmServer {
 public:
  // Starts on 127.0.0.1 on a free port with `threads` worker threads.
  explicit FakeLlmServer(Behaviour behaviour, int threads = 16);
  ~FakeLlmServer();
  FakeLlmServer(const FakeLlmServer&) = delete;
  FakeLlmServer& operator=(const FakeLlmServer&) = delete;

  std::string base_url() const;  // "http://127.0.0.1:PORT/v1"
  int hits() const { return hits_.load(); }
  // Successful (status 200, complete) answers per distinct request body.
  std::map<std::string, int> completed_by_body() const;
  std::vector<nlohmann::json> bodies() const;  // every request body received, in arrival order
  std::vector<std::string> authorization_headers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<int> hits_{0};
  std::thread thread_;
  int port_ = 0;
};

// "[3] > [1] > [2]"-style answer listing the candidates best-first by `order` (0-based positions).
std::string bracket_answer(const std::vector<int>& order);

}  // namespace recbias::testing
