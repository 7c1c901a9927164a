#include <catch2/catch.hpp>

#include "core/errors.h"
#include "mitigations/fair_topk.h"
#include "mitigations/registry.h"
#include "tests/audits/audit_fixtures.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

std::unique_ptr<Recommender> model(const SyntheticSetup& s) { return make_recommender(AdapterSpec::parse("popularity"), s.context); }

}  // namespace

TEST_CASE("mitigation registry: defaults come from the table, keys and names are checked", "[mitigation]") {
  const auto s = synthetic_setup(20, 30, 5, 3);
  MitigationContext context{s.context.catalog, s.workload.attributes};
  // Defaults as the table lists them (the id records every setting).
  CHECK(make_mitigation(AdapterSpec::parse("permutation"), model(s), context)->id() == "permutation(m=0,agg=mean,design=cyclic,seed=0)<-popularity");
  CHECK(make_mitigation(AdapterSpec::parse("calibrate"), model(s), context)->id() == "calibrate(target=genre,lambda=0.5,alpha=0.01)<-popularity");
  CHECK(make_mitigation(AdapterSpec::parse("fair"), model(s), context)->id() == "fair(p=0.5,alpha=0.1,protected=long-tail)<-popularity");
  // Ensembles take their orders from the position audit's designs (core/permutations.h), latin included.
  auto latin = make_mitigation(AdapterSpec::parse("permutation:design=latin,m=4"), model(s), context);
  CHECK(latin->id() == "permutation(m=4,agg=mean,design=latin,seed=0)<-popularity");
  CHECK(latin->rank(std::vector<RankRequest>{s.requests.requests[0].request})[0].usage.calls == 4);
  // A latin square has at most K rows: asking for more is bad input when the requests arrive (K = 5 here).
  auto too_many = make_mitigation(AdapterSpec::parse("permutation:design=latin,m=6"), model(s), context);
  CHECK_THROWS_WITH(too_many->rank(std::vector<RankRequest>{s.requests.requests[0].request}),
                    Contains("a latin design needs at most K orders: 6 > K = 5"));
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("permutation:design=zigzag"), model(s), context),
                    Contains("design=zigzag: expected cyclic, latin or random"));
  for (const auto& info : mitigation_registry())
    for (const auto& key : info.keys) CHECK_FALSE(key.help.empty());
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("permutation:members=3"), model(s), context),
                    Contains("mitigation permutation: unknown key \"members\"; known keys: m, agg, design, seed"));
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("permutation:m=-1"), model(s), context), Contains("m"));
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("permutaton"), model(s), context),
                    Contains("known mitigations: permutation, calibrate-position, calibrate, fair, counterfactual, neutralize"));
}

TEST_CASE("calibrate-position reads no file itself: a prior file goes through the context's reader", "[mitigation]") {
  const auto s = synthetic_setup(20, 30, 5, 3);
  MitigationContext context{s.context.catalog, s.workload.attributes};
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("calibrate-position:prior=probe.json"), model(s), context),
                    Contains("cannot read prior files"));
  std::string asked, asked_from;
  context.read_prior = [&](const std::string& source, const std::string& from) {
    asked = source;
    asked_from = from;
    return MitigationContext::Prior{{0.4, 0.2, 0.2, 0.1, 0.1}, from == "auto" ? "mean_probability" : from};
  };
  auto calibrated = make_mitigation(AdapterSpec::parse("calibrate-position:prior=probe.json"), model(s), context);
  CHECK(asked == "probe.json");
  CHECK(asked_from == "auto");
  // The id names what the reader took from the report.
  CHECK(calibrated->id() == "calibrate-position(prior=probe.json:mean_probability)<-popularity");
  CHECK(make_mitigation(AdapterSpec::parse("calibrate-position:prior=probe.json,from=selection_rate"), model(s), context)->id() ==
        "calibrate-position(prior=probe.json:selection_rate)<-popularity");
  CHECK(asked_from == "selection_rate");
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("calibrate-position:prior=0.5;0.5,from=selection_rate"), model(s), context),
                    Contains("from=selection_rate applies to prior=report.json, not to given values"));
  CHECK(make_mitigation(AdapterSpec::parse("calibrate-position:prior=0.5;0.5"), model(s), context)->id() ==
        "calibrate-position(prior=0.5;0.5)<-popularity");
  CHECK(calibrated->rank(std::vector<RankRequest>{s.requests.requests[0].request})[0].ranking.size() > 0);
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("calibrate-position:prior=0.5;-1"), model(s), context),
                    Contains("expected positive numbers"));
}

