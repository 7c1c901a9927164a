// `itemknn`: item-based collaborative filtering (Sarwar et al. 2001;
// Deshpande & Karypis 2004), the specialised non-LLM reference.
//
// sim(i, j) = |U_i ∩ U_j| / sqrt(|U_i| |U_j|)   (cosine over binary interactions)
// score(u, c) = sum over distinct h in u's history of sim(c, h)
//
// U_i is the set of training users of item i. Co-occurrences are counted once
// at construction (sparse, per item); scoring a candidate costs one pass over
// its co-occurrence row.
#pragma once

#include <memory>
#include <vector>

#include "adapters/recommender.h"

namespace recbias {

class ItemSimilarity {
 public:
  // `training`: each user's training items. Repeated items count once.
  ItemSimilarity(std::size_t n_items, const std::vector<std::vector<ItemIndex>>& training);

  // Cosine similarity of two items (0 when either has no users).
  double similarity(ItemIndex a, ItemIndex b) const;

  // Sum of similarities of `item` to the items flagged in `in_history` (one flag per catalog item).
  double score(ItemIndex item, const std::vector<char>& in_history) const;
  // The same with a weight per catalog item (0: not in the history).
  double score(ItemIndex item, const std::vector<double>& history_weight) const;

 private:
  std::vector<double> users_of_;                                // |U_i|
  std::vector<std::vector<std::pair<ItemIndex, float>>> rows_;  // co-occurrence counts, sorted by item
};

std::unique_ptr<Recommender> make_itemknn_recommender(std::shared_ptr<const Catalog> catalog,
                                                      std::shared_ptr<const std::vector<std::vector<ItemIndex>>> training);

}  // namespace recbias
