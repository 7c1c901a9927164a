// A dataset as read from disk, before any split: the catalog, the users with
// their attributes, and every interaction. Loaders (movielens.h,
// jsonl_dataset.h) produce it; split.h turns it into a Workload.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/catalog.h"

namespace recbias {

// A sensitive attribute and the values it may take, in a fixed order (the
// order reports and TorchScript side-cars use).
struct AttributeSet {
  std::string name;                 // "gender"
  std::vector<std::string> values;  // {"F", "M"}
};

struct UserRecord {
  std::string id;                                 // external user id
  std::map<std::string, std::string> attributes;  // absent key = unknown
};

struct Interaction {
  std::int32_t user = 0;      // index into Dataset::users
  ItemIndex item = 0;         // index into Dataset::catalog
  double rating = 1;          // explicit rating, or 1 for implicit feedback
  std::int64_t timestamp = 0; // Unix seconds (or any monotone clock); orders the split
};

struct Dataset {
  std::string name;                // "ml-100k", or the folder name
  std::string format;              // loader name: "movielens-100k", "movielens-1m", "jsonl"
  std::string path;                // the folder it was read from
  std::vector<std::string> files;  // files read, in reading order
  Catalog catalog;                 // popularity is 0 until split_leave_one_out() sets it
  std::vector<UserRecord> users;
  std::vector<Interaction> interactions;
  std::vector<AttributeSet> attributes;  // the dataset's real sensitive attributes and their domains
};

}  // namespace recbias
