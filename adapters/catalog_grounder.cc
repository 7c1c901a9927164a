#include "adapters/catalog_grounder.h"

#include <algorithm>
#include <cmath>

#include "adapters/grounding.h"
#include "core/text.h"

namespace recbias {
namespace {

// |a ∩ b| of two sorted lists, branch-free; stops early (returning less)
// once even matching every remaining element could not reach `needed`.
std::size_t intersection_size(const std::uint32_t* a, std::size_t na, const std::uint32_t* b, std::size_t nb, std::size_t needed) {
  std::size_t i = 0, j = 0, c = 0;
  while (i < na && j < nb) {
    const auto x = a[i], y = b[j];
    c += x == y;
    i += x <= y;
    j += y <= x;
    if (((i | j) & 7) == 0 && c + std::min(na - i, nb - j) < needed) return c;
  }
  return c;
}

// Per-thread scratch of the fuzzy step: a stamp per item, so that each
// candidate is verified once per query without clearing an array.
// 4 bytes per item, so that the array of a 100,000-item catalog stays in
// the L2 cache: its random accesses are the fuzzy step's main cost.
struct Slot {
  std::uint16_t stamp = 0;  // the query generation that last touched the item
  std::uint8_t count = 0;   // query trigrams it shares, counted so far (valid when stamp is current)
  std::uint8_t length = 0;  // its trigram count, capped at 255 (the true count is read when it is 255)
};
struct Scratch {
  std::vector<Slot> slots;  // one cache access per item met
  std::vector<ItemIndex> touched;
  std::vector<ItemIndex> survivors;  // touched items that pass the count bound
  std::uint16_t generation = 0;
};

}  // namespace

std::vector<std::uint32_t> title_trigrams(std::string_view text) {
  std::string padded;
  padded.reserve(text.size() + 2);
  padded += ' ';
  padded += text;
  padded += ' ';
  std::vector<std::uint32_t> grams;
  if (padded.size() < 3) return grams;
  grams.reserve(padded.size() - 2);
  for (std::size_t i = 0; i + 2 < padded.size(); ++i)
    grams.push_back(static_cast<std::uint32_t>(static_cast<unsigned char>(padded[i])) << 16 |
                    static_cast<std::uint32_t>(static_cast<unsigned char>(padded[i + 1])) << 8 |
                    static_cast<std::uint32_t>(static_cast<unsigned char>(padded[i + 2])));
  std::sort(grams.begin(), grams.end());
  grams.erase(std::unique(grams.begin(), grams.end()), grams.end());
  return grams;
}

const char* kind_name(CatalogGrounder::Kind kind) {
  switch (kind) {
    case CatalogGrounder::Kind::kNone: return "none";
    case CatalogGrounder::Kind::kExact: return "exact";
    case CatalogGrounder::Kind::kNormalised: return "normalised";
    case CatalogGrounder::Kind::kFuzzy: return "fuzzy";
  }
  return "?";
}

CatalogGrounder::CatalogGrounder(const Catalog& catalog, CatalogGroundingOptions options) : options_(options) {
  const auto& items = catalog.items();
  exact_.reserve(items.size());
  normalised_.reserve(items.size());
  item_grams_offset_.reserve(items.size() + 1);
  item_grams_offset_.push_back(0);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto index = static_cast<ItemIndex>(i);
    exact_.emplace(std::string(trim(items[i].title)), index);  // emplace keeps the first of equal titles
    const auto n = normalize_title(items[i].title);
    normalised_.emplace(n, index);
    normalised_titles_.push_back(n);
    normalised_.emplace(normalize_title_base(items[i].title), index);
    const auto grams = title_trigrams(n);
    for (const auto g : grams) {
      item_grams_.push_back(g);
      auto& p = postings_[g];
      p.items.push_back(index);
      p.lengths.push_back(static_cast<std::uint32_t>(grams.size()));
    }
    item_grams_offset_.push_back(item_grams_.size());
  }
  // Each posting list by (trigram count, item index): the length filter is a range.
  for (auto& entry : postings_) {
    auto& p = entry.second;  // a plain reference: clang 14 cannot capture structured bindings
    std::vector<std::size_t> order(p.items.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return p.lengths[a] != p.lengths[b] ? p.lengths[a] < p.lengths[b] : p.items[a] < p.items[b];
    });
    Posting sorted;
    sorted.items.reserve(order.size());
    sorted.lengths.reserve(order.size());
    for (const auto i : order) {
      sorted.items.push_back(p.items[i]);
      sorted.lengths.push_back(p.lengths[i]);
    }
    p = std::move(sorted);
  }
}

