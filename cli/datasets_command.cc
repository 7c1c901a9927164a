// `recbias datasets describe PATH [--format F] [--json]`
// `recbias datasets formats`
// `recbias datasets synth --out DIR [--users N --items N --genres N --zipf A --attribute-effect E --seed S]`
// `recbias datasets split PATH --out FILE` (the leave-one-out training view, for training models)
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/text.h"
#include "cli/common.h"
#include "datasets/describe.h"
#include "datasets/jsonl_dataset.h"
#include "datasets/loader.h"
#include "datasets/synthetic.h"
#include "datasets/workload.h"

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

struct SplitOptions {
  std::string path;
  std::string format = "auto";
  std::string out;
  bool force = false;
};

// The leave-one-out split exactly as the audits see it: what a model may be
// trained on (each user's training items, oldest first, and training-only
// popularity) and the held-out item it is tested on. Training scripts read
// this instead of re-implementing the split.
nlohmann::ordered_json split_json(const Workload& w) {
  using nlohmann::ordered_json;
  ordered_json items = ordered_json::array();
  for (const auto& item : w.catalog->items())
    items.push_back({{"id", item.id}, {"title", item.title}, {"categories", item.categories}, {"popularity", item.popularity}});
  ordered_json attributes = ordered_json::array();
  for (const auto& a : w.attributes) attributes.push_back({{"name", a.name}, {"values", a.values}});
  ordered_json users = ordered_json::array();
  for (std::size_t u = 0; u < w.users.size(); ++u) {
    const auto& user = w.users[u];
    ordered_json train = ordered_json::array();
    for (ItemIndex i : user.history) train.push_back(w.catalog->at(i).id);
    users.push_back({{"id", user.id},
                     {"attributes", user.attributes},
                     {"train", std::move(train)},
                     {"held_out", w.held_out[u] ? ordered_json(w.catalog->at(*w.held_out[u]).id) : ordered_json(nullptr)}});
  }
  return {{"format", "recbias.split/1"},
          {"dataset", w.dataset_name},
          {"training_interactions", w.training_interactions},
          {"attributes", std::move(attributes)},
          {"items", std::move(items)},
          {"users", std::move(users)}};
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

  auto synth = std::make_shared<SyntheticOptions>();
  auto synth_out = std::make_shared<std::string>();
  auto* synth_cmd = datasets->add_subcommand(
      "synth", "Write a synthetic dataset (JSON Lines) with Zipf popularity, genres and attribute-conditioned tastes");
  synth_cmd->add_option("-o,--out", *synth_out, "Folder to write items.jsonl, users.jsonl, interactions.jsonl into")->required();
  synth_cmd->add_option("--users", synth->users, "Users")->check(CLI::Range(1, 10'000'000));
  synth_cmd->add_option("--items", synth->items, "Items")->check(CLI::Range(1, 10'000'000));
  synth_cmd->add_option("--genres", synth->genres, "Genres")->check(CLI::Range(1, 1000));
  synth_cmd->add_option("--zipf", synth->zipf_exponent, "Popularity exponent of the item weights")
      ->check(CLI::Range(0.0, 10.0));
  synth_cmd->add_option("--attribute-effect", synth->attribute_effect,
                        "Log multiplier of the genres each gender and age band favours");
  synth_cmd->add_option("--min-interactions", synth->min_interactions, "Interactions every user has at least")
      ->check(CLI::Range(2, 1'000'000));
  synth_cmd->add_option("--mean-extra", synth->mean_extra, "Poisson mean of interactions beyond the minimum")
      ->check(CLI::Range(0.0, 1e6));
  synth_cmd->add_option("--seed", synth->seed, "Seed; the dataset is a pure function of the options");
  synth_cmd->callback([synth, synth_out] {
    const auto dataset = make_synthetic_dataset(*synth);
    write_jsonl_dataset(dataset, *synth_out);
    fmt::print("wrote {} users, {} items, {} interactions to {}\n", dataset.users.size(), dataset.catalog.size(),
               dataset.interactions.size(), *synth_out);
  });

  auto split = std::make_shared<SplitOptions>();
  auto* split_cmd = datasets->add_subcommand(
      "split", "Write the leave-one-out split the audits use (training items per user, held-out item) as JSON, for training models");
  split_cmd->add_option("path", split->path, "Dataset folder")->required();
  split_cmd->add_option("--format", split->format, fmt::format("Dataset format: auto, {}", dataset_format_names()));
  split_cmd->add_option("-o,--out", split->out, "JSON file to write")->required();
  split_cmd->add_flag("--force", split->force, "Replace an existing file (default: refuse)");
  split_cmd->callback([split] {
    const auto workload = split_leave_one_out(load_dataset(split->path, split->format));
    write_output_file(split->out, split_json(workload).dump() + "\n", split->force);
    fmt::print("wrote the split of {} users ({} training interactions) to {}\n", workload.users.size(),
               workload.training_interactions, split->out);
  });

  auto* formats = datasets->add_subcommand("formats", "List the dataset formats recbias reads");
  formats->callback([] {
    for (const auto& f : dataset_formats()) fmt::print("{:<16} {}  (detected by {})\n", f.name, f.description, f.marker);
  });
}

}  // namespace recbias::cli
