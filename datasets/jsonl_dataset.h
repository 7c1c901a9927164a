// The generic dataset format, for users who bring their own data.
//
// A folder with three JSON Lines files (UTF-8, one JSON object per line,
// blank lines ignored):
//
//   items.jsonl         {"id": "i1", "title": "Heat (1995)", "categories": ["Action", "Crime"]}
//                       id: string (required, unique); title: string; categories: array of strings;
//                       optional: year (integer release year, else read from the title's "(YYYY)"),
//                       attributes ({"provider": "Netflix", "language": ["fr", "en"]}: item groups for
//                       the exposure audit and fair:group=ATTR:VALUE; not "genre" or "era")
//   users.jsonl         {"id": "u1", "attributes": {"gender": "F", "age": "25-34"}}
//                       id: string (required, unique); attributes: object of string values
//   interactions.jsonl  {"user": "u1", "item": "i1", "timestamp": 1700000000, "rating": 4}
//                       user, item: ids from the files above (required);
//                       timestamp: integer (required; orders the leave-one-out split);
//                       rating: number (optional, default 1)
//
// An attribute's domain is the sorted set of values the users state.
#pragma once

#include <string>

#include "datasets/dataset.h"

namespace recbias {

// Reads the folder. Each malformed line throws BadInput naming file:line,
// the field, the value found and what was expected.
Dataset load_jsonl_dataset(const std::string& folder);

// Writes `dataset` in this format into `folder` (created if missing; existing
// files are not overwritten: throws BadInput instead).
void write_jsonl_dataset(const Dataset& dataset, const std::string& folder);

// The folder's last path component ("ml-100k" for "data/ml-100k/").
std::string folder_name(const std::string& folder);

}  // namespace recbias
