#include "core/permutations.h"

#include <fmt/format.h>

#include "core/errors.h"

namespace recbias {

const std::map<std::string, PermutationDesign>& permutation_design_names() {
  static const std::map<std::string, PermutationDesign> names = {
      {"cyclic", PermutationDesign::kCyclic}, {"latin", PermutationDesign::kLatin}, {"random", PermutationDesign::kRandom}};
  return names;
}

std::string permutation_design_name(PermutationDesign design) {
  for (const auto& [name, d] : permutation_design_names())
    if (d == design) return name;
  return "cyclic";
}

std::vector<std::vector<int>> permutation_orders(PermutationDesign design, int k, int p, Rng& rng) {
  RECBIAS_CHECK(k >= 1 && p >= 1, "permutation_orders needs k >= 1 and p >= 1");
  std::vector<std::vector<int>> out;
  switch (design) {
    case PermutationDesign::kCyclic:
      for (int s = 0; s < p; ++s) {
        // P shifts spread evenly over K (all K when P = K); shift 0 is the identity.
        const int shift = static_cast<int>((static_cast<long long>(s) * k) / p);
        std::vector<int> order(static_cast<std::size_t>(k));
        for (int j = 0; j < k; ++j) order[static_cast<std::size_t>(j)] = (j + shift) % k;
        out.push_back(std::move(order));
      }
      break;
    case PermutationDesign::kLatin: {
      if (p > k) throw BadInput(fmt::format("a latin design needs at most K orders: {} > K = {}", p, k));
      // A cyclic Latin square with its rows, columns and symbols shuffled is a
      // random Latin square (not uniform over all squares, but every candidate
      // still meets every position at most once across the P rows).
      const auto rows = rng.permutation(k), cols = rng.permutation(k), symbols = rng.permutation(k);
      for (int s = 0; s < p; ++s) {
        std::vector<int> order(static_cast<std::size_t>(k));
        for (int j = 0; j < k; ++j)
          order[static_cast<std::size_t>(j)] =
              symbols[static_cast<std::size_t>((rows[static_cast<std::size_t>(s)] + cols[static_cast<std::size_t>(j)]) % k)];
        out.push_back(std::move(order));
      }
      break;
    }
    case PermutationDesign::kRandom:
      for (int s = 0; s < p; ++s) out.push_back(rng.permutation(k));
      break;
  }
  return out;
}

}  // namespace recbias
