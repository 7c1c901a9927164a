// The model-output parser and grounder: arbitrary model text against a list
// of candidate titles (the input's first NUL-separated part, one title per
// line), with and without repair. Invariants checked: every grounded entry is
// a valid, distinct candidate position, and grounding again after
// reset_grounding gives the same response. The same text also goes through
// the openai adapter's answer readers (openai_protocol.h): as a server body
// (first-token top_logprobs, echoed completion logprobs), as a raw
// "logprobs" answer in every scoring mode (ranking: valid, distinct, top-k,
// finite scores only), as a structured answer checked against the
// ranking schema, and as a candidate-free answer grounded against the titles
// as a catalog (catalog_grounder.h: every entry a valid, distinct item; the
// catalog matcher's fuzzy step on every line, checked against its own
// exact and normalised steps).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <sstream>

#include "adapters/catalog_grounder.h"
#include "adapters/grounding.h"
#include "adapters/openai_protocol.h"
#include "core/errors.h"
#include "fuzz/fuzz_support.h"

using namespace recbias;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split_input(data, size, 2);
  std::vector<std::string> titles;
  std::istringstream in(parts[0]);
  for (std::string line; std::getline(in, line) && titles.size() < 64;) titles.push_back(line);
  for (bool repair : {false, true}) {
    GroundingOptions options;
    options.repair = repair;
    RankResponse response;
    try {
      ground_answer(parts[1], titles, options, response);
    } catch (const Error&) {
      continue;
    }
    std::set<int> seen;
    for (int position : response.ranking) {
      if (position < 0 || position >= static_cast<int>(titles.size()) || !seen.insert(position).second) std::abort();
    }
    // Grounding again (as the response cache does on every read) gives the same answer.
    RankResponse again = response;
    reset_grounding(again);
    ground_answer(parts[1], titles, options, again);
    if (again.ranking != response.ranking || again.ungrounded != response.ungrounded || again.duplicates != response.duplicates ||
        again.out_of_range != response.out_of_range || again.first_entry_unusable != response.first_entry_unusable)
      std::abort();
  }
  // Candidate-free: the titles as a catalog.
  {
    Catalog catalog;
    for (std::size_t i = 0; i < titles.size(); ++i) {
      try {
        catalog.add({std::to_string(i), titles[i], {}, 0});
      } catch (const Error&) {
      }
    }
    const CatalogGrounder grounder(catalog);
    RankResponse open;
    ground_open_answer(parts[1], grounder, open);
    std::set<int> named;
    for (int item : open.ranking)
      if (item < 0 || item >= static_cast<int>(catalog.size()) || !named.insert(item).second) std::abort();
    std::istringstream lines(parts[1]);
    for (std::string line; std::getline(lines, line);) {
      const auto m = grounder.match(line);
      if (m.item >= static_cast<int>(catalog.size()) || (m.item < 0) != (m.kind == CatalogGrounder::Kind::kNone)) std::abort();
      if (m.kind == CatalogGrounder::Kind::kFuzzy && (m.similarity < 0.8 - 1e-9 || m.similarity > 1 + 1e-9)) std::abort();
      const auto exact = grounder.match(line, false);
      if (exact.item >= 0 && (m.item != exact.item || m.kind == CatalogGrounder::Kind::kFuzzy)) std::abort();
    }
  }
  // The openai adapter's readers.
  const auto body = nlohmann::json::parse(parts[1], nullptr, /*allow_exceptions=*/false);
  if (const auto top = first_token_top_logprobs(body)) {
    first_token_scores(*top, titles.size());
    yes_no_score(*top);
  }
  echoed_logprobs(body, titles.size(), titles.size() * 3 + 1);
  RankRequest request;
  request.id = "fuzz";
  for (std::size_t j = 0; j < titles.size(); ++j) request.candidates.push_back(static_cast<ItemIndex>(j));
  request.k = std::max<int>(1, static_cast<int>(titles.size()) / 2);
  for (auto scoring : {Scoring::kFirstToken, Scoring::kPointwise, Scoring::kLoglik}) {
    RankResponse scored;
    ground_scores(parts[1], scoring, scoring == Scoring::kLoglik, request, scored);
    std::set<int> seen;
    if (static_cast<int>(scored.ranking.size()) > request.k) std::abort();
    for (int position : scored.ranking) {
      if (position < 0 || position >= static_cast<int>(titles.size()) || !seen.insert(position).second) std::abort();
      if (!scored.scores || !std::isfinite((*scored.scores)[static_cast<std::size_t>(position)])) std::abort();
    }
  }
  follows_ranking_schema(parts[1], titles, request.k);
  normalize_title(parts[1]);
  lcs_ratio(parts[0].substr(0, 512), parts[1].substr(0, 512));
  return 0;
}
