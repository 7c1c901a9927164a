// What an OpenAI-compatible server's answers mean for the `openai` adapter's
// scoring modes and structured outputs: pure functions over JSON, shared by
// the adapter and the grounding fuzz target (the server and the response
// cache are both untrusted).
//
// Scoring modes (adapter key scoring=):
//  - generate: the model writes a ranking as text; grounding.h reads it.
//  - first-token: one call per request with max_tokens=1, logprobs=true and
//    top_logprobs=K; the candidates are labelled A, B, ... T (K <= 20, the
//    common top_logprobs cap); a candidate's score is the log-probability of
//    its label as the first generated token (log-sum-exp over the tokens
//    equal to the label after trimming whitespace, so " A" and "A" both
//    count; "A." or "AB" are other tokens); a label absent from top_logprobs
//    is masked (no score).
//  - pointwise: one call per (request, candidate) asking Yes or No; the score
//    is log P(Yes) - log P(No) (log-sum-exp over case and whitespace
//    variants). When only one of the two is among top_logprobs, the other is
//    bounded by the smallest listed log-probability; when neither, masked.
//  - loglik: one /v1/completions call per (request, candidate) with echo and
//    logprobs: the score is the total (or per-token mean) log-likelihood of
//    the candidate's title after the prompt.
// A scoring answer is kept as RawAnswer{"logprobs", body} (the tokens and
// log-probabilities the server returned, as JSON below), so cached answers
// are scored again when read.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/rank.h"

namespace recbias {

enum class Scoring { kGenerate, kFirstToken, kPointwise, kLoglik };
const std::map<std::string, Scoring>& scoring_names();
std::string scoring_name(Scoring s);

// Structured outputs for generate (adapter key structured=): off; json_schema
// (OpenAI's response_format {"type": "json_schema", ...}, honoured by vLLM,
// llama.cpp server, Ollama and OpenAI); vllm (vLLM's "structured_outputs":
// {"json": schema}, >= 0.10); guided_json (vLLM < 0.12's "guided_json");
// llama (llama.cpp server's top-level "json_schema").
enum class Structured { kOff, kJsonSchema, kVllm, kGuidedJson, kLlama };
const std::map<std::string, Structured>& structured_names();
std::string structured_name(Structured s);

inline constexpr std::size_t kMaxLabels = 20;
// "A" .. "T" for i = 0 .. 19.
std::string candidate_label(std::size_t i);

struct TokenLogprob {
  std::string token;
  double logprob = 0;
};

// choices[0].logprobs.content[0].top_logprobs of a chat completion (OpenAI's
// format), or nullopt when the answer has none (the server ignored
// logprobs / top_logprobs). Entries without a string token or a finite
// logprob are skipped.
std::optional<std::vector<TokenLogprob>> first_token_top_logprobs(const nlohmann::json& body);

// Per presented candidate: the log-probability of its label, -inf when absent.
std::vector<float> first_token_scores(std::span<const TokenLogprob> top, std::size_t k);

// log P(Yes) - log P(No) from one answer's top_logprobs (see above), or nullopt.
std::optional<double> yes_no_score(std::span<const TokenLogprob> top);

// From a /v1/completions answer with echo and logprobs: the log-probabilities
// of the tokens whose text_offset lies in [from, to) (offsets in Unicode code
// points, as servers count them). nullopt when the answer has no
// choices[0].logprobs.{token_logprobs, text_offset} of equal length, or no
// token in the range.
std::optional<std::vector<double>> echoed_logprobs(const nlohmann::json& body, std::size_t from, std::size_t to);

// Unicode code points in UTF-8 text (bytes that do not continue a sequence).
std::size_t code_points(std::string_view utf8);

// The raw answers of the scoring modes (RawAnswer format "logprobs"):
//   first-token: {"top_logprobs": [{"token": "A", "logprob": -0.1}, ...]}
//   pointwise:   {"candidates": [[top_logprobs of candidate 0], ..., null for none]}
//   loglik:      {"candidates": [[token logprobs of candidate 0's title], ...]}
nlohmann::json top_logprobs_json(std::span<const TokenLogprob> top);

// Scores a response from its raw "logprobs" answer: fills scores (one per
// presented candidate; -inf where masked) and ranking (the top k finite
// scores, best first; ties by candidate position); an answer that cannot be
// read, or leaves every candidate masked, counts one parse failure.
// `loglik_mean`: per-token mean instead of the total.
void ground_scores(std::string_view raw_body, Scoring scoring, bool loglik_mean, const RankRequest& request, RankResponse& response);

// The JSON schema of a constrained answer: {"ranking": [k distinct titles of
// the presented candidates]}.
nlohmann::json ranking_schema(std::span<const std::string> titles, int k);

// Adds the constraint to a chat completion request body in the given spelling.
void add_constraint(nlohmann::json& body, Structured structured, const nlohmann::json& schema);

// Whether a generated answer follows ranking_schema: a JSON object whose
// only key is "ranking", an array of exactly k distinct strings each one of
// `titles` (after <think> blocks are removed).
bool follows_ranking_schema(std::string_view content, std::span<const std::string> titles, int k);

}  // namespace recbias
