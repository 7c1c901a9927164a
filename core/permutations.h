// Presented orders of K candidates: the permutation designs the position
// audit probes with and permutation ensembling aggregates over — one
// definition for both (audits/plan.cc, mitigations/).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/rng.h"

namespace recbias {

enum class PermutationDesign {
  kCyclic,  // shift s puts base candidate (j + s) mod K at position j; P = K visits every position once
  kLatin,   // P rows of a random Latin square: no candidate repeats a position (P <= K)
  kRandom,  // P independent uniform permutations
};

// "cyclic", "latin", "random" -> design: the names flags and reports use.
const std::map<std::string, PermutationDesign>& permutation_design_names();
std::string permutation_design_name(PermutationDesign design);

// P orders of K candidates (order[j] = the candidate shown at position j)
// under `design`; random draws come from `rng` (cyclic draws none). Cyclic
// spreads P shifts evenly over K (shift 0 first). BadInput for a latin
// design with P > K.
std::vector<std::vector<int>> permutation_orders(PermutationDesign design, int k, int p, Rng& rng);

}  // namespace recbias
