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

#include "core/rng.h"

namespace recbias::testing {

struct Prompt {
  std::string path;                     // "/v1/chat/completions" or "/v1/completions"
  nlohmann::json body;                  // the request body as received
  std::string user_message;             // content of the last user message
  std::vector<std::string> candidates;  // titles parsed from "[i] Title" lines, in order
  int attempt = 0;                      // 1 for the first time this exact body arrives, 2 for the next, ...
};

struct Reply {
  int status = 200;
  std::string content;            // assistant message content (status 200); /v1/completions: the choice's text
  nlohmann::json logprobs;        // when not null: the choice's "logprobs" (OpenAI's format for the path)
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
  // A chat answer of one token whose top_logprobs are `top` (token, logprob), best first.
  static Reply first_token(const std::vector<std::pair<std::string, double>>& top);
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
  int hits() const { return hits_.load(); }  // chat and completion requests
  int tokenize_hits() const { return tokenize_hits_.load(); }  // POST /tokenize (vLLM's form, words as tokens)
  // Successful (status 200, complete) answers per distinct request body.
  std::map<std::string, int> completed_by_body() const;
  std::vector<nlohmann::json> bodies() const;  // every request body received, in arrival order
  std::vector<std::string> authorization_headers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<int> hits_{0};
  std::atomic<int> tokenize_hits_{0};
  std::thread thread_;
  int port_ = 0;
};

// The titles of "A. Title" lines (a first-token prompt's lettered candidates), in order.
std::vector<std::string> lettered_candidates(const std::string& prompt);

// "[3] > [1] > [2]"-style answer listing the candidates best-first by `order` (0-based positions).
std::string bracket_answer(const std::vector<int>& order);

// A /v1/completions answer with echo for `prompt` split into tokens at the
// given code-point offsets (each token runs to the next offset), with the
// given log-probabilities (the first is null, as servers send it).
Reply echo_answer(const std::string& prompt, const std::vector<std::size_t>& offsets, const std::vector<double>& logprobs);

// A chat model with a known behaviour, for end-to-end audits through the
// openai adapter. It reads the candidates ("[i] Title" lines), the stated
// profile ("User profile: gender: F; age: 25-34.") and the body's
// temperature and seed, scores every candidate with chat_model_scores, and
// answers with ALL of them, best first, as chat models do — in one of eight
// formats chosen by the prompt (numbered lines with explanations, JSON array,
// JSON object of objects, fenced JSON, comma list, markdown table, bracket
// chain, <think> block then bullets), with hallucinated titles and
// duplicates inserted at known rates.
struct ChatModelOptions {
  std::string attribute = "gender";  // the stated attribute that changes the answer
  std::string value = "F";           // ... when it has this value
  double effect = 0;                 // scale of the per-title taste added for that value
  double primacy = 0;                // score bonus of the first-presented candidate, falling linearly to 0
  double hallucination_rate = 0;     // share of answers with one invented title inserted
  double first_hallucinated_rate = 0;// share of answers whose FIRST entry is an invented title
  double duplicate_rate = 0;         // share of answers repeating one entry
  bool vary_formats = true;          // false: numbered lines only
};

struct ChatModelStats {
  std::atomic<int> answers{0};
  std::atomic<int> hallucinated{0};        // invented titles written
  std::atomic<int> first_hallucinated{0};  // answers whose first entry was invented
  std::atomic<int> duplicated{0};          // entries written twice
  std::atomic<int> entries{0};             // entries written (including invented and repeated ones)
};

// The model's scores of `titles` (presented order) for a profile. Temperature
// 0: deterministic in the titles and the profile; above 0: plus
// temperature x Gumbel noise per presented position, drawn from `seed` and
// the prompt without its "User profile:" line (as a seeded sampler does: a
// variant sent with the neutral prompt's seed shares its random numbers).
std::vector<double> chat_model_scores(const std::vector<std::string>& titles, const std::map<std::string, std::string>& profile,
                                      const ChatModelOptions& options, double temperature, std::int64_t seed,
                                      const std::string& prompt);

Behaviour chat_model(ChatModelOptions options, std::shared_ptr<ChatModelStats> stats = nullptr);

}  // namespace recbias::testing
