// One registry of dataset formats: name -> detector and reader. The CLI's
// --help, its error messages and the reports all read this table.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace recbias {

struct DatasetFormat {
  std::string name;         // "movielens-100k"
  std::string description;  // one line for --help
  std::string marker;       // file whose presence identifies the format ("u.data")
  std::function<Dataset(const std::string& folder)> load;
};

// The registered formats, in detection order.
const std::vector<DatasetFormat>& dataset_formats();

// Names of the registered formats, comma-separated (for messages and --help).
std::string dataset_format_names();

// Loads the dataset in `folder`. format "auto" picks the first format whose
// marker file exists. Throws BadInput when the folder does not exist, when no
// format matches (naming the marker files looked for) or for an unknown
// format name (listing the known ones).
Dataset load_dataset(const std::string& folder, const std::string& format = "auto");

}  // namespace recbias
