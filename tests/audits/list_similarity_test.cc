#include <cmath>
#include <set>
#include <catch2/catch.hpp>

#include "audits/list_similarity.h"
#include "core/rng.h"
#include "core/stats.h"
#include "tests/audits/fairllm_reference.h"

using namespace recbias;
using namespace recbias::testing;

TEST_CASE("FaiRLLM compat: SERP* of identical lists of 20 is 230 * 0.5 / 420", "[fairness][compat]") {
  // calc_serp_ms(x, x), K = 20: sum over i = 0..19 of (20 - i + 1) = 21 + 20 + ... + 2 = 230;
  // 230 * 0.5 / (21 * 20) = 0.27380952...
  std::vector<int> x(20);
  for (int i = 0; i < 20; ++i) x[static_cast<std::size_t>(i)] = i;
  CHECK(serp_star(x, x, true) == Approx(230.0 * 0.5 / 420.0).epsilon(1e-12));
  CHECK(serp_star(x, x, false) == Approx(1.0));
}

TEST_CASE("FaiRLLM compat: hand-computed Jaccard, SERP* and PRAG* in FaiRLLM's argument order", "[fairness][compat]") {
  // calc_metric_at_k(variant, neutral): x = variant [2, 5, 1], y = neutral [1, 2, 3, 4].
  // Jaccard: {1,2} / {1,2,3,4,5} = 2/5.
  // SERP* compat (calc_serp_ms(x, y)): x[0] = 2 in y (weight 3 - 0 + 1 = 4), x[2] = 1 in y
  //   (3 - 2 + 1 = 2): 6 * 0.5 / ((4 + 1) * 4) = 0.15.
  // SERP* normalised: n = max(3, 4) = 4; weights (4 - 0) + (4 - 2) = 6 over 4*5/2 = 10: 0.6.
  // PRAG* (calc_prag(x, y)): pairs of x: (2,5): 2 at 1 in y, 5 missing -> kept; (2,1): 2 at 1,
  //   1 at 0 -> not kept; (5,1): 5 missing -> not kept. 1/3.
  const std::vector<int> neutral{1, 2, 3, 4}, variant{2, 5, 1};
  CHECK(jaccard(variant, neutral) == Approx(0.4));
  CHECK(serp_star(variant, neutral, true) == Approx(0.15).epsilon(1e-12));
  CHECK(serp_star(variant, neutral, false) == Approx(0.6).epsilon(1e-12));
  CHECK(prag_star(variant, neutral) == Approx(1.0 / 3.0).epsilon(1e-12));
  // The reverse order gives other numbers (the functions are asymmetric):
  // recbias passed (neutral, variant) before, i.e. 0.375 and 2/3.
  CHECK(serp_star(neutral, variant, true) == Approx(0.375));
  CHECK(prag_star(neutral, variant) == Approx(4.0 / 6.0));
  // Edge cases follow the published code: an empty reference gives 0; one-element lists compare whole.
  CHECK(serp_star(variant, {}, true) == 0.0);
  CHECK(prag_star(variant, {}) == 0.0);
  const std::vector<int> one{7}, other{8};
  CHECK(prag_star(one, one) == 1.0);
  CHECK(prag_star(one, other) == 0.0);
  CHECK(jaccard({}, {}) == 1.0);
  CHECK(serp_star({}, {}, false) == 1.0);
}

