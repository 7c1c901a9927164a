// `openai`: any server speaking OpenAI's /v1/chat/completions — vLLM,
// Ollama, llama.cpp server, TGI, OpenAI itself — over libcurl.
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

#include "adapters/grounding.h"
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
  std::string prompt_template = "listwise";           // built-in name or file; default listwise
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

std::unique_ptr<Recommender> make_openai_recommender(std::shared_ptr<const Catalog> catalog, OpenAiOptions options);

}  // namespace recbias
