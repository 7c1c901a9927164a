#include <catch2/catch.hpp>

#include "audits/list_similarity.h"

using namespace recbias;

TEST_CASE("FaiRLLM compat: SERP* of identical lists of 20 is 230 * 0.5 / 420", "[fairness][compat]") {
  // calc_serp_ms(x, x), K = 20: sum over i = 0..19 of (20 - i + 1) = 21 + 20 + ... + 2 = 230;
  // 230 * 0.5 / (21 * 20) = 0.27380952...
  std::vector<int> x(20);
  for (int i = 0; i < 20; ++i) x[static_cast<std::size_t>(i)] = i;
  CHECK(serp_star(x, x, true) == Approx(230.0 * 0.5 / 420.0).epsilon(1e-12));
  CHECK(serp_star(x, x, false) == Approx(1.0));
}

TEST_CASE("FaiRLLM compat: hand-computed Jaccard, SERP* and PRAG* of short lists", "[fairness][compat]") {
  // x (neutral) = [1, 2, 3, 4], y = [2, 5, 1]
  // Jaccard: {1,2} / {1,2,3,4,5} = 2/5.
  // SERP* compat: matches x[0]=1 (i=0: 4 - 0 + 1 = 5) and x[1]=2 (i=1: 4 - 1 + 1 = 4): 9 * 0.5 / (4 * 3) = 0.375.
  // SERP* normalised: (4 - 0) + (4 - 1) = 7 over 4*5/2 = 10: 0.7.
  // PRAG*: pairs of x (6): (1,2): 1 in y at 2, 2 at 0 -> 2 < ... id1=2 > id2=0 -> 0;
  //   (1,3): 3 missing -> 1; (1,4): 4 missing -> 1; (2,3): 1; (2,4): 1; (3,4): 3 missing -> 0. 4/6.
  const std::vector<int> x{1, 2, 3, 4}, y{2, 5, 1};
  CHECK(jaccard(x, y) == Approx(0.4));
  CHECK(serp_star(x, y, true) == Approx(0.375));
  CHECK(serp_star(x, y, false) == Approx(0.7));
  CHECK(prag_star(x, y) == Approx(4.0 / 6.0));
  // Edge cases follow the published code: an empty y gives 0; one-element lists compare whole.
  CHECK(serp_star(x, {}, true) == 0.0);
  CHECK(prag_star(x, {}) == 0.0);
  const std::vector<int> one{7}, other{8};
  CHECK(prag_star(one, one) == 1.0);
  CHECK(prag_star(one, other) == 0.0);
  CHECK(jaccard({}, {}) == 1.0);
}

TEST_CASE("top-k Kendall tau ties unlisted items last", "[position]") {
  const std::vector<int> a{0, 1, 2}, b{0, 1, 2}, c{2, 1, 0};
  CHECK(topk_kendall_tau(a, b, 5) == Approx(1.0));
  CHECK(topk_kendall_tau(a, c, 3) == Approx(-1.0));
}
