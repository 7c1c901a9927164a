// Score-based mitigations on an LLM scored through the openai adapter: with
// first-token scores they choose among all K candidates (the recommended set
// changes), while on a generated top-k list they can only reorder it.
#include <cmath>
#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "adapters/registry.h"
#include "core/catalog.h"
#include "core/rng.h"
#include "mitigations/registry.h"
#include "tests/audits/audit_fixtures.h"
#include "tests/fake_llm_server.h"

using namespace recbias;
using namespace recbias::testing;

namespace {

constexpr int kK = 20, kTop = 5;

// The lettered titles of a first-token prompt, or the "[i] Title" ones of a listwise prompt.
std::vector<std::string> titles_in(const Prompt& p) { return p.candidates.empty() ? lettered_candidates(p.user_message) : p.candidates; }

// A strongly primacy-biased model: logit 4 (1 - j/(K-1)) for presented
// position j plus a per-title taste in [0, 1).
std::vector<double> logits(const std::vector<std::string>& titles) {
  std::vector<double> z;
  for (std::size_t j = 0; j < titles.size(); ++j)
    z.push_back(4.0 * (1.0 - static_cast<double>(j) / (titles.size() - 1)) + static_cast<double>(stable_hash(titles[j]) % 1000) / 1000.0);
  return z;
}

Reply answer(const Prompt& p) {
  const auto titles = titles_in(p);
  const auto z = logits(titles);
  double m = -1e300, sum = 0;
  for (double v : z) m = std::max(m, v);
  for (double v : z) sum += std::exp(v - m);
  std::vector<std::size_t> order(z.size());
  for (std::size_t j = 0; j < order.size(); ++j) order[j] = j;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return z[a] > z[b]; });
  if (p.candidates.empty()) {  // first-token: every label's log-probability
    std::vector<std::pair<std::string, double>> top;
    for (auto j : order) top.emplace_back(std::string(1, static_cast<char>('A' + j)), z[j] - m - std::log(sum));
    return Reply::first_token(top);
  }
  std::vector<int> best;  // generate: the top k as "[i] > [j]"
  for (std::size_t r = 0; r < static_cast<std::size_t>(kTop); ++r) best.push_back(static_cast<int>(order[r]));
  return Reply::answer(bracket_answer(best));
}

std::set<ItemIndex> recommended(const RankRequest& q, const RankResponse& r) {
  std::set<ItemIndex> out;
  for (int p : r.ranking) out.insert(q.candidates[static_cast<std::size_t>(p)]);
  return out;
}

}  // namespace

TEST_CASE("with first-token scores, calibrate-position, calibrate and fair change which of the K candidates are recommended",
          "[mitigation][openai][scoring]") {
  const auto s = synthetic_setup(30, 80, kK, 5, kTop, /*movie_titles=*/true);
  std::vector<RankRequest> requests;
  for (const auto& q : s.requests.requests) requests.push_back(q.request);
  FakeLlmServer server(answer);
  MitigationContext context{s.context.catalog, s.workload.attributes};
  // The position prior the model has (softmax of the primacy logits), as a position probe would measure it.
  std::string prior;
  for (int j = 0; j < kK; ++j) prior += fmt::format("{}{:.6f}", j ? ";" : "", std::exp(4.0 * (1.0 - j / 19.0)));
  const std::vector<std::string> mitigations = {"calibrate-position:prior=" + prior, "calibrate:lambda=0.9", "fair:p=0.9,alpha=0.1"};

  for (const std::string mode : {"first-token", "generate"}) {
    auto model = [&] {
      return make_recommender(AdapterSpec::parse(fmt::format("openai:model=m,scoring={},max_retries=0,base_url={}", mode, server.base_url())),
                              s.context);
    };
    const auto plain = model()->rank(requests);
    for (const auto& spec : mitigations) {
      INFO(mode << " + " << spec);
      const auto mitigated = make_mitigation(AdapterSpec::parse(spec), model(), context)->rank(requests);
      int changed_sets = 0, outside_the_answer = 0;
      for (std::size_t i = 0; i < requests.size(); ++i) {
        REQUIRE_FALSE(mitigated[i].error);
        const auto before = recommended(requests[i], plain[i]), after = recommended(requests[i], mitigated[i]);
        changed_sets += before != after;
        // Candidates the mitigated answer recommends that the model's own answer did not rank at all.
        std::set<int> ranked(plain[i].ranking.begin(), plain[i].ranking.end());
        if (plain[i].scores)
          for (std::size_t j = 0; j < plain[i].scores->size(); ++j)
            if (std::isfinite((*plain[i].scores)[j])) ranked.insert(static_cast<int>(j));
        for (int p : mitigated[i].ranking) outside_the_answer += !ranked.count(p);
      }
      if (mode == "first-token") {
        // Scores for all K: the mitigations pick candidates beyond the model's own top k.
        CHECK(changed_sets > 0);
      } else if (spec.starts_with("fair")) {
        // A generated top-k list: FA*IR keeps its guarantee by filling the
        // protected quota with candidates the model did not rank (no score:
        // by item id), and only protected (long-tail) ones.
        const auto head = short_head_items(*s.context.catalog, context.short_head_share);
        for (std::size_t i = 0; i < requests.size(); ++i) {
          const auto before = recommended(requests[i], plain[i]);
          for (auto item : recommended(requests[i], mitigated[i]))
            if (!before.count(item)) CHECK_FALSE(head[static_cast<std::size_t>(item)]);
        }
      } else {
        // A generated top-k list: the re-rankers can only reorder (or drop) what the model wrote.
        CHECK(outside_the_answer == 0);
        for (std::size_t i = 0; i < requests.size(); ++i) {
          const auto before = recommended(requests[i], plain[i]), after = recommended(requests[i], mitigated[i]);
          CHECK(std::includes(before.begin(), before.end(), after.begin(), after.end()));
        }
      }
    }
  }
}
