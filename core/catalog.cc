#include "core/catalog.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "core/errors.h"

namespace recbias {

ItemIndex Catalog::add(Item item) {
  auto index = static_cast<ItemIndex>(items_.size());
  auto [it, inserted] = by_id_.emplace(item.id, index);
  if (!inserted)
    throw BadInput(fmt::format("item id \"{}\" appears twice in the catalog; item ids must be unique", item.id));
  items_.push_back(std::move(item));
  return index;
}

const Item& Catalog::at(ItemIndex index) const {
  RECBIAS_CHECK(index >= 0 && static_cast<std::size_t>(index) < items_.size(),
                fmt::format("item index {} outside catalog of {}", index, items_.size()));
  return items_[static_cast<std::size_t>(index)];
}

std::optional<ItemIndex> Catalog::find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

void Catalog::set_popularity(const std::vector<double>& popularity) {
  RECBIAS_CHECK(popularity.size() == items_.size(), "popularity vector size != catalog size");
  for (std::size_t i = 0; i < items_.size(); ++i) items_[i].popularity = popularity[i];
}

std::vector<std::string> Catalog::category_names() const {
  std::set<std::string> names;
  for (const auto& item : items_) names.insert(item.categories.begin(), item.categories.end());
  return {names.begin(), names.end()};
}

std::size_t short_head_size(std::vector<double> popularity, double share) {
  std::sort(popularity.begin(), popularity.end(), std::greater<>());
  const double total = std::accumulate(popularity.begin(), popularity.end(), 0.0);
  if (total <= 0) return 0;
  double running = 0;
  for (std::size_t i = 0; i < popularity.size(); ++i) {
    running += popularity[i];
    if (running >= share * total) return i + 1;
  }
  return popularity.size();
}

std::vector<char> short_head_items(const Catalog& catalog, double share) {
  const auto& items = catalog.items();
  std::vector<double> popularity;
  popularity.reserve(items.size());
  for (const auto& item : items) popularity.push_back(item.popularity);
  const auto head = short_head_size(popularity, share);
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return popularity[a] > popularity[b]; });
  std::vector<char> in_head(items.size(), 0);
  for (std::size_t i = 0; i < head; ++i) in_head[order[i]] = 1;
  return in_head;
}

int release_year(const std::string& title) {
  const auto end = title.find_last_not_of(" \t");
  if (end == std::string::npos || end < 5 || title[end] != ')' || title[end - 5] != '(') return 0;
  int year = 0;
  for (std::size_t i = end - 4; i < end; ++i) {
    if (title[i] < '0' || title[i] > '9') return 0;
    year = year * 10 + (title[i] - '0');
  }
  return year >= 1800 && year <= 2100 ? year : 0;
}

int release_year(const Item& item) { return item.year != 0 ? item.year : release_year(item.title); }

std::string release_era(int year) { return fmt::format("{}s", year / 10 * 10); }

bool in_item_group(const Item& item, std::string_view attribute, std::string_view value) {
  if (attribute == "genre") return std::find(item.categories.begin(), item.categories.end(), value) != item.categories.end();
  if (attribute == "era") {
    const int year = release_year(item);
    return year != 0 && release_era(year) == value;
  }
  const auto it = item.attributes.find(std::string(attribute));
  return it != item.attributes.end() && std::find(it->second.begin(), it->second.end(), value) != it->second.end();
}

}  // namespace recbias
