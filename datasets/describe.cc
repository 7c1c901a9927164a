#include "datasets/describe.h"

#include <algorithm>
#include <limits>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "core/stats.h"

namespace recbias {
namespace {

nlohmann::ordered_json distribution(std::vector<double> counts) {
  if (counts.empty()) return {{"min", 0}, {"median", 0}, {"mean", 0}, {"max", 0}};
  const double sum = std::accumulate(counts.begin(), counts.end(), 0.0);
  const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
  return {{"min", *lo}, {"median", percentile(counts, 0.5)}, {"mean", sum / static_cast<double>(counts.size())}, {"max", *hi}};
}

}  // namespace

double gini(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  double weighted = 0, total = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    weighted += (2.0 * static_cast<double>(i + 1) - n - 1) * values[i];
    total += values[i];
  }
  return total > 0 ? weighted / (n * total) : 0;
}

nlohmann::ordered_json describe_dataset(const Dataset& ds) {
  const std::size_t n_users = ds.users.size(), n_items = ds.catalog.size(), n_rows = ds.interactions.size();
  std::vector<double> per_user(n_users, 0), per_item(n_items, 0);
  std::map<double, std::int64_t> ratings;
  std::int64_t first = std::numeric_limits<std::int64_t>::max(), last = std::numeric_limits<std::int64_t>::min();
  for (const auto& row : ds.interactions) {
    per_user[static_cast<std::size_t>(row.user)] += 1;
    per_item[static_cast<std::size_t>(row.item)] += 1;
    ratings[row.rating] += 1;
    first = std::min(first, row.timestamp);
    last = std::max(last, row.timestamp);
  }
  const auto head = short_head_size(per_item, 0.8);
  nlohmann::ordered_json out;
  out["dataset"] = ds.name;
  out["format"] = ds.format;
  out["path"] = ds.path;
  out["users"] = n_users;
  out["items"] = n_items;
  out["interactions"] = n_rows;
  out["density"] = n_users && n_items ? static_cast<double>(n_rows) / (static_cast<double>(n_users) * static_cast<double>(n_items)) : 0.0;
  out["interactions_per_user"] = distribution(per_user);
  out["interactions_per_item"] = distribution(per_item);
  out["items_without_interactions"] = std::count(per_item.begin(), per_item.end(), 0.0);
  out["popularity"] = {
      {"gini", gini(per_item)},
      {"short_head_items", head},
      {"short_head_item_share", n_items ? static_cast<double>(head) / static_cast<double>(n_items) : 0.0},
      {"short_head_interaction_share", 0.8},
  };
  nlohmann::ordered_json rating_counts = nlohmann::ordered_json::object();
  for (const auto& [rating, count] : ratings) rating_counts[fmt::format("{}", rating)] = count;
  out["ratings"] = rating_counts;
  out["timestamps"] = n_rows ? nlohmann::ordered_json{{"first", first}, {"last", last}} : nlohmann::ordered_json::object();
  nlohmann::ordered_json attributes = nlohmann::ordered_json::object();
  for (const auto& set : ds.attributes) {
    nlohmann::ordered_json counts = nlohmann::ordered_json::object();
    for (const auto& value : set.values) counts[value] = 0;
    std::int64_t missing = 0;
    for (const auto& user : ds.users) {
      auto it = user.attributes.find(set.name);
      if (it == user.attributes.end()) ++missing;
      else counts[it->second] = counts.value(it->second, 0) + 1;
    }
    if (missing) counts["(not stated)"] = missing;
    attributes[set.name] = counts;
  }
  out["attributes"] = attributes;
  return out;
}

}  // namespace recbias
