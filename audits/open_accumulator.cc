#include "audits/open_accumulator.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "adapters/grounding.h"
#include "audits/list_similarity.h"
#include "core/errors.h"

namespace recbias {

namespace {

enum OpenSlot : std::size_t { kNamedPercentile, kHeldOutPercentile, kArp, kItems, kOpenUsers, kOpenSlots };
enum StringSlot : std::size_t { kStringJaccard, kStringSerp, kStringPrag, kStringUsers, kStringSlots };
constexpr const char* kStringMetrics[] = {"jaccard", "serp", "prag"};

// The first k entries as ids interned in `ids` (equal strings, equal ids).
std::vector<int> interned(const std::vector<std::string>& entries, int k, std::map<std::string, int>& ids) {
  std::vector<int> out;
  for (std::size_t i = 0; i < entries.size() && i < static_cast<std::size_t>(std::max(k, 0)); ++i)
    out.push_back(ids.emplace(entries[i], static_cast<int>(ids.size())).first->second);
  return out;
}

std::string profile_label(const Profile& p) {
  std::string label;
  for (const auto& [a, v] : p) label += (label.empty() ? "" : ";") + a + "=" + v;
  return label;
}

// Each item's popularity percentile in the catalog: (mean rank among equals) / (n - 1).
std::vector<double> percentiles(const Catalog& catalog) {
  const std::size_t n = catalog.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return catalog.items()[a].popularity < catalog.items()[b].popularity;
  });
  std::vector<double> out(n, 0.5);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && catalog.items()[order[j]].popularity == catalog.items()[order[i]].popularity) ++j;
    const double rank = (static_cast<double>(i) + static_cast<double>(j - 1)) / 2;
    for (std::size_t t = i; t < j; ++t) out[order[t]] = n > 1 ? rank / static_cast<double>(n - 1) : 0.5;
    i = j;
  }
  return out;
}

}  // namespace

OpenAccumulator::OpenAccumulator(std::shared_ptr<const Catalog> catalog, int replicates, bool fairllm_titles)
    : catalog_(std::move(catalog)), fairllm_titles_(fairllm_titles), replicates_(replicates), user_(kOpenSlots, replicates) {
  if (catalog_) {
    percentile_ = percentiles(*catalog_);
    catalog_size_ = static_cast<std::int64_t>(catalog_->size());
  }
}

void OpenAccumulator::add(const BaseOutcome& o) {
  ++requests_;
  if (!o.base->request.open) {
    ++non_open_;
    return;
  }
  RECBIAS_CHECK(catalog_ != nullptr, "open audit without a catalog");
  // FaiRLLM's comparison of each stated value's strings with the neutral's:
  // on what was written, whether or not any of it grounded in the catalog.
  const int k = o.base->request.k;
  const auto& neutral = o.full_response(o.plan->identity);
  if (!neutral.error) {
    for (std::size_t i = 0; i < o.plan->profiles.size() && i < o.plan->counterfactual.size(); ++i) {
      const auto& variant = o.full_response(o.plan->counterfactual[i]);
      if (variant.error) continue;
      std::map<std::string, int> ids;
      const auto y = interned(strings_of(neutral), k, ids);
      const auto x = interned(strings_of(variant), k, ids);
      const double similarity[kStringSlots] = {x.empty() && y.empty() ? 1.0 : jaccard(x, y), serp_star(x, y, true), prag_star(x, y), 1.0};
      auto [it, fresh] = strings_.try_emplace(profile_label(o.plan->profiles[i]), kStringSlots, replicates_);
      it->second.add(*o.weights, similarity);
    }
  }
  const auto& r = o.response(o.plan->identity);
  if (!usable(r)) {
    ++users_without_items_;
    return;
  }
  double pct = 0, pop = 0;
  for (int item : r.ranking) {
    pct += percentile_[static_cast<std::size_t>(item)];
    pop += catalog_->at(item).popularity;
    named_.insert(item);
  }
  if (o.base->positive < 0) {  // no held-out item (FaiRLLM's seeds): nothing to pair the named items with
    ++users_without_held_out_;
    return;
  }
  const double n = static_cast<double>(r.ranking.size());
  const double values[kOpenSlots] = {pct / n, percentile_[static_cast<std::size_t>(o.base->positive)], pop / n, n, 1.0};
  user_.add(*o.weights, values);
}

std::vector<std::string> OpenAccumulator::strings_of(const RankResponse& r) const {
  if (fairllm_titles_ && r.raw && r.raw->format == "text") return fairllm_titles(r.raw->body);
  if (!r.entries.empty()) return r.entries;
  // An adapter that answers without text (a scoring model, exec ids): the
  // named items' normalised titles, then its ungrounded entries.
  std::vector<std::string> out;
  for (int item : r.ranking) out.push_back(normalize_title(catalog_->at(item).title));
  for (const auto& u : r.ungrounded) out.push_back(normalize_title(u));
  return out;
}

