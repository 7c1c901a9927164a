// The JSON form of requests and answers that leaves recbias: the exec
// adapter's JSON Lines protocol and `recbias rank`'s files. Items travel as
// the dataset's external ids (and titles), never as internal indices.
//
// Request object:
//   {"id": "u42", "k": 10, "sample": 0,
//    "user": {"id": "42", "attributes": {"gender": "F"},
//             "history": [{"id": "50", "title": "Star Wars (1977)"}, ...]},   // oldest first
//    "candidates": [{"id": "181", "title": "Return of the Jedi (1983)", "categories": ["Action"]}, ...]}
//
// Answer object (one of ranking / positions / text is required):
//   {"id": "u42",
//    "ranking": ["181", "50", ...],       // candidate ids, best first
//    "positions": [3, 0, ...],            // or 0-based positions in the presented list
//    "text": "[2] > [1] ...",             // or raw model output, grounded like the openai adapter's
//    "scores": [0.1, 2.3, ...],           // optional: one per candidate, presented order
//    "usage": {"prompt_tokens": 0, "completion_tokens": 0},   // optional
//    "error": "..."}                      // optional: the request failed
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "adapters/grounding.h"
#include "core/catalog.h"
#include "core/rank.h"

namespace recbias {

// `max_history` most recent history items are included (all when < 0).
nlohmann::json encode_request(const RankRequest& request, const Catalog& catalog, int max_history = -1);

// Reads a request object; `where` ("requests.jsonl:3") prefixes errors.
// Candidates and history may be id strings or objects with an "id". Unknown
// ids throw BadInput naming the id.
RankRequest decode_request(const nlohmann::json& j, const Catalog& catalog, const std::string& where);

// Fills `response` from an answer object (see above). Throws BadInput when
// the answer has none of ranking / positions / text or malformed fields.
void decode_answer(const nlohmann::json& answer, const RankRequest& request, const Catalog& catalog,
                   const GroundingOptions& grounding, RankResponse& response);

// A response as `recbias rank` writes it: ids instead of positions, plus the
// positions, grounding counts, usage and error.
nlohmann::json encode_response(const RankResponse& response, const RankRequest& request, const Catalog& catalog);

}  // namespace recbias
