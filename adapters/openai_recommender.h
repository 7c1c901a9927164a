// `openai`: any server speaking OpenAI's /v1/chat/completions — vLLM,
// Ollama, llama.cpp server, TGI, OpenAI itself — over libcurl.
//
// Four scoring modes (openai_protocol.h): generate (the model writes a
// ranking; grounded as text), first-token (one call, the labels' first-token
// log-probabilities), pointwise (K calls, log P(Yes) - log P(No)) and loglik
// (K calls to /v1/completions, the title's log-likelihood). The scoring
// modes answer with one score per candidate, so score-based mitigations
// choose among all K. Structured outputs (generate) send a JSON schema in
// the chosen spelling and mark answers that break it (constraint_ignored).
// `extra` is merged into every request body; it may not set a field the
// adapter sets itself.
//
// Each request is rendered with a prompt template into chat messages and
// sent with every sampling parameter explicit (servers' defaults differ and
// are unsafe for audits). Up to `in_flight` requests run concurrently on one
// curl multi handle. 429, 5xx, timeouts, connection failures and malformed
// or truncated JSON bodies are retried with exponential backoff and jitter,
// waiting at least what a Retry-After header asks; other HTTP errors fail the
// request at once. The answer is grounded to the candidates (grounding.h).
//
// The API key is read from the environment variable named by `api_key_env`
// at construction and is never written anywhere: not in id(), reports,
// caches, logs or error messages.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/grounding.h"
#include "adapters/openai_protocol.h"
#include "adapters/recommender.h"

namespace recbias {

struct OpenAiOptions {
  std::string base_url = "http://127.0.0.1:8000/v1";  // server root; "/chat/completions" is appended
  std::string model;                                  // required
  std::string api_key_env;                            // env var holding the key; empty = no Authorization header
  double temperature = 0.0;                           // default 0 (greedy)
  double top_p = 1.0;                                 // default 1
  std::int64_t seed = 0;                              // sent as seed + request.sample; default 0
  int max_tokens = 512;                               // default 512
  std::string prompt_template;                        // built-in name or file; default by mode (listwise, json, first-token, pointwise, loglik)
  std::string open_template;                          // open (candidate-free) requests: built-in name or file; default "open"
  Scoring scoring = Scoring::kGenerate;               // default generate
  Structured structured = Structured::kOff;           // generate only; default off
  int top_logprobs = 20;                              // pointwise: top_logprobs asked for; default 20
  bool loglik_mean = false;                           // loglik: per-token mean instead of the total
  nlohmann::json extra = nlohmann::json::object();    // merged into every request body (pass-through)
  std::shared_ptr<const PhraseTable> phrases;         // attributes in words (phrases.h); null: built-in
  int max_history = 20;                               // history items shown; default 20
  std::string item = "movie";                         // what the items are, in prompts; default movie
  int in_flight = 8;                                  // concurrent requests; default 8
  int timeout_ms = 120000;                            // per attempt; default 120 s
  int connect_timeout_ms = 10000;                     // default 10 s
  int max_retries = 6;                                // retries after the first attempt; default 6
  int backoff_ms = 500;                               // first backoff; doubles per retry; default 500 ms
  int max_backoff_ms = 30000;                         // backoff cap; default 30 s
  GroundingOptions grounding;
};

// The request body fields the adapter sets itself: `extra` may not hold them.
const std::vector<std::string>& openai_reserved_fields();

std::unique_ptr<Recommender> make_openai_recommender(std::shared_ptr<const Catalog> catalog, OpenAiOptions options);

}  // namespace recbias
