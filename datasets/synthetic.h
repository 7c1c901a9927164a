// A synthetic dataset with known structure, for smoke tests, for our tests
// and for the main job when no MovieLens is reachable.
//
// Generative model (every draw from Rng::stream(seed, ...), so the dataset is
// a pure function of the options):
//   - item i has one or two of `genres` genres and a base weight
//     w_i = r_i^(-zipf_exponent), r_i a seeded permutation of 1..items
//     (popularity rank);
//   - users state gender (F, M) and age ("<25", "25-44", "45+"); gender F
//     multiplies the weight of genres 0 .. genres/2 - 1 by
//     exp(attribute_effect), gender M the others; age "<25" multiplies the
//     weight of genre genres - 1 by exp(attribute_effect), "45+" genre 0;
//   - each user interacts with min(items - negatives_reserve, n_u) distinct
//     items, n_u = min_interactions + Poisson(mean_extra), drawn without
//     replacement with probability proportional to w_i × the user's genre
//     multiplier (Gumbel top-k), at increasing timestamps in random order.
// So the expected count of the item at popularity rank r falls like
// r^(-zipf_exponent) away from the saturated head, and the attribute effects
// are exact log-odds multipliers that a fairness audit can be checked against.
#pragma once

#include <cstdint>

#include "datasets/dataset.h"

namespace recbias {

struct SyntheticOptions {
  std::uint64_t seed = 0;
  int users = 1000;
  int items = 1500;
  int genres = 8;
  double zipf_exponent = 1.0;     // popularity exponent of the base item weights
  double attribute_effect = 1.0;  // log multiplier of the attribute-favoured genres
  int min_interactions = 20;      // like MovieLens: every user has at least this many
  double mean_extra = 40;         // Poisson mean of interactions beyond the minimum
};

// Throws BadInput when an option is out of range (users, items, genres ≥ 1;
// items > min_interactions + 20 so that 1 + 19 candidates can be drawn;
// zipf_exponent ≥ 0; mean_extra ≥ 0).
Dataset make_synthetic_dataset(const SyntheticOptions& options);

}  // namespace recbias
