// What a recommender is asked and what it answers. These travel through every
// part: datasets build RankRequests, adapters answer RankResponses, audits
// fold them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/catalog.h"

namespace recbias {

// A user as the model sees them.
struct UserContext {
  std::string id;                                  // external user id
  std::vector<ItemIndex> history;                  // training items, oldest first
  std::map<std::string, std::string> attributes;   // e.g. {"gender": "F", "age": "25-34"};
                                                   // an absent key = not stated (neutral)
  // FaiRLLM's protocol (--protocol fairllm-movie|fairllm-music): the director
  // or artist the user says they are a fan of ("I am a fan of {fan_of}"),
  // verbatim; empty otherwise (and then absent from encoded requests).
  std::string fan_of = {};  // (a default initializer: aggregate initialisations may leave it out)
};

// One ranking request: rank `candidates` (in the order presented) for `user`
// and return the best `k`.
struct RankRequest {
  std::string id;                     // unique within a plan; keys caches and error messages
  UserContext user;
  std::vector<ItemIndex> candidates;  // presented order; position 0 is shown first
  int k = 10;                         // how many entries the answer should have (<= candidates)
  // Candidate-free (the open-generation probe, FaiRLLM's protocol): no
  // candidates are shown, the model names k items of its own, and the
  // response's ranking holds CATALOG item indices (grounded against the
  // whole catalog: adapters/catalog_grounder.h) instead of candidate
  // positions. Audits read an open request's entries as items.
  bool open = false;
  // Which draw of a stochastic model this is. Requests that differ only in
  // `sample` ask for independent answers (noise floors); adapters fold it
  // into their sampling seed. Part of every cache key. Default 0.
  std::uint64_t sample = 0;
};

// Tokens and time one request cost.
struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  double latency_ms = 0;   // wall time of the model call(s) answering this request
  std::int64_t calls = 0;  // model calls that produced an answer (ensembles count each member)
  std::int64_t retries = 0;  // extra attempts after 429/5xx/timeouts/connection errors
};

// The model's output exactly as it arrived, before grounding. Kept so that the
// response cache stores what the model said (also when it could not be
// parsed) and grounding can run again when the answer is read: an improved
// grounder then applies to cached answers without sending them again.
struct RawAnswer {
  // "text": `body` is generated text (a chat completion's content, or an
  // exec answer's "text"); "answer": `body` is an exec answer object as JSON.
  std::string format;
  std::string body;
  bool operator==(const RawAnswer&) const = default;
};

// The model's answer to one RankRequest.
struct RankResponse {
  std::string request_id;
  // Output ranking, best first, as indices into RankRequest::candidates
  // (0 = the candidate presented first). Grounded, de-duplicated entries only.
  std::vector<int> ranking;
  // One score per presented candidate (higher is better), when the backend
  // has scores; -inf marks a candidate the backend could not score (masked;
  // written as null in JSON).
  std::optional<std::vector<float>> scores;
  // Output entries that matched no candidate (hallucinated titles), verbatim.
  std::vector<std::string> ungrounded;
  int duplicates = 0;      // entries naming a candidate already ranked
  int out_of_range = 0;    // "[i]" references outside 1..K
  int parse_failures = 0;  // output lines that could not be parsed as an entry
  int repaired = 0;        // candidates appended by optional repair (not by the model)
  bool truncated = false;  // the output was cut short (e.g. max_tokens reached)
  // The request asked for a structured answer (a JSON schema the server was
  // to enforce), and whether the answer broke it: a server that silently
  // ignores the constraint shows up as constraint_ignored answers.
  bool constrained = false;
  bool constraint_ignored = false;
  // The answer's first entry was not a usable candidate (hallucinated, a
  // duplicate, out of range, or an unparseable line), so ranking[0] is not
  // the model's first choice. The position audit counts such responses as
  // "top-1 unusable" instead of promoting the second entry.
  bool first_entry_unusable = false;
  // What the model said, for adapters that parse text or answer objects
  // (openai, exec); absent for scoring adapters. See RawAnswer.
  std::optional<RawAnswer> raw;
  // Open (candidate-free) answers only: every entry as written, normalised
  // (normalize_title), in order, duplicates and hallucinations included --
  // what FaiRLLM compares. Filled by grounding (never cached: the cache
  // grounds the raw answer again on every read).
  std::vector<std::string> entries;
  Usage usage;
  std::optional<std::string> error;  // set when the request failed; ranking is then empty
};

}  // namespace recbias
