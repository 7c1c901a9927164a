#include "audits/fairness_accumulator.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "audits/list_similarity.h"
#include "core/errors.h"
#include "core/rng.h"

namespace recbias {
namespace {

// Per profile (and the noise variant, last): the four list similarities to
// the neutral list, in metric_name's order, then the count of users.
enum SimilaritySlot : std::size_t { kSimilarityJaccard, kSimilaritySerp, kSimilarityPrag, kSimilarityRbo, kSimilarityUsers, kSimilaritySlots };
static_assert(static_cast<int>(kSimilarityUsers) == FairnessAccumulator::kMetrics);
// Per attribute value, from value_offset_: NDCG and hit of the positive under
// the real-value prompt, and the count of users.
enum UtilityOffset : std::size_t { kUtilityNdcg, kUtilityHit, kUtilityUsers, kUtilityWidth };

std::string profile_name(const Profile& p) {
  std::string out;
  for (const auto& [a, v] : p) out += (out.empty() ? "" : "&") + a + "=" + v;
  return out;
}

}  // namespace

const char* FairnessAccumulator::metric_name(int m) {
  static const char* names[kMetrics] = {"jaccard", "serp", "prag", "rbo"};
  return names[m];
}

int FairnessAccumulator::metric_index(const std::string& name) const {
  for (int m = 0; m < kMetrics; ++m)
    if (name == metric_name(m)) return m;
  throw BadInput(fmt::format("unknown fairness test metric \"{}\"; known metrics: jaccard, serp, prag, rbo", name));
}

FairnessAccumulator::FairnessAccumulator(const AuditOptions& options, std::vector<Profile> profiles)
    : attributes_(options.attributes), profiles_(std::move(profiles)), compat_(options.fairllm_compat),
      test_metric_(metric_index(options.fairness_test_metric)), replicates_(options.bootstrap_replicates) {
  for (std::size_t a = 0; a < profiles_.size(); ++a)
    for (std::size_t b = a + 1; b < profiles_.size(); ++b)
      if (profiles_[a].size() == 1 && profiles_[b].size() == 1 && profiles_[a][0].first == profiles_[b][0].first)
        swap_pairs_.emplace_back(a, b);
  std::size_t slots = 0;
  for (const auto& set : attributes_) {
    value_offset_.push_back(slots);
    slots += kUtilityWidth * set.values.size();
  }
  similarity_ = ReplicatedSums((profiles_.size() + 1) * kSimilaritySlots, replicates_);
  swap_.assign(swap_pairs_.size() * kMetrics, MomentSums());
  utility_ = ReplicatedSums(slots, replicates_);
}

void FairnessAccumulator::add(const BaseOutcome& o) {
  forget_nulls();
  if (o.plan->counterfactual.size() != profiles_.size()) throw InternalError("fairness: plan and profiles disagree");
  const auto& neutral = o.response(o.plan->identity);
  if (!usable(neutral)) return;
  const auto& weights = *o.weights;
  // Top-k views (outcome.h); identity order, so positions are base candidates.
  const std::vector<int>& neutral_list = neutral.ranking;
  // FaiRLLM's argument order: calc_metric_at_k(variant, neutral) — the
  // compared list first, the reference second (SERP* and PRAG* are asymmetric).
  auto similarities = [&](const std::vector<int>& variant, const std::vector<int>& reference, double* out) {
    out[kSimilarityJaccard] = jaccard(variant, reference);
    out[kSimilaritySerp] = serp_star(variant, reference, compat_);
    out[kSimilarityPrag] = prag_star(variant, reference);
    out[kSimilarityRbo] = rbo(variant, reference);
    out[kSimilarityUsers] = 1;
  };
  std::vector<double> sims((profiles_.size() + 1) * kSimilaritySlots, 0.0);
  double noise_sim[kSimilaritySlots] = {};
  const auto& noise = o.response(o.plan->noise);
  const bool have_noise = usable(noise);
  if (have_noise) {
    similarities(noise.ranking, neutral_list, noise_sim);
    std::copy(noise_sim, noise_sim + kSimilaritySlots, sims.begin() + static_cast<std::ptrdiff_t>(profiles_.size() * kSimilaritySlots));
  }
  const std::uint64_t unit = stable_hash(o.base->request.id);
  std::vector<const RankResponse*> lists(profiles_.size(), nullptr);
  for (std::size_t i = 0; i < profiles_.size(); ++i) {
    const auto& r = o.response(o.plan->counterfactual[i]);
    if (!usable(r)) continue;
    lists[i] = &r;
    similarities(r.ranking, neutral_list, &sims[i * kSimilaritySlots]);
    if (have_noise && profiles_[i].size() == 1)
      paired_.emplace_back(unit, static_cast<std::uint32_t>(i), noise_sim[test_metric_], sims[i * kSimilaritySlots + static_cast<std::size_t>(test_metric_)]);
  }
  similarity_.add(weights, sims);
  for (std::size_t s = 0; s < swap_pairs_.size(); ++s) {
    const auto* a = lists[swap_pairs_[s].first];
    const auto* b = lists[swap_pairs_[s].second];
    if (!a || !b) continue;
    double sim[kSimilaritySlots];
    similarities(b->ranking, a->ranking, sim);  // the later value against the earlier one
    for (int m = 0; m < kMetrics; ++m) swap_[s * kMetrics + static_cast<std::size_t>(m)].add(sim[m]);
  }
  // Utility with the user's real value stated.
  const int neutral_rank = rank_of(neutral_list, o.base->positive_position);
  const double neutral_ndcg = neutral_rank > 0 && neutral_rank <= o.base->request.k ? 1.0 / std::log2(neutral_rank + 1.0) : 0.0;
  std::vector<double> utility(utility_.size(), 0.0);
  if (o.real_attributes) {
    for (std::size_t a = 0; a < attributes_.size(); ++a) {
      auto real = o.real_attributes->find(attributes_[a].name);
      if (real == o.real_attributes->end()) continue;
      const auto& values = attributes_[a].values;
      const auto v = static_cast<std::size_t>(std::find(values.begin(), values.end(), real->second) - values.begin());
      if (v == values.size()) continue;
      for (std::size_t i = 0; i < profiles_.size(); ++i) {
        if (profiles_[i] != Profile{{attributes_[a].name, real->second}} || !lists[i]) continue;
        const int rank = rank_of(lists[i]->ranking, o.base->positive_position);
        const bool hit = rank > 0 && rank <= o.base->request.k;
        const std::size_t slot = value_offset_[a] + kUtilityWidth * v;
        utility[slot + kUtilityNdcg] = hit ? 1.0 / std::log2(rank + 1.0) : 0.0;
        utility[slot + kUtilityHit] = hit ? 1.0 : 0.0;
        utility[slot + kUtilityUsers] = 1.0;
        utility_records_.emplace_back(unit, static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(v), utility[slot + kUtilityNdcg],
                                      neutral_ndcg);
      }
    }
  }
  utility_.add(weights, utility);
}

void FairnessAccumulator::merge(const FairnessAccumulator& other) {
  forget_nulls();
  if (other.profiles_ != profiles_) throw BadInput("cannot merge fairness audits over different attribute sets");
  similarity_.merge(other.similarity_);
  for (std::size_t i = 0; i < swap_.size(); ++i) swap_[i].merge(other.swap_[i]);
  utility_.merge(other.utility_);
  paired_.insert(paired_.end(), other.paired_.begin(), other.paired_.end());
  std::sort(paired_.begin(), paired_.end());
  utility_records_.insert(utility_records_.end(), other.utility_records_.begin(), other.utility_records_.end());
  std::sort(utility_records_.begin(), utility_records_.end());
}

bool FairnessAccumulator::operator==(const FairnessAccumulator& o) const {
  auto a = paired_, b = o.paired_;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  auto ua = utility_records_, ub = o.utility_records_;
  std::sort(ua.begin(), ua.end());
  std::sort(ub.begin(), ub.end());
  return profiles_ == o.profiles_ && similarity_ == o.similarity_ && swap_ == o.swap_ && utility_ == o.utility_ && a == b && ua == ub;
}

std::vector<NamedTest> FairnessAccumulator::tests() const {
  auto records = paired_;
  std::sort(records.begin(), records.end());
  std::vector<NamedTest> out;
  for (std::size_t i = 0; i < profiles_.size(); ++i) {
    if (profiles_[i].size() != 1) continue;
    std::vector<double> noise, value;
    for (const auto& [unit, profile, n, v] : records)
      if (profile == i) {
        noise.push_back(n);
        value.push_back(v);
      }
    if (noise.empty()) continue;
    // One-sided: the value's lists are less similar to neutral than the noise floor's.
    out.push_back({"fairness." + profiles_[i][0].first + "." + profiles_[i][0].second, wilcoxon_signed_rank_greater(noise, value),
                   static_cast<std::int64_t>(noise.size())});
  }
  for (std::size_t a = 0; a < attributes_.size(); ++a) {
    const auto snsr = snsr_null(a);
    if (snsr.units > 0)
      out.push_back({"snsr." + attributes_[a].name, {"SNSR permutation test (labels shuffled within users)", snsr.observed, 0, snsr.p_value},
                     snsr.units});
    const auto gap = utility_null(a, nullptr);
    if (gap.units > 0)
      out.push_back({"utility_gap." + attributes_[a].name, {"utility gap permutation test (group labels shuffled)", gap.observed, 0, gap.p_value},
                     gap.units});
  }
  return out;
}

void FairnessAccumulator::forget_nulls() {
  snsr_nulls_.clear();
  utility_nulls_.clear();
}

FairnessAccumulator::PermutationNull FairnessAccumulator::snsr_null(std::size_t a) const {
  auto it = snsr_nulls_.find(a);
  if (it == snsr_nulls_.end()) it = snsr_nulls_.emplace(a, compute_snsr_null(a)).first;
  return it->second;
}

FairnessAccumulator::PermutationNull FairnessAccumulator::utility_null(std::size_t a, Groups* groups) const {
  auto it = utility_nulls_.find(a);
  if (it == utility_nulls_.end()) {
    Groups computed;
    auto null = compute_utility_null(a, computed);
    it = utility_nulls_.emplace(a, std::pair{null, std::move(computed)}).first;
  }
  if (groups) groups->insert(groups->end(), it->second.second.begin(), it->second.second.end());
  return it->second.first;
}

FairnessAccumulator::PermutationNull FairnessAccumulator::compute_snsr_null(std::size_t a) const {
  PermutationNull out;
  // The attribute's single-value profiles, in value order.
  std::vector<std::size_t> value_profile;
  for (const auto& v : attributes_[a].values)
    for (std::size_t i = 0; i < profiles_.size(); ++i)
      if (profiles_[i] == Profile{{attributes_[a].name, v}}) value_profile.push_back(i);
  const std::size_t nv = value_profile.size();
  if (nv < 2) return out;
  // Users complete for the attribute: a similarity for every value.
  auto records = paired_;
  std::sort(records.begin(), records.end());
  std::vector<std::vector<double>> rows;  // per complete user, similarity by value
  for (std::size_t at = 0; at < records.size();) {
    std::size_t end = at;
    while (end < records.size() && std::get<0>(records[end]) == std::get<0>(records[at])) ++end;
    std::vector<double> row(nv, std::nan(""));
    for (std::size_t r = at; r < end; ++r)
      for (std::size_t v = 0; v < nv; ++v)
        if (std::get<1>(records[r]) == value_profile[v]) row[v] = std::get<3>(records[r]);
    if (std::all_of(row.begin(), row.end(), [](double x) { return std::isfinite(x); })) rows.push_back(std::move(row));
    at = end;
  }
  out.units = static_cast<std::int64_t>(rows.size());
  if (rows.empty()) return out;
  // The range (SNSR) and the population standard deviation (SNSV) of the values' means.
  auto spread_of_means = [&](const std::vector<std::vector<double>>& r) {
    std::vector<double> means(nv, 0.0);
    for (const auto& row : r)
      for (std::size_t v = 0; v < nv; ++v) means[v] += row[v];
    double mean = 0, var = 0;
    for (auto& m : means) mean += (m /= static_cast<double>(r.size()));
    mean /= static_cast<double>(nv);
    for (double m : means) var += (m - mean) * (m - mean);
    const auto [lo, hi] = std::minmax_element(means.begin(), means.end());
    return std::pair{*hi - *lo, std::sqrt(var / static_cast<double>(nv))};
  };
  std::tie(out.observed, out.sd_observed) = spread_of_means(rows);
  Rng rng = Rng::stream(stable_hash("snsr-null/" + attributes_[a].name), rows.size());
  auto shuffled = rows;
  double sum = 0, sum_sd = 0;
  int at_least = 0, at_least_sd = 0;
  for (int b = 0; b < kPermutations; ++b) {
    for (auto& row : shuffled) rng.shuffle(row);
    const auto [range, sd] = spread_of_means(shuffled);
    sum += range;
    sum_sd += sd;
    at_least += range >= out.observed - 1e-12;
    at_least_sd += sd >= out.sd_observed - 1e-12;
  }
  out.e0 = sum / kPermutations;
  out.p_value = (1.0 + at_least) / (1.0 + kPermutations);
  out.sd_e0 = sum_sd / kPermutations;
  out.sd_p_value = (1.0 + at_least_sd) / (1.0 + kPermutations);
  return out;
}

FairnessAccumulator::PermutationNull FairnessAccumulator::compute_utility_null(std::size_t a, Groups& groups) const {
  PermutationNull out;
  const auto& values = attributes_[a].values;
  std::vector<std::int64_t> size(values.size(), 0);
  auto records = utility_records_;
  std::sort(records.begin(), records.end());
  std::vector<std::pair<std::size_t, double>> users;  // value index, NDCG real
  for (const auto& r : records)
    if (std::get<1>(r) == a) {
      ++size[std::get<2>(r)];
      users.emplace_back(std::get<2>(r), std::get<3>(r));
    }
  // Groups: each value with >= kMinGroupSize users, and "other" pooling the rest.
  std::vector<std::size_t> group_of(values.size());
  std::vector<std::string> names;
  for (std::size_t v = 0; v < values.size(); ++v)
    if (size[v] >= kMinGroupSize) {
      group_of[v] = names.size();
      names.push_back(values[v]);
    }
  std::int64_t pooled = 0;
  for (std::size_t v = 0; v < values.size(); ++v)
    if (size[v] < kMinGroupSize) pooled += size[v];
  const std::size_t other = names.size();
  if (pooled >= kMinGroupSize) names.push_back("other");
  for (std::size_t v = 0; v < values.size(); ++v)
    if (size[v] < kMinGroupSize) group_of[v] = pooled >= kMinGroupSize ? other : SIZE_MAX;
  std::vector<std::size_t> label;
  std::vector<double> ndcg;
  for (const auto& [v, x] : users)
    if (group_of[v] != SIZE_MAX) {
      label.push_back(group_of[v]);
      ndcg.push_back(x);
    }
  const std::size_t ng = names.size();
  auto gap_of = [&](const std::vector<std::size_t>& lab, std::vector<double>* means) {
    std::vector<double> sum(ng, 0.0), count(ng, 0.0);
    for (std::size_t i = 0; i < lab.size(); ++i) {
      sum[lab[i]] += ndcg[i];
      count[lab[i]] += 1;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (std::size_t g = 0; g < ng; ++g) {
      const double m = sum[g] / count[g];
      if (means) means->push_back(m);
      lo = std::min(lo, m);
      hi = std::max(hi, m);
    }
    return hi - lo;
  };
  if (ng < 2) return out;
  std::vector<double> means;
  out.observed = gap_of(label, &means);
  out.units = static_cast<std::int64_t>(label.size());
  for (std::size_t g = 0; g < ng; ++g) {
    std::int64_t n = 0;
    for (auto l : label) n += l == g;
    groups.emplace_back(names[g], n, means[g], 0.0);
  }
  Rng rng = Rng::stream(stable_hash("utility-null/" + attributes_[a].name), label.size());
  auto shuffled = label;
  double sum = 0;
  int at_least = 0;
  for (int b = 0; b < kPermutations; ++b) {
    rng.shuffle(shuffled);
    const double v = gap_of(shuffled, nullptr);
    sum += v;
    at_least += v >= out.observed - 1e-12;
  }
  out.e0 = sum / kPermutations;
  out.p_value = (1.0 + at_least) / (1.0 + kPermutations);
  return out;
}

nlohmann::ordered_json FairnessAccumulator::result(double confidence, const std::map<std::string, double>& adjusted,
                                                   double alpha) const {
  nlohmann::ordered_json out;
  const std::size_t noise_base = profiles_.size() * kSimilaritySlots;
  const double users = similarity_.total(noise_base + kSimilarityUsers) > 0 ? similarity_.total(noise_base + kSimilarityUsers)
                                                                            : similarity_.total(kSimilarityUsers);
  out["users"] = users;
  out["serp_definition"] = compat_ ? "FaiRLLM published code (max 0.274 at K = 20)" : "normalised (identical lists = 1)";
  out["test_metric"] = metric_name(test_metric_);
  auto mean_metric = [&](const ReplicatedSums& sums, std::size_t base, int m) {
    const auto count = base + kSimilarityUsers;
    const auto e = sums.estimate([base, m, count](std::span<const double> s) {
      return s[count] > 0 ? s[base + static_cast<std::size_t>(m)] / s[count] : std::nan("");
    }, confidence);
    return metric_json(e.value, e.ci, sums.total(count));
  };
  nlohmann::ordered_json noise;
  for (int m = 0; m < kMetrics; ++m) noise[metric_name(m)] = mean_metric(similarity_, noise_base, m);
  out["noise_floor"] = noise;
  std::map<std::string, NamedTest> test_by_name;
  for (auto& t : tests()) test_by_name[t.name] = t;
  auto test_json = [&](const std::string& name) -> nlohmann::ordered_json {
    auto it = test_by_name.find(name);
    if (it == test_by_name.end()) return nullptr;
    const auto adj = adjusted.count(name) ? adjusted.at(name) : it->second.result.p_value;
    return {{"test", it->second.result.test}, {"statistic", it->second.result.statistic}, {"p_value", it->second.result.p_value},
            {"p_adjusted", adj}, {"significant", adj < alpha}, {"n", it->second.n}};
  };
  // Per single-value profile: the mean of (noise-floor similarity - value similarity), the one-sided test's direction.
  std::map<std::size_t, MomentSums> shift;
  for (const auto& [unit, profile, n, v] : paired_) shift[profile].add(n - v);
  nlohmann::ordered_json attributes;
  for (std::size_t a = 0; a < attributes_.size(); ++a) {
    const auto& set = attributes_[a];
    std::vector<std::size_t> indices;  // profile index of each value
    for (const auto& v : set.values)
      for (std::size_t i = 0; i < profiles_.size(); ++i)
        if (profiles_[i] == Profile{{set.name, v}}) indices.push_back(i);
    nlohmann::ordered_json values, snsr, snsv;
    for (std::size_t v = 0; v < set.values.size(); ++v) {
      nlohmann::ordered_json entry;
      for (int m = 0; m < kMetrics; ++m) entry[metric_name(m)] = mean_metric(similarity_, indices[v] * kSimilaritySlots, m);
      entry["test"] = test_json("fairness." + set.name + "." + set.values[v]);
      if (entry["test"].is_object() && shift.count(indices[v])) {
        const auto& d = shift.at(indices[v]);
        entry["test"]["mean_drop_below_noise_floor"] = metric_json(d.mean(), d.interval(confidence), static_cast<double>(d.n()));
        entry["test"]["direction"] = d.mean() > 0 ? "less similar to neutral than the noise floor" : "not less similar than the noise floor";
      }
      values[set.values[v]] = entry;
    }
    for (int m = 0; m < kMetrics; ++m) {
      // The range and SD of per-value means are biased upward under resampling
      // (a resample's means are noisier), so their percentile interval can
      // exclude the point: the interval is the replicates' spread re-centred
      // on the point (recentred_interval), as for the open audit's SNSR.
      auto spread = [&](bool range) {
        const auto replicated = similarity_.replicated([&, m, range](std::span<const double> s) {
          std::vector<double> means;
          for (auto i : indices) {
            const auto b = i * kSimilaritySlots;
            if (s[b + kSimilarityUsers] > 0) means.push_back(s[b + static_cast<std::size_t>(m)] / s[b + kSimilarityUsers]);
          }
          if (means.size() < 2) return std::nan("");
          if (range) return *std::max_element(means.begin(), means.end()) - *std::min_element(means.begin(), means.end());
          double mean = 0, var = 0;
          for (double x : means) mean += x;
          mean /= static_cast<double>(means.size());
          for (double x : means) var += (x - mean) * (x - mean);
          return std::sqrt(var / static_cast<double>(means.size()));
        });
        std::vector<double> finite;
        for (double x : replicated.replicates)
          if (std::isfinite(x)) finite.push_back(x);
        return std::make_pair(replicated.value, recentred_interval(replicated.value, finite, confidence));
      };
      const auto r = spread(true), d = spread(false);
      // n: the users behind the spread (the number of values is in "values").
      snsr[metric_name(m)] = metric_json(r.first, r.second, users);
      snsv[metric_name(m)] = metric_json(d.first, d.second, users);
    }
    // SNSR of the test metric over complete users, against its permutation null.
    const auto null = snsr_null(a);
    nlohmann::ordered_json snsr_test = test_json("snsr." + set.name);
    nlohmann::ordered_json snsr_reference = {{"metric", metric_name(test_metric_)}, {"value", null.observed}, {"e0", null.e0},
                                             {"users_complete", null.units}, {"test", snsr_test}};
    // SNSV under the same permutations: reported beside SNSR, not a second test in the family (the same hypothesis).
    nlohmann::ordered_json snsv_reference = {{"metric", metric_name(test_metric_)}, {"value", null.sd_observed}, {"e0", null.sd_e0},
                                             {"p_value_unadjusted", null.sd_p_value}, {"users_complete", null.units}};
    nlohmann::ordered_json swaps;
    for (std::size_t s = 0; s < swap_pairs_.size(); ++s) {
      const auto& [i, j] = swap_pairs_[s];
      if (profiles_[i][0].first != set.name) continue;
      nlohmann::ordered_json entry;
      for (int m = 0; m < kMetrics; ++m) {
        const auto& sums = swap_[s * kMetrics + static_cast<std::size_t>(m)];
        entry[metric_name(m)] = metric_json(sums.mean(), sums.interval(confidence), static_cast<double>(sums.n()));
      }
      swaps[profiles_[i][0].second + " vs " + profiles_[j][0].second] = entry;
    }
    nlohmann::ordered_json groups;
    for (std::size_t v = 0; v < set.values.size(); ++v) {
      const std::size_t ndcg = value_offset_[a] + kUtilityWidth * v + kUtilityNdcg, users_at = value_offset_[a] + kUtilityWidth * v + kUtilityUsers;
      const auto e = utility_.estimate(
          [ndcg, users_at](std::span<const double> s) { return s[users_at] > 0 ? s[ndcg] / s[users_at] : std::nan(""); }, confidence);
      groups[set.values[v]] = metric_json(e.value, e.ci, utility_.total(users_at));
    }
    nlohmann::ordered_json utility;
    utility["ndcg_by_group"] = groups;
    // The gap over groups of at least kMinGroupSize users (the rest pooled), its permutation null.
    std::vector<std::tuple<std::string, std::int64_t, double, double>> pooled_groups;
    const auto gap = utility_null(a, &pooled_groups);
    nlohmann::ordered_json gap_groups = nlohmann::ordered_json::array();
    for (const auto& [name, users_in, mean, unused] : pooled_groups) gap_groups.push_back({{"group", name}, {"users", users_in}, {"ndcg", mean}});
    nlohmann::ordered_json pooled = nlohmann::ordered_json::array();
    std::map<std::size_t, std::int64_t> group_size;
    std::map<std::size_t, MomentSums> change;  // NDCG with the real value stated minus NDCG neutral, per value
    for (const auto& [unit, attr, v, real_ndcg, neutral_ndcg] : utility_records_)
      if (attr == a) {
        ++group_size[v];
        change[v].add(real_ndcg - neutral_ndcg);
      }
    for (std::size_t v = 0; v < set.values.size(); ++v)
      if (group_size[v] > 0 && group_size[v] < kMinGroupSize) pooled.push_back(set.values[v]);
    utility["gap"] = metric_json(gap.observed, {std::nan(""), std::nan("")}, static_cast<double>(gap.units));
    utility["gap_e0"] = gap.e0;
    utility["gap_groups"] = gap_groups;
    utility["pooled_into_other"] = pooled;
    utility["min_group_size"] = kMinGroupSize;
    utility["test"] = test_json("utility_gap." + set.name);
    nlohmann::ordered_json counterfactual;
    for (std::size_t v = 0; v < set.values.size(); ++v)
      if (change.count(v))
        counterfactual[set.values[v]] = metric_json(change[v].mean(), change[v].interval(confidence), static_cast<double>(change[v].n()));
    utility["change_from_neutral"] = counterfactual;
    attributes[set.name] = {{"values", values}, {"snsr", snsr}, {"snsr_null", snsr_reference}, {"snsv", snsv}, {"snsv_null", snsv_reference}, {"swap", swaps},
                            {"utility", utility}};
  }
  out["attributes"] = attributes;
  nlohmann::ordered_json intersections;
  for (std::size_t i = 0; i < profiles_.size(); ++i) {
    if (profiles_[i].size() < 2) continue;
    nlohmann::ordered_json entry;
    for (int m = 0; m < kMetrics; ++m) entry[metric_name(m)] = mean_metric(similarity_, i * kSimilaritySlots, m);
    intersections[profile_name(profiles_[i])] = entry;
  }
  if (!intersections.empty()) out["intersections"] = intersections;
  return out;
}

nlohmann::json FairnessAccumulator::state() const {
  nlohmann::json paired = nlohmann::json::array();
  auto sorted = paired_;
  std::sort(sorted.begin(), sorted.end());  // canonical order: a merged state equals the single run's
  for (const auto& [unit, profile, n, v] : sorted) paired.push_back({std::to_string(unit), profile, n, v});
  nlohmann::json swap = nlohmann::json::array();
  for (const auto& e : swap_) swap.push_back(e.to_json());
  nlohmann::json records = nlohmann::json::array();
  auto sorted_records = utility_records_;
  std::sort(sorted_records.begin(), sorted_records.end());
  for (const auto& [unit, a, v, real_ndcg, neutral_ndcg] : sorted_records) records.push_back({std::to_string(unit), a, v, real_ndcg, neutral_ndcg});
  return {{"similarity", similarity_.to_json()}, {"swap", swap}, {"utility", utility_.to_json()}, {"paired", paired},
          {"utility_records", records}};
}

void FairnessAccumulator::load_state(const nlohmann::json& j) {
  forget_nulls();
  try {
    similarity_ = ReplicatedSums::from_json(j.at("similarity"));
    swap_.clear();
    for (const auto& e : j.at("swap")) swap_.push_back(MomentSums::from_json(e));
    if (swap_.size() != swap_pairs_.size() * kMetrics) throw BadInput("fairness state: swap sums do not match the attributes");
    utility_ = ReplicatedSums::from_json(j.at("utility"));
    paired_.clear();
    for (const auto& p : j.at("paired"))
      paired_.emplace_back(std::stoull(p.at(0).get<std::string>()), p.at(1).get<std::uint32_t>(), p.at(2).get<double>(), p.at(3).get<double>());
    utility_records_.clear();
    for (const auto& r : j.at("utility_records")) {
      const auto a = r.at(1).get<std::uint32_t>(), v = r.at(2).get<std::uint32_t>();
      if (a >= attributes_.size() || v >= attributes_[a].values.size()) throw BadInput("fairness state: a utility record names no attribute value");
      utility_records_.emplace_back(std::stoull(r.at(0).get<std::string>()), a, v, r.at(3).get<double>(), r.at(4).get<double>());
    }
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("fairness audit state: {}", e.what()));
  } catch (const std::logic_error& e) {  // std::stoull on a unit key that is not a number
    throw BadInput(fmt::format("fairness audit state: a unit key is not an unsigned integer ({})", e.what()));
  }
}

}  // namespace recbias
