// Parsing a language model's free-text answer into a ranking of the presented
// candidates ("grounding"), recording everything that could not be grounded.
//
// After <think>...</think> blocks are removed (an unclosed <think> swallows
// the rest), and the content of the first ``` fenced block is taken when
// there is one, the answer is read as:
//  - JSON, when the text is a JSON document or a line opens one after prose
//    ("Here is my ranking:\n[...]"): an array of entries, or an object with
//    the array under a ranking-like key ("ranking", "recommendations",
//    "items", ...; else its first array value, searching nested objects).
//    An entry is a string (a title, "[i]", "3. Title"), an integer (a 1-based
//    index), or an object whose "title"/"name"/"item"/"movie"/... string is a
//    title or whose "index"/"id"/... integer is a 1-based index. An object
//    with a single string value ({"answer": "1. Heat\n2. ..."}) is read as
//    text. Malformed JSON falls back to the text rules.
//  - index lists: "[3] > [1] > [2]", "[3], [1]", one "[i]" per line, ...
//    Every "[i]" is an entry; i is 1-based into the presented candidates.
//  - title lists: numbered ("1. Heat", "2) Heat"), bulleted ("- Heat",
//    "* **Heat**"), plain lines, "A > B > C", one-line lists separated by ','
//    ';' or '>' (parts are joined back when together they name a title, as in
//    "Usual Suspects, The (1995)"; a line is such a list when at least two
//    parts ground), and markdown tables (the first cell that grounds; the
//    header row and the |---| rule are skipped). Markdown emphasis, quotes and
//    prose lines around the list ("Sure! Here are ...:") are skipped.
// A title is matched to a candidate, in this order: exactly; by normalised
// title (case, punctuation, a trailing "(1995)" year, leading or trailing
// articles "The/A/An", parenthesised alternate titles); after dropping a
// trailing description (" - ...", " – ...", ": ...", ", ...", longest title
// first) or a leading label ("Top pick: Heat"); then fuzzily, when the
// longest-common-subsequence ratio 2·LCS/(|a|+|b|) of the normalised titles is
// at least `fuzzy_threshold`.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/rank.h"

namespace recbias {

// The version of the rules above. Reports record it in their provenance;
// cached answers are grounded again with the current rules when read.
inline constexpr const char* kGrounderVersion = "recbias.grounding/2";

struct GroundingOptions {
  double fuzzy_threshold = 0.9;  // minimum LCS ratio for a fuzzy match; default 0.9
  // Append the candidates the answer left out, in presented order, and count
  // them in RankResponse::repaired. Off by default: appending in presented
  // order itself creates position bias.
  bool repair = false;
};

// Fills response.ranking, ungrounded, duplicates, out_of_range,
// parse_failures, repaired and first_entry_unusable from `text` (adds to
// them: call reset_grounding first to ground a response again). `titles` are the presented
// candidates' titles, in presented order. A non-empty answer from which no
// entry at all can be read counts one parse failure; so does an empty answer.
void ground_answer(std::string_view text, std::span<const std::string> titles, const GroundingOptions& options,
                   RankResponse& response);

// The entries of one answer, in the order the model wrote them, into a
// response: a candidate position, a 1-based "[i]" reference, or text that
// names no candidate. Keeps ranking, duplicates, out_of_range, ungrounded and
// first_entry_unusable consistent; shared by the text grounder and the exec
// codec's structured answers. Writes into `response`, which must outlive it.
class EntrySink {
 public:
  EntrySink(int k, RankResponse& response);  // k = the number of presented candidates
  // `slots` entries can be ranked (a candidate-free answer: the catalog's
  // size), and "[i]" references must lie in 1..k (0 there: none can).
  EntrySink(int k, RankResponse& response, std::size_t slots);
  // Also record every candidate and ungrounded entry in response.entries
  // (candidates as "\x01<index>", for the caller to replace by their titles).
  void record_entries() { record_ = true; }
  void candidate(int index);                 // 0-based; a second mention is a duplicate
  void index(long long i);                   // 1-based; outside 1..k is out of range
  void ungrounded(std::string text);         // a hallucinated or unknown entry, verbatim
  bool any() const { return seen_; }         // at least one entry was read
  const std::vector<char>& taken() const { return taken_; }  // per candidate: ranked

 private:
  void first(bool usable);
  int k_;
  bool record_ = false;
  std::vector<char> taken_;
  RankResponse& response_;
  bool seen_ = false;
};

class CatalogGrounder;  // catalog_grounder.h

// A candidate-free answer (RankRequest::open): the same reading rules, but
// every entry is matched against the whole catalog (CatalogGrounder) and
// the ranking holds catalog item indices; "[i]" references are out of
// range; entries that name no item are ungrounded (hallucinated).
void ground_open_answer(std::string_view text, const CatalogGrounder& catalog, RankResponse& response);

// Clears every field ground_answer fills.
void reset_grounding(RankResponse& response);

// The normalised form used for matching ("Usual Suspects, The (1995)" -> "usual suspects").
std::string normalize_title(std::string_view title);
// The same without any parenthesised part ("Seven (Se7en) (1995)" -> "seven").
std::string normalize_title_base(std::string_view title);

// 2·LCS(a, b) / (|a| + |b|) over bytes; 1 for two empty strings.
double lcs_ratio(std::string_view a, std::string_view b);

// `text` with <think>...</think> blocks removed.
std::string strip_think_blocks(std::string_view text);

}  // namespace recbias