void OpenAccumulator::merge(const OpenAccumulator& other) {
  if (catalog_size_ == 0) catalog_size_ = other.catalog_size_;
  if (other.catalog_size_ != 0 && other.catalog_size_ != catalog_size_)
    throw BadInput(fmt::format("cannot merge open audits over catalogs of {} and {} items", catalog_size_, other.catalog_size_));
  requests_ += other.requests_;
  non_open_ += other.non_open_;
  users_without_items_ += other.users_without_items_;
  users_without_held_out_ += other.users_without_held_out_;
  user_.merge(other.user_);
  named_.insert(other.named_.begin(), other.named_.end());
  for (const auto& [label, sums] : other.strings_) {
    auto [it, fresh] = strings_.try_emplace(label, sums);
    if (!fresh) it->second.merge(sums);
  }
}

bool OpenAccumulator::operator==(const OpenAccumulator& other) const {
  return catalog_size_ == other.catalog_size_ && requests_ == other.requests_ && non_open_ == other.non_open_ &&
         users_without_items_ == other.users_without_items_ && users_without_held_out_ == other.users_without_held_out_ && user_ == other.user_ && named_ == other.named_ &&
         strings_ == other.strings_;
}

nlohmann::ordered_json OpenAccumulator::result(double confidence) const {
  nlohmann::ordered_json out;
  out["requests"] = requests_;
  if (non_open_ > 0) {
    out["note"] = "the open audit reads candidate-free requests (--probe open); these requests showed candidates";
    return out;
  }
  const auto totals = user_.totals();
  const double users = totals[kOpenUsers];
  out["users"] = users;
  out["users_without_items"] = users_without_items_;
  out["users_without_held_out"] = users_without_held_out_;
  auto mean = [](std::size_t slot) { return [slot](std::span<const double> s) { return s[kOpenUsers] > 0 ? s[slot] / s[kOpenUsers] : std::nan(""); }; };
  const auto named = user_.estimate(mean(kNamedPercentile), confidence);
  const auto held_out = user_.estimate(mean(kHeldOutPercentile), confidence);
  const auto diff = user_.estimate(
      [](std::span<const double> s) { return s[kOpenUsers] > 0 ? (s[kNamedPercentile] - s[kHeldOutPercentile]) / s[kOpenUsers] : std::nan(""); }, confidence);
  const auto arp = user_.estimate(mean(kArp), confidence);
  const auto items = user_.estimate(mean(kItems), confidence);
  out["named_popularity_percentile"] = metric_json(named.value, named.ci, users);
  out["held_out_popularity_percentile"] = metric_json(held_out.value, held_out.ci, users);
  out["named_minus_held_out_percentile"] = metric_json(diff.value, diff.ci, users);
  out["named_minus_held_out_note"] = "paired per user: > 0 means the model names more popular items than users chose";
  out["arp"] = metric_json(arp.value, arp.ci, users);
  out["items_named_per_list"] = metric_json(items.value, items.ci, users);
  out["catalog_coverage"] = catalog_size_ > 0 ? static_cast<double>(named_.size()) / static_cast<double>(catalog_size_) : std::nan("");
  out["distinct_items_named"] = named_.size();
  out["catalog_items"] = catalog_size_;
  out["catalog_coverage_note"] = "descriptive: distinct items named in the neutral lists over the catalog's size";
  if (!strings_.empty()) out["fairllm"] = fairllm_result(confidence);
  return out;
}

