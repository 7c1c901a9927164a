// `recbias datasets describe PATH [--format F] [--json]`
// `recbias datasets formats`
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/text.h"
#include "datasets/describe.h"
#include "datasets/loader.h"

namespace recbias::cli {
namespace {

struct DescribeOptions {
  std::string path;            // dataset folder
  std::string format = "auto"; // loader name or auto-detect
  bool json = false;           // machine-readable output
};

void print_text(const nlohmann::ordered_json& d) {
  fmt::print("dataset       {} ({}) at {}\n", d["dataset"].get<std::string>(), d["format"].get<std::string>(),
             d["path"].get<std::string>());
  fmt::print("users         {}\n", d["users"].get<std::int64_t>());
  fmt::print("items         {}\n", d["items"].get<std::int64_t>());
  fmt::print("interactions  {}\n", d["interactions"].get<std::int64_t>());
  fmt::print("density       {:.4f}\n", d["density"].get<double>());
  const auto& u = d["interactions_per_user"];
  fmt::print("per user      min {} / median {} / mean {:.1f} / max {}\n", u["min"].get<double>(),
             u["median"].get<double>(), u["mean"].get<double>(), u["max"].get<double>());
  const auto& i = d["interactions_per_item"];
  fmt::print("per item      min {} / median {} / mean {:.1f} / max {}\n", i["min"].get<double>(),
             i["median"].get<double>(), i["mean"].get<double>(), i["max"].get<double>());
  const auto& p = d["popularity"];
  fmt::print("popularity    Gini {:.3f}; short head: {} items ({:.1f}% of the catalog) make up 80% of interactions\n",
             p["gini"].get<double>(), p["short_head_items"].get<std::int64_t>(), 100 * p["short_head_item_share"].get<double>());
  for (const auto& [name, counts] : d["attributes"].items()) {
    std::string line;
    for (const auto& [value, count] : counts.items())
      line += fmt::format("{}{} {}", line.empty() ? "" : ", ", value, count.get<std::int64_t>());
    fmt::print("{:<13} {}\n", name, line);
  }
}

}  // namespace

void setup_datasets(CLI::App& app) {
  auto* datasets = app.add_subcommand("datasets", "Inspect datasets");
  datasets->require_subcommand(1);

  auto options = std::make_shared<DescribeOptions>();
  auto* describe = datasets->add_subcommand(
      "describe", "Print users, items, interactions, density, popularity concentration and attribute distributions");
  describe->add_option("path", options->path, "Dataset folder (MovieLens 100K/1M or JSON Lines)")->required();
  describe->add_option("--format", options->format,
                       fmt::format("Dataset format: auto, {} (default: auto, detected from the files)",
                                   dataset_format_names()));
  describe->add_flag("--json", options->json, "Print JSON instead of text (default: text)");
  describe->callback([options] {
    const auto dataset = load_dataset(options->path, options->format);
    const auto summary = describe_dataset(dataset);
    if (options->json) std::cout << summary.dump(2) << '\n';
    else print_text(summary);
  });

  auto* formats = datasets->add_subcommand("formats", "List the dataset formats recbias reads");
  formats->callback([] {
    for (const auto& f : dataset_formats()) fmt::print("{:<16} {}  (detected by {})\n", f.name, f.description, f.marker);
  });
}

}  // namespace recbias::cli
