#include "cli/common.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "adapters/adapter_spec.h"
#include "adapters/phrases.h"
#include "adapters/registry.h"
#include "adapters/response_cache.h"
#include "core/errors.h"
#include "datasets/loader.h"
#include "mitigations/registry.h"
#include "reports/report_io.h"

namespace recbias::cli {

namespace fs = std::filesystem;

void add_data_options(CLI::App& app, DataOptions& options, bool required) {
  auto* opt = app.add_option("--dataset", options.path,
                             "Dataset folder (MovieLens 100K/1M or JSON Lines); gives titles, popularity and training data");
  if (required) opt->required();
  app.add_option("--format", options.format,
                 fmt::format("Dataset format: auto, {}", dataset_format_names()));
}

void add_adapter_options(CLI::App& app, AdapterOptions& options) {
  app.add_option("--adapter", options.spec,
                 fmt::format("Adapter spec NAME[:key=value,...] or a JSON config file (@file or file.json); adapters: {}",
                             adapter_names()))
      ->required();
  app.add_option("--cache-dir", options.cache_dir,
                 "Response cache folder for remote adapters (default: $XDG_CACHE_HOME/recbias or ~/.cache/recbias)");
  app.add_flag("--no-cache", options.no_cache, "Do not read or write the response cache (default: cache remote adapters)");
  app.add_option("--phrases", options.phrases,
                 "How stated attributes read in prompts: a JSON file {\"attribute\": {\"value\": \"phrase\"}} over the built-in table")
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  app.add_option("--mitigate", options.mitigate,
                 fmt::format("Wrap the model in a mitigation, NAME:key=value,... (repeatable, applied in order); mitigations: {}",
                             mitigation_names()));
}

LoadedData load_data(const DataOptions& options) {
  LoadedData data;
  if (options.path.empty()) {  // no dataset (--protocol fairllm-*): an empty catalog, nothing grounds
    data.dataset.name = "none";
    data.dataset.format = "none";
    data.workload.dataset_name = "none";
    data.workload.catalog = std::make_shared<const Catalog>();
    data.context = {data.workload.catalog, std::make_shared<std::vector<std::vector<ItemIndex>>>(), nullptr};
    return data;
  }
  data.dataset = load_dataset(options.path, options.format);
  data.workload = split_leave_one_out(data.dataset);
  auto training = std::make_shared<std::vector<std::vector<ItemIndex>>>();
  for (const auto& user : data.workload.users) training->push_back(user.history);
  data.context = {data.workload.catalog, std::move(training), nullptr};
  return data;
}

std::string default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return (fs::path(xdg) / "recbias").string();
  if (const char* home = std::getenv("HOME"); home && *home) return (fs::path(home) / ".cache" / "recbias").string();
  return ".recbias-cache";
}

std::unique_ptr<Recommender> build_adapter(const AdapterOptions& options, const AdapterContext& context,
                                           const std::vector<AttributeSet>& attributes, double short_head_share,
                                           const CallControl& control) {
  AdapterContext with_phrases = context;
  with_phrases.phrases = options.phrases.empty() ? PhraseTable::builtin() : PhraseTable::load(options.phrases);
  auto adapter = AdapterSpec::parse(options.spec);
  if (adapter.name() == "openai" && !options.openai_defaults.empty()) {
    auto values = adapter.values();
    for (const auto& [key, value] : options.openai_defaults) values.emplace(key, value);  // what the spec sets wins
    adapter = AdapterSpec(adapter.name(), std::move(values));
  }
  auto recommender = make_recommender(adapter, with_phrases);
  std::shared_ptr<const ResponseCache> cache;
  if (!options.no_cache && recommender->capabilities().remote)
    cache = std::make_shared<const ResponseCache>(options.cache_dir.empty() ? default_cache_dir() : options.cache_dir);
  if (cache || control.meter || control.export_to || control.import_from)
    recommender = std::make_unique<CachedRecommender>(std::move(recommender), std::move(cache), context.catalog, control);
  MitigationContext mitigation{context.catalog, attributes, short_head_share, [](const std::string& path, const std::string& from) {
                                  auto prior = position_prior_from_report(read_report_file(path), path, from);
                                  return MitigationContext::Prior{std::move(prior.values), std::move(prior.from)};
                                }};
  for (const auto& spec : options.mitigate) recommender = make_mitigation(AdapterSpec::parse(spec), std::move(recommender), mitigation);
  return recommender;
}

void write_output_file(const std::string& path, const std::string& content, bool overwrite) {
  if (!overwrite && fs::exists(path))
    throw BadInput(fmt::format("{} already exists; refusing to overwrite it (pass --force to replace it)", path));
  const auto parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  const auto tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw BadInput(fmt::format("cannot write {}", path));
    out << content;
    if (!out.flush()) throw BadInput(fmt::format("cannot write {} (disk full?)", path));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw BadInput(fmt::format("cannot move {} into place", path));
  }
}

}  // namespace recbias::cli
