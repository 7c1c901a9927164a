// The item catalog: every item a dataset knows, addressed by a dense
// ItemIndex. Immutable once built; share it as std::shared_ptr<const Catalog>.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace recbias {

// Dense 0-based index of an item in its Catalog. (The TorchScript contract
// shifts it by one so that 0 can mean padding; that mapping lives in the
// TorchScript adapter, nowhere else.)
using ItemIndex = std::int32_t;

struct Item {
  std::string id;                        // external id as in the dataset ("242")
  std::string title;                     // UTF-8 display title ("Kolya (1996)")
  std::vector<std::string> categories;   // genres/tags, UTF-8, in dataset order
  double popularity = 0;                 // training interactions of this item (set by the split)
  // Item groups beyond genre and era (items.jsonl "attributes", e.g.
  // {"provider": ["Netflix"], "language": ["fr"]}): attribute -> values.
  std::map<std::string, std::vector<std::string>> attributes = {};
  int year = 0;  // release year when the dataset gives one (items.jsonl "year"); 0: read it from the title
};

class Catalog {
 public:
  Catalog() = default;

  // Appends an item and returns its index. Throws BadInput when the id is
  // already present (the message names the id).
  ItemIndex add(Item item);

  std::size_t size() const { return items_.size(); }
  const Item& at(ItemIndex index) const;  // throws InternalError when out of range
  const std::vector<Item>& items() const { return items_; }

  // Index of an external id, or nullopt.
  std::optional<ItemIndex> find(std::string_view id) const;

  // Sets item popularity (one value per item, same order). Throws
  // InternalError on a size mismatch.
  void set_popularity(const std::vector<double>& popularity);

  // Sorted union of every item's categories.
  std::vector<std::string> category_names() const;

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, ItemIndex> by_id_;
};

// The short head: the smallest number of most popular items whose total
// popularity reaches `share` of all (0 when there is none). The one
// definition the popularity audit, the FA*IR and calibrated-popularity
// mitigations and the dataset description use.
std::size_t short_head_size(std::vector<double> popularity, double share = 0.8);

// Per catalog item, 1 when it is in the short head of `share`: the
// short_head_size most popular items, ties broken by catalog order.
std::vector<char> short_head_items(const Catalog& catalog, double share);

// Item groups for item-side fairness, the one definition the exposure audit
// and FA*IR's group=ATTR:VALUE use: "genre" (an item's categories; an item
// in several genres is in each), "era" (the decade of its release year:
// Item::year, else the year that ends its title, "Kolya (1996)" ->
// "1990s"), and every attribute of Item::attributes (an item with several
// values is in each).
int release_year(const std::string& title);  // 1996, or 0 when the title ends in no "(YYYY)" in 1800-2100
int release_year(const Item& item);          // Item::year when set, else release_year(title)
std::string release_era(int year);           // 1996 -> "1990s"
bool in_item_group(const Item& item, std::string_view attribute, std::string_view value);

}  // namespace recbias
