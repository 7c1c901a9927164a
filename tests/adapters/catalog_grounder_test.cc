// The catalog-wide grounder (adapters/catalog_grounder.h): each matching
// step on hand-made titles, and the prefix-filtered fuzzy step against a
// brute-force scan of every item on random catalogs and queries.
#include <catch2/catch.hpp>

#include <algorithm>

#include "adapters/catalog_grounder.h"
#include "adapters/grounding.h"
#include "core/rng.h"
#include "tests/audits/audit_fixtures.h"

using namespace recbias;
using Kind = CatalogGrounder::Kind;

namespace {

Catalog catalog_of(const std::vector<std::string>& titles) {
  Catalog c;
  for (std::size_t i = 0; i < titles.size(); ++i) c.add({std::to_string(i + 1), titles[i], {}, 0});
  return c;
}

// Every item's Dice coefficient with the entry's normalised title; the best
// at or above the threshold (lowest index on ties), as the grounder defines it.
CatalogGrounder::Match brute_force_fuzzy(const Catalog& catalog, const std::string& entry, double t) {
  const auto q = title_trigrams(normalize_title(entry));
  CatalogGrounder::Match best;
  for (std::size_t i = 0; i < catalog.size(); ++i) {
    const auto g = title_trigrams(normalize_title(catalog.items()[i].title));
    std::vector<std::uint32_t> common;
    std::set_intersection(q.begin(), q.end(), g.begin(), g.end(), std::back_inserter(common));
    const double dice = 2.0 * static_cast<double>(common.size()) / static_cast<double>(q.size() + g.size());
    if (dice + 1e-12 >= t && dice > best.similarity + 1e-12) best = {static_cast<ItemIndex>(i), Kind::kFuzzy, dice};
  }
  return best;
}

}  // namespace

TEST_CASE("catalog grounding: exact, normalised, fuzzy, and entries that name no item", "[grounding][catalog]") {
  const auto catalog = catalog_of({"Usual Suspects, The (1995)", "Heat (1995)", "Heat (1995)", "Shawshank Redemption, The (1994)",
                                   "Amélie (2001)", "Seven (Se7en) (1995)"});
  const CatalogGrounder g(catalog);
  CHECK(g.size() == 6);
  auto m = g.match("  Heat (1995) ");
  CHECK((m.item == 1 && m.kind == Kind::kExact && m.similarity == 1));  // the first of two equal titles
  m = g.match("The Usual Suspects");
  CHECK((m.item == 0 && m.kind == Kind::kNormalised));
  m = g.match("usual suspects, the (1995)");
  CHECK((m.item == 0 && m.kind == Kind::kNormalised));
  m = g.match("Seven");  // the parenthesised alternate title dropped
  CHECK((m.item == 5 && m.kind == Kind::kNormalised));
  m = g.match("The Shawshenk Redemption");  // one letter wrong
  CHECK((m.item == 3 && m.kind == Kind::kFuzzy));
  CHECK(m.similarity >= 0.8);
  CHECK(m.similarity < 1);
  m = g.match("Amelie");  // non-ASCII letter missing: bytes differ
  CHECK(m.kind != Kind::kExact);
  CHECK(g.match("Amélie").item == 4);
  // Hallucinated titles, empty entries: no item.
  CHECK(g.match("The Midnight Cartographer (2019)").item == -1);
  CHECK(g.match("").kind == Kind::kNone);
  CHECK(g.match("   ").kind == Kind::kNone);
  CHECK(g.match("!!!").kind == Kind::kNone);
  // Fuzzy matching off: the typo names nothing.
  const CatalogGrounder strict(catalog, {.fuzzy_threshold = 1.5});
  CHECK(strict.match("The Shawshenk Redemption").item == -1);
  CHECK(strict.match("The Usual Suspects").item == 0);
  CHECK(std::string(kind_name(Kind::kFuzzy)) == "fuzzy");
}

TEST_CASE("the prefix-filtered fuzzy step equals a brute-force scan of the catalog", "[grounding][catalog]") {
  // 3,000 movie-like titles; queries are titles with one to three bytes
  // changed, dropped or inserted, titles of other catalogs, and random words.
  std::vector<std::string> titles;
  for (int i = 0; i < 3000; ++i) titles.push_back(testing::movie_like_title(i));
  const auto catalog = catalog_of(titles);
  Rng rng(7);
  int fuzzy = 0, none = 0;
  for (const double t : {0.6, 0.8, 0.9}) {
    const CatalogGrounder g(catalog, {.fuzzy_threshold = t});
    for (int q = 0; q < 300; ++q) {
      std::string entry = titles[rng.uniform_int(static_cast<std::uint64_t>(titles.size()))];
      const int edits = 1 + static_cast<int>(rng.uniform_int(3));
      for (int e = 0; e < edits && entry.size() > 2; ++e) {
        const auto at = static_cast<std::size_t>(rng.uniform_int(entry.size()));
        switch (rng.uniform_int(3)) {
          case 0: entry[at] = static_cast<char>('a' + rng.uniform_int(26)); break;
          case 1: entry.erase(at, 1); break;
          default: entry.insert(at, 1, static_cast<char>('a' + rng.uniform_int(26)));
        }
      }
      if (q % 5 == 0) entry = "Harbor Kingdom Winter " + std::to_string(q);  // shares some trigrams, usually below t
      const auto got = g.match(entry);
      if (got.kind == Kind::kExact || got.kind == Kind::kNormalised) continue;
      const auto want = brute_force_fuzzy(catalog, entry, t);
      INFO("t = " << t << ", entry \"" << entry << "\"");
      CHECK(got.item == want.item);
      CHECK(got.similarity == Approx(want.similarity).margin(1e-12));
      fuzzy += got.kind == Kind::kFuzzy;
      none += got.kind == Kind::kNone;
    }
  }
  // Both outcomes were exercised.
  CHECK(fuzzy > 100);
  CHECK(none > 50);
}

TEST_CASE("a candidate-free answer is read by the grounding rules and matched against the catalog", "[grounding][catalog][open]") {
  const auto catalog = catalog_of({"Usual Suspects, The (1995)", "Heat (1995)", "Shawshank Redemption, The (1994)", "Toy Story (1995)"});
  const CatalogGrounder g(catalog);
  RankResponse r;
  ground_open_answer("Sure! Here are my picks:\n1. Heat (1995)\n2. The Usual Suspects\n3. Zorblax (2031)\n4. Heat\n"
                     "These are all great films.",
                     g, r);
  CHECK(r.ranking == std::vector<int>{1, 0});  // catalog item indices, in the order written
  CHECK(r.ungrounded == std::vector<std::string>{"Zorblax (2031)"});
  CHECK(r.duplicates == 1);  // "Heat" again
  CHECK_FALSE(r.first_entry_unusable);
  // "[i]" references name nothing without candidates.
  RankResponse refs;
  ground_open_answer("[2] > [1]", g, refs);
  CHECK(refs.ranking.empty());
  CHECK(refs.out_of_range == 2);
  RankResponse j;
  ground_open_answer(R"j({"recommendations": ["Imaginary Movie (2030)", "toy story", "Shawshenk Redemption"]})j", g, j);
  CHECK(j.ranking == std::vector<int>{3, 2});
  CHECK(j.ungrounded == std::vector<std::string>{"Imaginary Movie (2030)"});
  CHECK(j.first_entry_unusable);  // its first entry names no catalog item
  RankResponse none;
  ground_open_answer("I cannot recommend movies without more information.", g, none);
  CHECK(none.ranking.empty());
  CHECK(none.parse_failures + static_cast<int>(none.ungrounded.size()) >= 1);
}
