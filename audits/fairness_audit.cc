#include "audits/fairness_audit.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "audits/list_similarity.h"
#include "core/errors.h"
#include "core/rng.h"

namespace recbias {
namespace {

constexpr int kSlots = FairnessAccumulator::kMetrics + 1;

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
    slots += 3 * set.values.size();
  }
  similarity_ = ReplicatedSums((profiles_.size() + 1) * kSlots, replicates_);
  swap_.assign(swap_pairs_.size() * kMetrics, MomentSums());
  utility_ = ReplicatedSums(slots, replicates_);
}

void FairnessAccumulator::add(const BaseOutcome& o) {
  if (o.plan->counterfactual.size() != profiles_.size()) throw InternalError("fairness: plan and profiles disagree");
  const auto& neutral = o.response(o.plan->identity);
  if (!usable(neutral)) return;
  const auto& weights = *o.weights;
  // Top-k views (outcome.h); identity order, so positions are base candidates.
  const std::vector<int>& neutral_list = neutral.ranking;
  // FaiRLLM's argument order: calc_metric_at_k(variant, neutral) — the
  // compared list first, the reference second (SERP* and PRAG* are asymmetric).
  auto similarities = [&](const std::vector<int>& variant, const std::vector<int>& reference, double* out) {
    out[0] = jaccard(variant, reference);
    out[1] = serp_star(variant, reference, compat_);
    out[2] = prag_star(variant, reference);
    out[3] = rbo(variant, reference);
    out[4] = 1;
  };
  std::vector<double> sims((profiles_.size() + 1) * kSlots, 0.0);
  double noise_sim[kSlots] = {0, 0, 0, 0, 0};
  const auto& noise = o.response(o.plan->noise);
  const bool have_noise = usable(noise);
  if (have_noise) {
    similarities(noise.ranking, neutral_list, noise_sim);
    std::copy(noise_sim, noise_sim + kSlots, sims.begin() + static_cast<std::ptrdiff_t>(profiles_.size() * kSlots));
  }
  const std::uint64_t unit = stable_hash(o.base->request.id);
  std::vector<const RankResponse*> lists(profiles_.size(), nullptr);
  for (std::size_t i = 0; i < profiles_.size(); ++i) {
    const auto& r = o.response(o.plan->counterfactual[i]);
    if (!usable(r)) continue;
    lists[i] = &r;
    similarities(r.ranking, neutral_list, &sims[i * kSlots]);
    if (have_noise && profiles_[i].size() == 1)
      paired_.emplace_back(unit, static_cast<std::uint32_t>(i), noise_sim[test_metric_], sims[i * kSlots + static_cast<std::size_t>(test_metric_)]);
  }
  similarity_.add(weights, sims);
  for (std::size_t s = 0; s < swap_pairs_.size(); ++s) {
    const auto* a = lists[swap_pairs_[s].first];
    const auto* b = lists[swap_pairs_[s].second];
    if (!a || !b) continue;
    double sim[kSlots];
    similarities(b->ranking, a->ranking, sim);  // the later value against the earlier one
    for (int m = 0; m < kMetrics; ++m) swap_[s * kMetrics + static_cast<std::size_t>(m)].add(sim[m]);
  }
  // Utility with the user's real value stated.
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
        const std::size_t slot = value_offset_[a] + 3 * v;
        utility[slot] = hit ? 1.0 / std::log2(rank + 1.0) : 0.0;
        utility[slot + 1] = hit ? 1.0 : 0.0;
        utility[slot + 2] = 1.0;
      }
    }
  }
  utility_.add(weights, utility);
}

void FairnessAccumulator::merge(const FairnessAccumulator& other) {
  if (other.profiles_ != profiles_) throw BadInput("cannot merge fairness audits over different attribute sets");
  similarity_.merge(other.similarity_);
  for (std::size_t i = 0; i < swap_.size(); ++i) swap_[i].merge(other.swap_[i]);
  utility_.merge(other.utility_);
  paired_.insert(paired_.end(), other.paired_.begin(), other.paired_.end());
  std::sort(paired_.begin(), paired_.end());
}

bool FairnessAccumulator::operator==(const FairnessAccumulator& o) const {
  auto a = paired_, b = o.paired_;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return profiles_ == o.profiles_ && similarity_ == o.similarity_ && swap_ == o.swap_ && utility_ == o.utility_ && a == b;
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
    out.push_back({"fairness." + profiles_[i][0].first + "." + profiles_[i][0].second, wilcoxon_signed_rank(noise, value),
                   static_cast<std::int64_t>(noise.size())});
  }
  for (std::size_t a = 0; a < attributes_.size(); ++a) {
    std::vector<std::vector<double>> table;
    for (std::size_t v = 0; v < attributes_[a].values.size(); ++v) {
      const std::size_t slot = value_offset_[a] + 3 * v;
      const double hits = utility_.total(slot + 1), n = utility_.total(slot + 2);
      table.push_back({hits, n - hits});
    }
    double n = 0;
    for (const auto& row : table) n += row[0] + row[1];
    if (n > 0) out.push_back({"utility_gap." + attributes_[a].name, chi_square_independence(table), static_cast<std::int64_t>(n)});
  }
  return out;
}

