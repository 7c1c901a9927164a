// A small catalog with training histories for adapter tests.
#pragma once

#include <memory>
#include <vector>

#include "adapters/recommender.h"

namespace recbias::testing {

// 6 items "1".."6" titled "Movie One (1991)" ... with popularity 60, 50, ..., 10,
// and three training users.
inline AdapterContext small_context() {
  auto catalog = std::make_shared<Catalog>();
  const char* names[] = {"One", "Two", "Three", "Four", "Five", "Six"};
  for (int i = 0; i < 6; ++i)
    catalog->add({std::to_string(i + 1), std::string("Movie ") + names[i] + " (199" + std::to_string(i + 1) + ")",
                  {i % 2 ? "Comedy" : "Drama"}, static_cast<double>(60 - 10 * i)});
  auto training = std::make_shared<std::vector<std::vector<ItemIndex>>>(
      std::vector<std::vector<ItemIndex>>{{0, 1, 2}, {0, 1}, {2, 3, 4}});
  return {catalog, training, nullptr};
}

inline RankRequest small_request(std::string id, std::vector<ItemIndex> candidates, int k = 3) {
  RankRequest r;
  r.id = std::move(id);
  r.user.id = "u1";
  r.user.history = {0, 2};
  r.user.attributes = {{"gender", "F"}};
  r.candidates = std::move(candidates);
  r.k = k;
  return r;
}

}  // namespace recbias::testing
