#include "datasets/synthetic.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/rng.h"

namespace recbias {
namespace {

constexpr int kCandidatesReserve = 20;  // room for 1 + 19 candidates per user

void require(bool ok, const std::string& what) {
  if (!ok) throw BadInput("synthetic dataset: " + what);
}

double gumbel(Rng& rng) {
  // uniform01() is in [0, 1); 1 - u is in (0, 1], so the logs are finite.
  return -std::log(-std::log(1.0 - rng.uniform01() * (1.0 - 1e-16)));
}

}  // namespace

Dataset make_synthetic_dataset(const SyntheticOptions& o) {
  require(o.users >= 1, fmt::format("users = {}, expected ≥ 1", o.users));
  require(o.genres >= 1, fmt::format("genres = {}, expected ≥ 1", o.genres));
  require(o.min_interactions >= 2, fmt::format("min_interactions = {}, expected ≥ 2", o.min_interactions));
  require(o.items > o.min_interactions + kCandidatesReserve,
          fmt::format("items = {}, expected > min_interactions + {} = {}", o.items, kCandidatesReserve,
                      o.min_interactions + kCandidatesReserve));
  require(o.zipf_exponent >= 0 && std::isfinite(o.zipf_exponent), fmt::format("zipf_exponent = {}, expected ≥ 0", o.zipf_exponent));
  require(o.mean_extra >= 0 && std::isfinite(o.mean_extra), fmt::format("mean_extra = {}, expected ≥ 0", o.mean_extra));
  require(std::isfinite(o.attribute_effect), fmt::format("attribute_effect = {}, expected a finite number", o.attribute_effect));

  Dataset d;
  d.name = fmt::format("synthetic-{}", o.seed);
  d.format = "synthetic";
  d.path = fmt::format("synthetic:seed={},users={},items={},genres={},zipf={},effect={}", o.seed, o.users, o.items, o.genres,
                       o.zipf_exponent, o.attribute_effect);
  d.attributes = {{"age", {"<25", "25-44", "45+"}}, {"gender", {"F", "M"}}};

  // Items: genres and popularity ranks.
  std::vector<std::string> genre_names;
  for (int g = 0; g < o.genres; ++g) genre_names.push_back(fmt::format("genre-{}", g));
  auto rank_rng = Rng::stream(o.seed, "synthetic/ranks");
  auto ranks = rank_rng.permutation(o.items);  // ranks[i] + 1 = popularity rank of item i
  std::vector<double> log_weight(static_cast<std::size_t>(o.items));
  std::vector<std::vector<int>> item_genres(static_cast<std::size_t>(o.items));
  auto genre_rng = Rng::stream(o.seed, "synthetic/genres");
  for (int i = 0; i < o.items; ++i) {
    const auto ui = static_cast<std::size_t>(i);
    log_weight[ui] = -o.zipf_exponent * std::log(static_cast<double>(ranks[ui] + 1));
    auto& gs = item_genres[ui];
    gs.push_back(static_cast<int>(genre_rng.uniform_int(static_cast<std::uint64_t>(o.genres))));
    if (o.genres > 1 && genre_rng.uniform01() < 0.3) {
      int second = static_cast<int>(genre_rng.uniform_int(static_cast<std::uint64_t>(o.genres - 1)));
      if (second >= gs[0]) ++second;
      gs.push_back(second);
    }
    std::sort(gs.begin(), gs.end());
    Item item;
    item.id = fmt::format("s{}", i + 1);
    item.title = fmt::format("Synthetic item {}", i + 1);
    for (int g : gs) item.categories.push_back(genre_names[static_cast<std::size_t>(g)]);
    d.catalog.add(std::move(item));
  }

  // Users and their interactions.
  const int max_interactions = o.items - kCandidatesReserve - 1;
  std::vector<std::pair<double, int>> keys(static_cast<std::size_t>(o.items));
  std::int64_t clock = 1'000'000'000;
  for (int u = 0; u < o.users; ++u) {
    auto rng = Rng::stream(o.seed, fmt::format("synthetic/user/{}", u));
    UserRecord user;
    user.id = fmt::format("u{}", u + 1);
    const double age_draw = rng.uniform01();
    const std::string age = age_draw < 0.3 ? "<25" : age_draw < 0.8 ? "25-44" : "45+";
    const std::string gender = rng.uniform01() < 0.4 ? "F" : "M";
    user.attributes = {{"age", age}, {"gender", gender}};
    // Log multiplier of each genre for this user.
    std::vector<double> genre_boost(static_cast<std::size_t>(o.genres), 0.0);
    for (int g = 0; g < o.genres; ++g) {
      const bool first_half = g < std::max(1, o.genres / 2);
      if ((gender == "F") == first_half) genre_boost[static_cast<std::size_t>(g)] += o.attribute_effect;
    }
    if (age == "<25") genre_boost[static_cast<std::size_t>(o.genres - 1)] += o.attribute_effect;
    if (age == "45+") genre_boost[0] += o.attribute_effect;

    // Rng::poisson takes λ ≤ 50; a sum of independent Poissons is Poisson.
    int extra = 0;
    for (double left = o.mean_extra; left > 0; left -= 50) extra += rng.poisson(std::min(left, 50.0));
    const int n = std::min(max_interactions, o.min_interactions + extra);
    for (int i = 0; i < o.items; ++i) {
      const auto ui = static_cast<std::size_t>(i);
      double boost = -INFINITY;
      for (int g : item_genres[ui]) boost = std::max(boost, genre_boost[static_cast<std::size_t>(g)]);
      keys[ui] = {log_weight[ui] + boost + gumbel(rng), i};
    }
    std::partial_sort(keys.begin(), keys.begin() + n, keys.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<int> chosen;
    for (int j = 0; j < n; ++j) chosen.push_back(keys[static_cast<std::size_t>(j)].second);
    rng.shuffle(chosen);  // the order of consumption is unrelated to popularity
    for (int item : chosen) {
      Interaction row;
      row.user = u;
      row.item = static_cast<ItemIndex>(item);
      row.timestamp = clock;
      clock += 60;
      d.interactions.push_back(row);
    }
    d.users.push_back(std::move(user));
  }
  return d;
}

}  // namespace recbias
