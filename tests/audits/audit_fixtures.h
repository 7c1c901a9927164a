// A synthetic workload built in memory for audit tests: `n_items` items with
// Zipf-like popularity, `n_users` users with 6 interactions each and a gender.
#pragma once

#include <cmath>
#include <map>
#include <string>

#include "adapters/adapter_spec.h"
#include "adapters/registry.h"
#include "audits/outcome.h"
#include "audits/plan.h"
#include "core/rng.h"
#include "datasets/workload.h"

namespace recbias::testing {

// A movie-like title for item i: "Silent River (1987)", "Harbor of Glass, The (1994)",
// "Crimson Voyage: Return (2001)" — distinct, with commas, colons and articles as
// MovieLens titles have them.
inline std::string movie_like_title(int i) {
  static const char* const adjectives[] = {"Silent", "Crimson", "Midnight", "Broken", "Golden", "Hidden", "Electric", "Frozen",
                                           "Lonely", "Wild", "Secret", "Burning", "Distant", "Savage", "Quiet", "Last"};
  static const char* const nouns[] = {"River", "Harbor", "Voyage", "Garden", "Empire", "Mirror", "Winter", "Highway",
                                      "Orchard", "Signal", "Kingdom", "Lantern", "Frontier", "Canyon", "Promise", "Station"};
  const int a = i % 16, n = (i / 16) % 16, form = (i / 256) % 3;
  const std::string year = " (" + std::to_string(1950 + (i * 7) % 70) + ")";
  const std::string base = std::string(adjectives[a]) + " " + nouns[n];
  if (form == 0) return base + year;
  if (form == 1) return base + ", The" + year;
  return base + ": Chapter " + std::to_string(i / 256) + year;
}

inline Dataset synthetic_dataset(int n_users, int n_items, std::uint64_t seed, bool movie_titles = false) {
  Dataset ds;
  ds.name = "synthetic";
  ds.format = "memory";
  for (int i = 0; i < n_items; ++i)
    ds.catalog.add({std::to_string(i + 1), movie_titles ? movie_like_title(i) : "Item " + std::to_string(i + 1), {i % 3 ? "A" : "B"}, 0});
  ds.attributes = {{"gender", {"F", "M"}}};
  Rng rng(seed);
  // Zipf(1) item draws by inversion over the cumulative weights 1/(i+1).
  std::vector<double> cumulative;
  double total = 0;
  for (int i = 0; i < n_items; ++i) cumulative.push_back(total += 1.0 / (i + 1));
  for (int u = 0; u < n_users; ++u) {
    ds.users.push_back({std::to_string(u + 1), {{"gender", u % 3 ? "M" : "F"}}});
    std::vector<int> seen;
    for (int t = 0; t < 6; ++t) {
      int item;
      do {
        const double x = rng.uniform01() * total;
        item = static_cast<int>(std::lower_bound(cumulative.begin(), cumulative.end(), x) - cumulative.begin());
      } while (std::find(seen.begin(), seen.end(), item) != seen.end());
      seen.push_back(item);
      ds.interactions.push_back({u, item, 1.0, t});
    }
  }
  return ds;
}

struct SyntheticSetup {
  Workload workload;
  RequestSet requests;
  AdapterContext context;
};

// k = the answer length asked for (0: half the candidates).
inline SyntheticSetup synthetic_setup(int n_users, int n_items, int candidates, std::uint64_t seed, int k = 0,
                                      bool movie_titles = false) {
  SyntheticSetup s;
  s.workload = split_leave_one_out(synthetic_dataset(n_users, n_items, seed, movie_titles));
  CandidateOptions options;
  options.negatives = candidates - 1;
  options.seed = seed;
  options.k = k > 0 ? k : std::max(1, candidates / 2);
  s.requests = build_requests(s.workload, options);
  auto training = std::make_shared<std::vector<std::vector<ItemIndex>>>();
  for (const auto& u : s.workload.users) training->push_back(u.history);
  s.context = {s.workload.catalog, training, nullptr};
  return s;
}

inline std::unique_ptr<Recommender> simulated(const std::string& keys, const AdapterContext& context) {
  return make_recommender(AdapterSpec::parse("simulated:" + keys), context);
}

// Fixtures fed hand-made identity answers: a plan of the identity call alone,
// and user `u`'s base request ("u<u>", user id "<u>") with its candidates,
// k and the held-out item's position.
inline BasePlan identity_only_plan() {
  BasePlan plan;
  plan.identity = 0;
  plan.calls = {0};
  return plan;
}

inline EvalRequest fixture_request(std::size_t u, std::vector<ItemIndex> candidates, int k, int positive_position) {
  EvalRequest base;
  base.request.id = "u" + std::to_string(u);
  base.request.user.id = std::to_string(u);
  base.request.candidates = std::move(candidates);
  base.request.k = k;
  base.positive_position = positive_position;
  base.positive = base.request.candidates[static_cast<std::size_t>(positive_position)];
  return base;
}

// The outcome of one base request as accumulators read it, for fixtures
// that feed hand-made responses (top-k views = whole answers).
inline BaseOutcome outcome_of(const EvalRequest& base, const BasePlan& plan, const std::vector<RankResponse>& responses,
                              const std::vector<int>& weights, const std::map<std::string, std::string>* real_attributes = nullptr) {
  BaseOutcome o;
  o.base = &base;
  o.plan = &plan;
  o.responses = &responses;
  o.weights = &weights;
  o.real_attributes = real_attributes;
  return o;
}

}  // namespace recbias::testing