TEST_CASE("fair top-k protects the long tail of the short head it is given", "[mitigation]") {
  // The protected group is the long tail outside the short head of the
  // share the context carries (--short-head): against a popularity model,
  // FA*IR raises the count of those items in the top k, and a different
  // share protects different items.
  const auto s = synthetic_setup(40, 30, 10, 5, 5);
  std::vector<RankRequest> requests;
  for (const auto& q : s.requests.requests) requests.push_back(q.request);
  const auto plain = model(s)->rank(requests);
  auto fair = [&](double share) {
    MitigationContext context{s.context.catalog, s.workload.attributes, share};
    return make_mitigation(AdapterSpec::parse("fair:p=0.9,alpha=0.1"), model(s), context)->rank(requests);
  };
  auto long_tail_in_top = [&](const std::vector<RankResponse>& answers, double share) {
    const auto head = short_head_items(*s.context.catalog, share);
    int n = 0;
    for (std::size_t i = 0; i < answers.size(); ++i)
      for (int p : answers[i].ranking) n += !head[static_cast<std::size_t>(requests[i].candidates[static_cast<std::size_t>(p)])];
    return n;
  };
  const auto half = fair(0.5), most = fair(0.9);
  CHECK(long_tail_in_top(half, 0.5) > long_tail_in_top(plain, 0.5));
  CHECK(long_tail_in_top(most, 0.9) > long_tail_in_top(plain, 0.9));
  int differ = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) differ += half[i].ranking != most[i].ranking;
  CHECK(differ > 0);
}

TEST_CASE("fair top-k protects an item group given as group=genre:VALUE, era:VALUE or an item attribute", "[mitigation]") {
  // Movie-like titles carry years (eras 1950s-2010s); categories are A (two
  // items in three) and B. FA*IR with p = 0.9 protecting genre B or an era
  // puts at least the table's count of the group in every prefix whenever
  // the candidates hold enough of it.
  const auto s = synthetic_setup(40, 60, 10, 5, 5, true);
  std::vector<RankRequest> requests;
  for (const auto& q : s.requests.requests) requests.push_back(q.request);
  MitigationContext context{s.context.catalog, s.workload.attributes};
  const auto table = fair_minimum_counts(5, 0.9, fair_adjusted_alpha(5, 0.9, 0.1));
  for (const std::string group : {"genre:B", "era:1960s"}) {
    INFO(group);
    const auto colon = group.find(':');
    auto member = [&](ItemIndex item) { return in_item_group(s.context.catalog->at(item), group.substr(0, colon), group.substr(colon + 1)); };
    const auto fair = make_mitigation(AdapterSpec::parse("fair:p=0.9,alpha=0.1,group=" + group), model(s), context);
    CHECK(fair->id() == "fair(p=0.9,alpha=0.1,protected=" + group + ")<-popularity");
    const auto answers = fair->rank(requests);
    const auto plain = model(s)->rank(requests);
    int protected_fair = 0, protected_plain = 0;
    for (std::size_t r = 0; r < requests.size(); ++r) {
      int available = 0;
      for (auto c : requests[r].candidates) available += member(c);
      int count = 0;
      for (std::size_t t = 0; t < answers[r].ranking.size(); ++t) {
        count += member(requests[r].candidates[static_cast<std::size_t>(answers[r].ranking[t])]);
        if (available >= table[t]) CHECK(count >= table[t]);
      }
      protected_fair += count;
      for (int p : plain[r].ranking) protected_plain += member(requests[r].candidates[static_cast<std::size_t>(p)]);
    }
    CHECK(protected_fair > protected_plain);
  }
  // An item attribute (items.jsonl "attributes") is a group like genre and era:
  // studio A24 given to exactly genre B's items protects them alike.
  auto with_studio = std::make_shared<Catalog>();
  for (auto item : s.context.catalog->items()) {
    if (in_item_group(item, "genre", "B")) item.attributes["studio"] = {"A24"};
    with_studio->add(std::move(item));
  }
  MitigationContext studio_context{with_studio, s.workload.attributes};
  const auto by_studio = make_mitigation(AdapterSpec::parse("fair:p=0.9,alpha=0.1,group=studio:A24"), model(s), studio_context)->rank(requests);
  const auto by_genre = make_mitigation(AdapterSpec::parse("fair:p=0.9,alpha=0.1,group=genre:B"), model(s), context)->rank(requests);
  for (std::size_t r = 0; r < requests.size(); ++r) CHECK(by_studio[r].ranking == by_genre[r].ranking);
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("fair:group=studio"), model(s), context),
                    Contains("group=studio: expected ATTRIBUTE:VALUE with genre, era or an item attribute"));
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("fair:group=studio:A24"), model(s), context),
                    Contains("group=studio:A24: no item of the dataset is in it (is it an attribute of the items in items.jsonl?)"));
  CHECK_THROWS_WITH(make_mitigation(AdapterSpec::parse("fair:group=genre:Western"), model(s), context),
                    Contains("group=genre:Western: no item of the dataset is in it (genres: A, B)"));
}