TEST_CASE("the compat functions equal FaiRLLM's calc_metric_at_k(variant, neutral) on many list pairs", "[fairness][compat]") {
  // A literal transcription of FaiRLLM's functions (tests/audits/fairllm_reference.h)
  // against recbias's fast paths, to 1e-12, on pairs of different lengths,
  // disjoint, identical, items missing from either side, repeated items,
  // and ids beyond the small-id fast path.
  std::vector<std::pair<std::vector<int>, std::vector<int>>> pairs = {
      {{0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}},          // identical
      {{0, 1, 2}, {3, 4, 5}},                      // disjoint
      {{4, 3, 2, 1, 0}, {0, 1, 2, 3, 4}},          // reversed
      {{0, 1, 2, 3, 4, 5, 6}, {2, 0}},             // variant longer
      {{9}, {9, 1, 2}},                            // one entry
      {{1, 2, 3}, {3, 9, 1, 8, 2, 7}},             // neutral longer, interleaved
      {{5, 5, 1}, {1, 5, 5, 2}},                   // repeated items (calc_serp_ms counts pairs; calc_prag last occurrence)
      {{100000, 7, 3}, {3, 100000}},               // ids beyond the fast path
      {{}, {1, 2}},                                // empty variant
  };
  Rng rng(2023);
  for (int t = 0; t < 300; ++t) {
    auto a = rng.permutation(20), b = rng.permutation(20);
    a.resize(static_cast<std::size_t>(1 + rng.uniform_int(20)));
    b.resize(static_cast<std::size_t>(1 + rng.uniform_int(20)));
    pairs.emplace_back(a, b);
  }
  for (const auto& [variant, neutral] : pairs) {
    for (std::size_t k : {std::size_t{1}, std::size_t{5}, std::size_t{10}, std::size_t{20}}) {
      const std::vector<int> x(variant.begin(), variant.begin() + static_cast<std::ptrdiff_t>(std::min(k, variant.size())));
      const std::vector<int> y(neutral.begin(), neutral.begin() + static_cast<std::ptrdiff_t>(std::min(k, neutral.size())));
      CAPTURE(variant, neutral, k);
      if (!x.empty() || !y.empty()) CHECK(jaccard(x, y) == Approx(fairllm::calc_metric_at_k(variant, neutral, k, "jaccard")).margin(1e-12));
      CHECK(serp_star(x, y, true) == Approx(fairllm::calc_metric_at_k(variant, neutral, k, "serp_ms")).margin(1e-12));
      CHECK(prag_star(x, y) == Approx(fairllm::calc_metric_at_k(variant, neutral, k, "prag")).margin(1e-12));
    }
  }
}

TEST_CASE("normalised SERP* lies in [0, 1] and is 1 exactly when both lists hold the same items", "[fairness]") {
  // SERP* weighs x's items by their rank in x and asks only whether y has
  // them, so a reordering of the same items scores 1 (PRAG* is what sees order).
  Rng rng(7);
  for (int t = 0; t < 500; ++t) {
    auto a = rng.permutation(12), b = rng.permutation(12);
    a.resize(static_cast<std::size_t>(1 + rng.uniform_int(12)));
    b.resize(static_cast<std::size_t>(1 + rng.uniform_int(12)));
    const double v = serp_star(a, b, false);
    CHECK(v >= 0.0);
    CHECK(v <= 1.0 + 1e-15);
    const std::set<int> sa(a.begin(), a.end()), sb(b.begin(), b.end());
    CHECK((v == Approx(1.0)) == (sa == sb));
    CHECK(rbo(a, b) == Approx(rbo_ext(a, b, 0.9)).margin(1e-14));  // fast path vs core's general one
  }
}

TEST_CASE("top-k Kendall tau ties unlisted items last", "[position]") {
  const std::vector<int> a{0, 1, 2}, b{0, 1, 2}, c{2, 1, 0};
  CHECK(topk_kendall_tau(a, b, 5) == Approx(1.0));
  CHECK(topk_kendall_tau(a, c, 3) == Approx(-1.0));
}

TEST_CASE("top-k Kendall tau equals kendall_tau_b over the lists' ranks, to the last bit, for few and many ids",
          "[position]") {
  // The few-ids path (n <= 128) counts in integers on the stack; the general
  // one fills double ranks for core's kendall_tau_b. Lists of every length,
  // partly disjoint, repeats included (the last occurrence gives the rank).
  Rng rng(17);
  for (int n : {2, 3, 20, 128, 129, 300}) {
    for (int trial = 0; trial < 200; ++trial) {
      auto draw = [&] {
        std::vector<int> l(static_cast<std::size_t>(rng.uniform_int(static_cast<std::uint64_t>(n) + 1)));
        for (auto& id : l) id = static_cast<int>(rng.uniform_int(static_cast<std::uint64_t>(n)));
        return l;
      };
      const auto a = draw(), b = draw();
      std::vector<double> ra(static_cast<std::size_t>(n), static_cast<double>(a.size())),
          rb(static_cast<std::size_t>(n), static_cast<double>(b.size()));
      for (std::size_t i = 0; i < a.size(); ++i) ra[static_cast<std::size_t>(a[i])] = static_cast<double>(i);
      for (std::size_t i = 0; i < b.size(); ++i) rb[static_cast<std::size_t>(b[i])] = static_cast<double>(i);
      const double expected = kendall_tau_b(ra, rb), got = topk_kendall_tau(a, b, n);
      INFO("n = " << n << ", |a| = " << a.size() << ", |b| = " << b.size());
      if (std::isnan(expected)) {
        CHECK(std::isnan(got));
      } else {
        CHECK(got == expected);
      }
    }
  }
}