CatalogGrounder::Match CatalogGrounder::match(std::string_view entry, bool fuzzy_step) const {
  const auto trimmed = trim(entry);
  if (trimmed.empty()) return {};
  if (const auto it = exact_.find(std::string(trimmed)); it != exact_.end()) return {it->second, Kind::kExact, 1.0};
  const auto n = normalize_title(trimmed);
  if (n.empty()) return {};
  if (const auto it = normalised_.find(n); it != normalised_.end()) return {it->second, Kind::kNormalised, 1.0};
  if (const auto b = normalize_title_base(trimmed); !b.empty())
    if (const auto it = normalised_.find(b); it != normalised_.end()) return {it->second, Kind::kNormalised, 1.0};
  if (!fuzzy_step || options_.fuzzy_threshold > 1) return {};
  return fuzzy(n);
}

CatalogGrounder::Match CatalogGrounder::fuzzy(const std::string& normalised) const {
  const double t = options_.fuzzy_threshold;
  const auto query = title_trigrams(normalised);
  const double nq = static_cast<double>(query.size());
  // Not a title: empty, or longer than 250 trigrams (the per-item counts are 8-bit).
  if (query.empty() || query.size() > 250) return {};
  // Query trigrams by their posting lists' length, shortest (absent: 0) first.
  std::vector<std::pair<std::size_t, const Posting*>> by_rarity;
  by_rarity.reserve(query.size());
  for (const auto g : query) {
    const auto it = postings_.find(g);
    by_rarity.emplace_back(it == postings_.end() ? 0 : it->second.items.size(), it == postings_.end() ? nullptr : &it->second);
  }
  std::sort(by_rarity.begin(), by_rarity.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // Every item with Dice >= t shares at least one of the first `prefix` of them.
  const auto min_overlap = static_cast<std::size_t>(std::ceil(t * nq / (2 - t) - 1e-9));
  if (min_overlap == 0 || min_overlap > query.size()) return {};
  const std::size_t prefix = query.size() - min_overlap + 1;
  // The length filter: |Ti| within [t |Tq| / (2 - t), (2 - t) |Tq| / t].
  const double min_len = t * nq / (2 - t) - 1e-9, max_len = (2 - t) * nq / t + 1e-9;

  // Pass 1: count, per item met in the prefix postings (within the length
  // window), how many prefix trigrams it shares.
  thread_local Scratch scratch;
  if (scratch.slots.size() < size()) scratch.slots.assign(size(), Slot{});
  if (++scratch.generation == 0) {  // wrapped: clear the stamps once
    for (auto& slot : scratch.slots) slot.stamp = 0;
    scratch.generation = 1;
  }
  scratch.touched.clear();
  // Plain locals in the loops: the compiler need not reload the thread-local scratch's fields.
  Slot* const slots = scratch.slots.data();
  const std::uint16_t generation = scratch.generation;
  auto& touched = scratch.touched;
  const auto len_lo = static_cast<std::uint32_t>(std::ceil(min_len)), len_hi = static_cast<std::uint32_t>(std::floor(max_len));
  // A posting's entries within the length window, [lo, hi).
  auto window = [&](const Posting& posting) {
    const std::uint32_t* const lengths = posting.lengths.data();
    const auto lo = static_cast<std::size_t>(std::lower_bound(lengths, lengths + posting.lengths.size(), len_lo) - lengths);
    const auto hi = static_cast<std::size_t>(std::upper_bound(lengths + lo, lengths + posting.lengths.size(), len_hi) - lengths);
    return std::pair{lo, hi};
  };
  // Entries [from, to) of a posting raise the counts of the items already met.
  auto count_met = [&](const Posting& posting, std::size_t from, std::size_t to) {
    const ItemIndex* const items = posting.items.data();
    for (std::size_t k = from; k < to; ++k) {
      auto& slot = slots[static_cast<std::size_t>(items[k])];
      slot.count = static_cast<std::uint8_t>(slot.count + (slot.stamp == generation));
    }
  };
  for (std::size_t p = 0; p < prefix; ++p) {
    if (!by_rarity[p].second) continue;
    const auto& posting = *by_rarity[p].second;
    const std::uint32_t* const lengths = posting.lengths.data();
    const ItemIndex* const items = posting.items.data();
    const auto [lo, hi] = window(posting);
    // Length-aware prefix: an item of |Ti| trigrams needs an overlap of
    // ceil(t (|Tq| + |Ti|) / 2), so it shares one of the first |Tq| - that + 1
    // trigrams; here (the p-th) only items with |Ti| <= 2 (|Tq| - p) / t - |Tq|
    // can be met first. Longer ones are only counted when already met.
    const double first_len = 2 * (nq - static_cast<double>(p)) / t - nq + 1e-9;
    const auto mid = first_len < static_cast<double>(len_lo)
                         ? lo
                         : static_cast<std::size_t>(std::upper_bound(lengths + lo, lengths + hi, static_cast<std::uint32_t>(std::min(first_len, 1e9))) - lengths);
    for (std::size_t k = lo; k < mid; ++k) {
      auto& slot = slots[static_cast<std::size_t>(items[k])];
      if (slot.stamp != generation) {
        slot = {generation, 0, static_cast<std::uint8_t>(std::min<std::uint32_t>(lengths[k], 255))};
        touched.push_back(items[k]);
      }
      ++slot.count;
    }
    count_met(posting, mid, hi);
  }
  // Pass 1b: the next rarest trigrams' postings, while they are short,
  // raise the counts of items already met (no new candidates: every match
  // shares a prefix trigram). Sequential reads, cheaper than verifying.
  std::size_t counted = prefix;
  std::size_t budget = 2 * std::max<std::size_t>(touched.size(), 256);
  for (; counted < by_rarity.size(); ++counted) {
    if (!by_rarity[counted].second) continue;
    const auto& posting = *by_rarity[counted].second;
    const auto [lo, hi] = window(posting);
    if (hi - lo > budget) break;
    budget -= hi - lo;
    count_met(posting, lo, hi);
  }
  // Pass 2: an item can reach Dice >= t only if its count plus every
  // trigram not counted reaches t (|Tq| + |Ti|) / 2; verify those.
  const double rest = nq - static_cast<double>(counted);
  // The survivors in index order, so that their trigram lists are read
  // front to back through memory.
  scratch.survivors.clear();
  for (const ItemIndex item : touched) {
    const auto& slot = slots[static_cast<std::size_t>(item)];
    const double ni = slot.length < 255 ? slot.length : static_cast<double>(item_grams_offset_[static_cast<std::size_t>(item) + 1] -
                                                                             item_grams_offset_[static_cast<std::size_t>(item)]);
    if (static_cast<double>(slot.count) + rest >= t * (nq + ni) / 2 - 1e-9) scratch.survivors.push_back(item);
  }
  std::sort(scratch.survivors.begin(), scratch.survivors.end());
  Match best;
  for (const ItemIndex item : scratch.survivors) {
    const auto from = item_grams_offset_[static_cast<std::size_t>(item)], to = item_grams_offset_[static_cast<std::size_t>(item) + 1];
    const double ni = static_cast<double>(to - from);
    const double needed = t * (nq + ni) / 2 - 1e-9;
    const auto c = intersection_size(query.data(), query.size(), item_grams_.data() + from, to - from, static_cast<std::size_t>(std::ceil(needed)));
    const double dice = 2.0 * static_cast<double>(c) / (nq + ni);
    if (dice + 1e-12 >= t && dice > best.similarity + 1e-12) best = {item, Kind::kFuzzy, dice};  // index order: ties keep the lowest
  }
  return best;
}

}  // namespace recbias
