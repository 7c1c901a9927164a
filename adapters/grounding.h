// Parsing a language model's free-text answer into a ranking of the presented
// candidates ("grounding"), recording everything that could not be grounded.
//
// Accepted answer shapes, after removing <think>...</think> blocks (an
// unclosed <think> swallows the rest):
//  - index lists: "[3] > [1] > [2]", "[3], [1]", one "[i]" per line, ...
//    Every "[i]" is an entry; i is 1-based into the presented candidates.
//  - title lists: numbered ("1. Heat", "2) Heat"), bulleted ("- Heat",
//    "* **Heat**"), plain lines, or "A > B > C". Markdown emphasis, quotes and
//    prose lines around the list ("Sure! Here are ...:") are skipped.
// A title is matched to a candidate, in this order: exactly; by normalised
// title (case, punctuation, a trailing "(1995)" year, leading or trailing
// articles "The/A/An", parenthesised alternate titles); after dropping a
// trailing description (" - ...", ": ..."); then fuzzily, when the
// longest-common-subsequence ratio 2·LCS/(|a|+|b|) of the normalised titles is
// at least `fuzzy_threshold`.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/rank.h"

namespace recbias {

struct GroundingOptions {
  double fuzzy_threshold = 0.9;  // minimum LCS ratio for a fuzzy match; default 0.9
  // Append the candidates the answer left out, in presented order, and count
  // them in RankResponse::repaired. Off by default: appending in presented
  // order itself creates position bias.
  bool repair = false;
};

// Fills response.ranking, ungrounded, duplicates, out_of_range,
// parse_failures and repaired from `text`. `titles` are the presented
// candidates' titles, in presented order. A non-empty answer from which no
// entry at all can be read counts one parse failure; so does an empty answer.
void ground_answer(std::string_view text, std::span<const std::string> titles, const GroundingOptions& options,
                   RankResponse& response);

// The normalised form used for matching ("Usual Suspects, The (1995)" -> "usual suspects").
std::string normalize_title(std::string_view title);

// 2·LCS(a, b) / (|a| + |b|) over bytes; 1 for two empty strings.
double lcs_ratio(std::string_view a, std::string_view b);

// `text` with <think>...</think> blocks removed.
std::string strip_think_blocks(std::string_view text);

}  // namespace recbias
