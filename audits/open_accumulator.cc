#include "audits/open_accumulator.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "core/errors.h"

namespace recbias {

namespace {

enum Slot : std::size_t { kNamedPercentile, kHeldOutPercentile, kArp, kItems, kUsers, kSlots };

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

OpenAccumulator::OpenAccumulator(std::shared_ptr<const Catalog> catalog, int replicates)
    : catalog_(std::move(catalog)), replicates_(replicates), user_(kSlots, replicates) {
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
  const double n = static_cast<double>(r.ranking.size());
  const double values[kSlots] = {pct / n, percentile_[static_cast<std::size_t>(o.base->positive)], pop / n, n, 1.0};
  user_.add(*o.weights, values);
}

void OpenAccumulator::merge(const OpenAccumulator& other) {
  if (catalog_size_ == 0) catalog_size_ = other.catalog_size_;
  if (other.catalog_size_ != 0 && other.catalog_size_ != catalog_size_)
    throw BadInput(fmt::format("cannot merge open audits over catalogs of {} and {} items", catalog_size_, other.catalog_size_));
  requests_ += other.requests_;
  non_open_ += other.non_open_;
  users_without_items_ += other.users_without_items_;
  user_.merge(other.user_);
  named_.insert(other.named_.begin(), other.named_.end());
}

bool OpenAccumulator::operator==(const OpenAccumulator& other) const {
  return catalog_size_ == other.catalog_size_ && requests_ == other.requests_ && non_open_ == other.non_open_ &&
         users_without_items_ == other.users_without_items_ && user_ == other.user_ && named_ == other.named_;
}

nlohmann::ordered_json OpenAccumulator::result(double confidence) const {
  nlohmann::ordered_json out;
  out["requests"] = requests_;
  if (non_open_ > 0) {
    out["note"] = "the open audit reads candidate-free requests (--probe open); these requests showed candidates";
    return out;
  }
  const auto totals = user_.totals();
  const double users = totals[kUsers];
  out["users"] = users;
  out["users_without_items"] = users_without_items_;
  auto mean = [](std::size_t slot) { return [slot](std::span<const double> s) { return s[kUsers] > 0 ? s[slot] / s[kUsers] : std::nan(""); }; };
  const auto named = user_.estimate(mean(kNamedPercentile), confidence);
  const auto held_out = user_.estimate(mean(kHeldOutPercentile), confidence);
  const auto diff = user_.estimate(
      [](std::span<const double> s) { return s[kUsers] > 0 ? (s[kNamedPercentile] - s[kHeldOutPercentile]) / s[kUsers] : std::nan(""); }, confidence);
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
  return out;
}

nlohmann::json OpenAccumulator::state() const {
  return {{"replicates", replicates_}, {"catalog_items", catalog_size_}, {"requests", requests_}, {"non_open", non_open_},
          {"users_without_items", users_without_items_}, {"user", user_.to_json()}, {"named", std::vector<ItemIndex>(named_.begin(), named_.end())}};
}

void OpenAccumulator::load_state(const nlohmann::json& j) {
  try {
    catalog_size_ = j.at("catalog_items").get<std::int64_t>();
    requests_ = j.at("requests").get<std::int64_t>();
    non_open_ = j.at("non_open").get<std::int64_t>();
    users_without_items_ = j.at("users_without_items").get<std::int64_t>();
    user_ = ReplicatedSums::from_json(j.at("user"));
    if (user_.size() != kSlots) throw BadInput(fmt::format("open audit state: user has {} sums, expected {}", user_.size(), kSlots));
    named_.clear();
    for (const auto& v : j.at("named")) {
      const auto item = v.get<ItemIndex>();
      if (item < 0 || item >= catalog_size_) throw BadInput(fmt::format("open audit state: named item {} outside the catalog's {} items", item, catalog_size_));
      named_.insert(item);
    }
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("open audit state: {}", e.what()));
  }
}

}  // namespace recbias