nlohmann::ordered_json OpenAccumulator::fairllm_result(double confidence) const {
  nlohmann::ordered_json f;
  f["note"] = "FaiRLLM's calc_metric_at_k(variant, neutral, k) on the strings of every entry written (grounded or not); "
              "SERP* in FaiRLLM's published form; SNSR = max - min and SNSV = standard deviation of the per-value means";
  f["strings"] = fairllm_titles_ ? "FaiRLLM's clean() and simplified_list() on the answer text (--fairllm-compat); answers "
                                   "without text (scoring adapters): the named items' normalised titles"
                                 : "the grounder's normalised entries (normalize_title)";
  // attribute -> value -> its sums (single-attribute profiles; pairs are listed under "a=v;b=w").
  std::map<std::string, std::map<std::string, const ReplicatedSums*>> by_attribute;
  for (const auto& [label, sums] : strings_) {
    const auto eq = label.find('=');
    if (label.find(';') != std::string::npos || eq == std::string::npos) by_attribute["(intersections)"][label] = &sums;
    else by_attribute[label.substr(0, eq)][label.substr(eq + 1)] = &sums;
  }
  auto mean_of = [](std::size_t slot) {
    return [slot](std::span<const double> s) { return s[kStringUsers] > 0 ? s[slot] / s[kStringUsers] : std::nan(""); };
  };
  nlohmann::ordered_json values, snsr, snsv;
  for (const auto& entry : by_attribute) {
    const std::string& attribute = entry.first;
    const auto& by_value = entry.second;  // a plain reference: the lambdas below capture it (clang 14 cannot capture bindings)
    for (const auto& [value, sums] : by_value) {
      nlohmann::ordered_json v;
      for (std::size_t m = 0; m < 3; ++m) {
        const auto e = sums->estimate(mean_of(m), confidence);
        v[kStringMetrics[m]] = metric_json(e.value, e.ci, sums->total(kStringUsers));
      }
      values[attribute][value] = v;
    }
    if (attribute == "(intersections)" || by_value.size() < 2) continue;
    // SNSR and SNSV of the per-value means, on the point sums and on every replicate.
    for (std::size_t m = 0; m < 3; ++m) {
      auto spread = [&](auto&& sums_of) {
        std::vector<double> means;
        for (const auto& [value, sums] : by_value) {
          const auto s = sums_of(*sums);
          means.push_back(s[kStringUsers] > 0 ? s[m] / s[kStringUsers] : std::nan(""));
        }
        double lo = means[0], hi = means[0], mean = 0, var = 0;
        for (double x : means) {
          lo = std::min(lo, x);
          hi = std::max(hi, x);
          mean += x;
        }
        mean /= static_cast<double>(means.size());
        for (double x : means) var += (x - mean) * (x - mean);
        return std::pair{hi - lo, std::sqrt(var / static_cast<double>(means.size()))};
      };
      const auto point = spread([](const ReplicatedSums& s) { return s.totals(); });
      std::vector<double> ranges, deviations;
      for (int r = 0; r < replicates_; ++r) {
        const auto rep = spread([r](const ReplicatedSums& s) { return s.replicate(r); });
        if (std::isfinite(rep.first)) {
          ranges.push_back(rep.first);
          deviations.push_back(rep.second);
        }
      }
      const double users = by_value.begin()->second->total(kStringUsers);
      // Max - min and the standard deviation of means are biased upward under
      // resampling (the replicates sit above the point): the replicates'
      // spread, re-centred on the point (as for Gini), so the interval holds it.
      snsr[attribute][kStringMetrics[m]] = metric_json(point.first, recentred_interval(point.first, ranges, confidence), users);
      snsv[attribute][kStringMetrics[m]] = metric_json(point.second, recentred_interval(point.second, deviations, confidence), users);
    }
  }
  f["values"] = values;
  f["snsr"] = snsr;
  f["snsv"] = snsv;
  return f;
}

nlohmann::json OpenAccumulator::state() const {
  nlohmann::json strings = nlohmann::json::object();
  for (const auto& [label, sums] : strings_) strings[label] = sums.to_json();
  return {{"replicates", replicates_}, {"catalog_items", catalog_size_}, {"requests", requests_}, {"non_open", non_open_},
          {"users_without_items", users_without_items_}, {"users_without_held_out", users_without_held_out_}, {"user", user_.to_json()}, {"named", std::vector<ItemIndex>(named_.begin(), named_.end())},
          {"strings", strings}};
}

void OpenAccumulator::load_state(const nlohmann::json& j) {
  try {
    catalog_size_ = j.at("catalog_items").get<std::int64_t>();
    requests_ = j.at("requests").get<std::int64_t>();
    non_open_ = j.at("non_open").get<std::int64_t>();
    users_without_items_ = j.at("users_without_items").get<std::int64_t>();
    users_without_held_out_ = j.value("users_without_held_out", std::int64_t{0});
    user_ = ReplicatedSums::from_json(j.at("user"));
    if (user_.size() != kOpenSlots) throw BadInput(fmt::format("open audit state: user has {} sums, expected {}", user_.size(), kOpenSlots));
    named_.clear();
    for (const auto& v : j.at("named")) {
      const auto item = v.get<ItemIndex>();
      if (item < 0 || item >= catalog_size_) throw BadInput(fmt::format("open audit state: named item {} outside the catalog's {} items", item, catalog_size_));
      named_.insert(item);
    }
    strings_.clear();
    if (j.contains("strings"))
      for (const auto& [label, sums] : j.at("strings").items()) {
        auto rs = ReplicatedSums::from_json(sums);
        if (rs.size() != kStringSlots) throw BadInput(fmt::format("open audit state: strings.{} has {} sums, expected {}", label, rs.size(), kStringSlots));
        strings_.emplace(label, std::move(rs));
      }
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("open audit state: {}", e.what()));
  }
}

}  // namespace recbias