TEST_CASE("fairllm_titles reads an answer as FaiRLLM's clean() and simplified_list() do", "[similarity][fairllm]") {
  // Each expectation is what FaiRLLM's process.ipynb functions (Python 3.11)
  // returned for the same answer text.
  // Years in parentheses and spaces go; a quoted title wins over " - Director";
  // apostrophes are dropped; a hyphen inside a title cuts it ("Spider-Man" -> "spider").
  CHECK(fairllm_titles("1. The Shawshank Redemption (1994)\n2. \"Pulp Fiction\" - Quentin Tarantino\n3. Schindler's List\n4. Spider-Man 2") ==
        std::vector<std::string>{"theshawshankredemption", "pulpfiction", "schindlerslist", "spider"});
  // Text before the first "N. " is dropped; "11. " inside a title splits it;
  // of two quoted titles the first is kept.
  CHECK(fairllm_titles("Here are 3 movies:\n\n1. Heat\n2. Ocean's 11. Great\n3. \"Alien\" and \"Aliens\"\n") ==
        std::vector<std::string>{"heat", "oceans", "great", "alien"});
  // No "N. " at all: nothing (FaiRLLM then divides by zero for Jaccard; recbias gives two empty lists Jaccard 1).
  CHECK(fairllm_titles("No numbered list here, just prose.").empty());
  // Line breaks are removed before splitting, so "12.\"Q\"" (no space) stays in
  // the piece before it, whose quoted part then wins; an unclosed quote is dropped.
  CHECK(fairllm_titles("10. A (x) B\n11.  Twelve  Monkeys  \n12.\"Q\"\n13. say \"unclosed") ==
        std::vector<std::string>{"ab", "q", "sayunclosed"});
  // Empty titles are kept; non-ASCII letters are lower-cased as Python does.
  CHECK(fairllm_titles("1. -Dash first\n2. (All) (in) (parens)\n3. Z\xC3\xA9 \xC3\x89t\xC3\xA9\n4. \"\" - empty quotes") ==
        std::vector<std::string>{"", "", "z\xC3\xA9\xC3\xA9t\xC3\xA9", ""});
}

TEST_CASE("the mean pairwise top-k tau over many lists equals the mean of topk_kendall_tau over their pairs", "[position]") {
  // Lists of mixed lengths (as hallucinated or short answers give), repeats
  // included, and the equal-length case the position audit sees most. The
  // factorised sum adds the same terms in another order: equal up to
  // rounding (1e-12 on values in [-1, 1]), and NaN exactly where a pair's
  // tau is (an empty list, or fewer than 2 ids).
  Rng rng(29);
  int compared = 0, nan_cases = 0;
  for (int n : {1, 2, 3, 5, 20, 40}) {
    for (int trial = 0; trial < 300; ++trial) {
      const bool equal_length = trial % 3 == 0;
      auto length = [&] { return static_cast<std::size_t>(1 + rng.uniform_int(static_cast<std::uint64_t>(n))); };  // 1..n
      const auto fixed_length = length();
      std::vector<std::vector<int>> lists(2 + rng.uniform_int(8));
      for (auto& l : lists) {
        l.resize(equal_length ? fixed_length : length());
        for (auto& id : l) id = static_cast<int>(rng.uniform_int(static_cast<std::uint64_t>(n)));
      }
      if (trial % 10 == 1) lists[1].clear();  // an empty answer
      double expected = 0;
      for (std::size_t a = 0; a < lists.size(); ++a)
        for (std::size_t b = a + 1; b < lists.size(); ++b) expected += topk_kendall_tau(lists[a], lists[b], n);
      expected /= static_cast<double>(lists.size()) * (static_cast<double>(lists.size()) - 1) / 2;
      const double got = mean_pairwise_topk_tau(lists, n);
      INFO("n = " << n << ", " << lists.size() << " lists, trial " << trial);
      if (std::isnan(expected)) {
        ++nan_cases;
        CHECK(std::isnan(got));
      } else {
        ++compared;
        CHECK(std::abs(got - expected) <= 1e-12);
      }
    }
  }
  CHECK(compared > 1000);  // of 1,800: the comparison ran on most cases, not only the NaN ones
  CHECK(nan_cases > 0);
}
