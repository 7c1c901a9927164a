// Grounding against the whole catalog: the model named an item without being
// shown candidates (candidate-free generation, FaiRLLM's protocol), and the
// entry is mapped to a catalog item -- or found to name none (a
// hallucination against the catalog).
//
// In this order:
//  1. exact: the entry equals an item's title (surrounding space trimmed);
//  2. normalised: normalize_title(entry) (grounding.h: case, punctuation, a
//     trailing "(1995)" year, articles "The/A/An" at either end) or its form
//     without any parenthesised part (normalize_title_base: "Seven (Se7en)"
//     -> "seven") equals one of an item's two forms;
//  3. fuzzy: the Dice coefficient of the two normalised titles' character
//     trigram sets (each padded with one space at both ends) is at least
//     `fuzzy_threshold` (default 0.8); the best such item wins. Entries of
//     more than 250 distinct trigrams (prose, not a title) are not matched
//     fuzzily.
// Ties go to the lowest item index, so two items with the same (normalised)
// title always ground to the first.
//
// The fuzzy step never scans the catalog. Trigrams are indexed in posting
// lists. Dice >= t needs an overlap c >= t |Tq| / (2 - t) with the entry's
// trigrams Tq (because c <= |Ti|), so every match shares one of the
// |Tq| - ceil(t |Tq| / (2 - t)) + 1 query trigrams with the fewest postings
// (prefix filtering; Chaudhuri et al. 2006, Xiao et al. 2008): only those
// postings are read -- each sorted by its items' trigram counts, so only the
// items whose count can reach Dice >= t (|Ti| within [t |Tq| / (2 - t),
// (2 - t) |Tq| / t]) are visited; and since a longer item needs a larger
// overlap, the p-th prefix posting admits new candidates only up to
// |Ti| <= 2 (|Tq| - p) / t - |Tq| (longer ones are counted if already met)
// -- and each is verified by intersecting sorted trigram lists. The result equals the brute-force best
// over all items (tested against it). bench/catalog_grounding_bench.cc
// measures it on a 100,000-item catalog.
//
// Thread rules: match() is const and thread-safe (per-thread scratch).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/catalog.h"

namespace recbias {

struct CatalogGroundingOptions {
  double fuzzy_threshold = 0.8;  // minimum trigram Dice coefficient; > 1 turns fuzzy matching off
};

class CatalogGrounder {
 public:
  enum class Kind { kNone, kExact, kNormalised, kFuzzy };
  struct Match {
    ItemIndex item = -1;  // -1: names no catalog item
    Kind kind = Kind::kNone;
    double similarity = 0;  // 1 for exact and normalised matches; the Dice coefficient for fuzzy ones
  };

  explicit CatalogGrounder(const Catalog& catalog, CatalogGroundingOptions options = {});

  // `fuzzy` false: exact and normalised matches only.
  Match match(std::string_view entry, bool fuzzy = true) const;
  std::size_t size() const { return item_grams_offset_.size() - 1; }
  // normalize_title of the item's title.
  const std::string& normalised_title(ItemIndex item) const { return normalised_titles_.at(static_cast<std::size_t>(item)); }

 private:
  Match fuzzy(const std::string& normalised) const;

  CatalogGroundingOptions options_;
  std::unordered_map<std::string, ItemIndex> exact_;
  std::unordered_map<std::string, ItemIndex> normalised_;
  std::vector<std::string> normalised_titles_;
  // Each item's sorted distinct trigrams (CSR), and each trigram's items.
  std::vector<std::uint32_t> item_grams_;
  std::vector<std::size_t> item_grams_offset_;
  // Per trigram: its items ordered by (trigram count, index), with the counts beside them.
  struct Posting {
    std::vector<std::uint32_t> lengths;
    std::vector<ItemIndex> items;
  };
  std::unordered_map<std::uint32_t, Posting> postings_;
};

// The sorted distinct character trigrams of " " + text + " " (bytes).
std::vector<std::uint32_t> title_trigrams(std::string_view text);

const char* kind_name(CatalogGrounder::Kind kind);

}  // namespace recbias