nlohmann::ordered_json FairnessAccumulator::result(double confidence, const std::map<std::string, double>& adjusted,
                                                   double alpha) const {
  nlohmann::ordered_json out;
  const std::size_t noise_base = profiles_.size() * kSlots;
  const double users = similarity_.total(noise_base + kMetrics) > 0 ? similarity_.total(noise_base + kMetrics) : similarity_.total(kMetrics);
  out["users"] = users;
  out["serp_definition"] = compat_ ? "FaiRLLM published code (max 0.274 at K = 20)" : "normalised (identical lists = 1)";
  out["test_metric"] = metric_name(test_metric_);
  auto mean_metric = [&](const ReplicatedSums& sums, std::size_t base, int m) {
    const auto count = base + kMetrics;
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
      for (int m = 0; m < kMetrics; ++m) entry[metric_name(m)] = mean_metric(similarity_, indices[v] * kSlots, m);
      entry["test"] = test_json("fairness." + set.name + "." + set.values[v]);
      values[set.values[v]] = entry;
    }
    for (int m = 0; m < kMetrics; ++m) {
      auto spread = [&](bool range) {
        return similarity_.estimate([&, m, range](std::span<const double> s) {
          std::vector<double> means;
          for (auto i : indices) {
            const auto b = i * kSlots;
            if (s[b + kMetrics] > 0) means.push_back(s[b + static_cast<std::size_t>(m)] / s[b + kMetrics]);
          }
          if (means.size() < 2) return std::nan("");
          if (range) return *std::max_element(means.begin(), means.end()) - *std::min_element(means.begin(), means.end());
          double mean = 0, var = 0;
          for (double x : means) mean += x;
          mean /= static_cast<double>(means.size());
          for (double x : means) var += (x - mean) * (x - mean);
          return std::sqrt(var / static_cast<double>(means.size()));
        }, confidence);
      };
      const auto r = spread(true), d = spread(false);
      // n: the users behind the spread (the number of values is in "values").
      snsr[metric_name(m)] = metric_json(r.value, r.ci, users);
      snsv[metric_name(m)] = metric_json(d.value, d.ci, users);
    }
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
      const std::size_t slot = value_offset_[a] + 3 * v;
      const auto e = utility_.estimate([slot](std::span<const double> s) { return s[slot + 2] > 0 ? s[slot] / s[slot + 2] : std::nan(""); },
                                       confidence);
      groups[set.values[v]] = metric_json(e.value, e.ci, utility_.total(slot + 2));
    }
    const std::size_t first = value_offset_[a], n_values = set.values.size();
    const auto gap = utility_.estimate([first, n_values](std::span<const double> s) {
      double lo = INFINITY, hi = -INFINITY;
      int groups_seen = 0;
      for (std::size_t v = 0; v < n_values; ++v) {
        const std::size_t slot = first + 3 * v;
        if (s[slot + 2] <= 0) continue;
        const double m = s[slot] / s[slot + 2];
        lo = std::min(lo, m);
        hi = std::max(hi, m);
        ++groups_seen;
      }
      return groups_seen >= 2 ? hi - lo : std::nan("");
    }, confidence);
    nlohmann::ordered_json utility;
    utility["ndcg_by_group"] = groups;
    double grouped = 0;
    for (std::size_t v = 0; v < n_values; ++v) grouped += utility_.total(first + 3 * v + 2);
    utility["gap"] = metric_json(gap.value, gap.ci, grouped);
    utility["test"] = test_json("utility_gap." + set.name);
    attributes[set.name] = {{"values", values}, {"snsr", snsr}, {"snsv", snsv}, {"swap", swaps}, {"utility", utility}};
  }
  out["attributes"] = attributes;
  nlohmann::ordered_json intersections;
  for (std::size_t i = 0; i < profiles_.size(); ++i) {
    if (profiles_[i].size() < 2) continue;
    nlohmann::ordered_json entry;
    for (int m = 0; m < kMetrics; ++m) entry[metric_name(m)] = mean_metric(similarity_, i * kSlots, m);
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
  return {{"similarity", similarity_.to_json()}, {"swap", swap}, {"utility", utility_.to_json()}, {"paired", paired}};
}

void FairnessAccumulator::load_state(const nlohmann::json& j) {
  try {
    similarity_ = ReplicatedSums::from_json(j.at("similarity"));
    swap_.clear();
    for (const auto& e : j.at("swap")) swap_.push_back(MomentSums::from_json(e));
    if (swap_.size() != swap_pairs_.size() * kMetrics) throw BadInput("fairness state: swap sums do not match the attributes");
    utility_ = ReplicatedSums::from_json(j.at("utility"));
    paired_.clear();
    for (const auto& p : j.at("paired"))
      paired_.emplace_back(std::stoull(p.at(0).get<std::string>()), p.at(1).get<std::uint32_t>(), p.at(2).get<double>(), p.at(3).get<double>());
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("fairness audit state: {}", e.what()));
  }
}

}  // namespace recbias
