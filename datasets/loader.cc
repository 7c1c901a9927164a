#include "datasets/loader.h"

#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"
#include "datasets/jsonl_dataset.h"
#include "datasets/movielens.h"

namespace recbias {

namespace fs = std::filesystem;

const std::vector<DatasetFormat>& dataset_formats() {
  // Built-ins registered explicitly in one place (no static self-registration).
  static const std::vector<DatasetFormat> formats = {
      {"movielens-100k", "MovieLens 100K folder (u.data, u.item, u.user, u.genre)", "u.data", load_movielens_100k},
      {"movielens-1m", "MovieLens 1M folder (ratings.dat, movies.dat, users.dat)", "movies.dat", load_movielens_1m},
      {"jsonl", "generic JSON Lines folder (items.jsonl, users.jsonl, interactions.jsonl)", "items.jsonl",
       load_jsonl_dataset},
  };
  return formats;
}

std::string dataset_format_names() {
  std::vector<std::string> names;
  for (const auto& f : dataset_formats()) names.push_back(f.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

Dataset load_dataset(const std::string& folder, const std::string& format) {
  std::error_code ec;
  if (!fs::exists(folder, ec))
    throw BadInput(fmt::format("dataset folder {} does not exist; expected a folder in one of the formats: {}",
                               folder, dataset_format_names()));
  if (!fs::is_directory(folder, ec))
    throw BadInput(fmt::format("dataset path {} is a file; expected a folder in one of the formats: {}", folder,
                               dataset_format_names()));
  if (format == "auto") {
    std::vector<std::string> markers;
    for (const auto& f : dataset_formats()) {
      if (fs::exists(fs::path(folder) / f.marker)) return f.load(folder);
      markers.push_back(fmt::format("{} ({})", f.marker, f.name));
    }
    throw BadInput(fmt::format("cannot tell the format of dataset folder {}: found none of {}; pass --format",
                               folder, fmt::join(markers, ", ")));
  }
  for (const auto& f : dataset_formats())
    if (f.name == format) return f.load(folder);
  throw BadInput(fmt::format("unknown dataset format \"{}\"; known formats: auto, {}", format, dataset_format_names()));
}

}  // namespace recbias
