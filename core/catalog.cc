#include "core/catalog.h"

#include <algorithm>
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

}  // namespace recbias
