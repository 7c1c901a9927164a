// Pieces several subcommands share: loading a dataset for adapters, building
// an adapter (with the response cache), and writing output files safely.
#pragma once

#include <memory>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "adapters/response_cache.h"
#include "adapters/recommender.h"
#include "datasets/dataset.h"
#include "datasets/workload.h"

namespace recbias::cli {

struct DataOptions {
  std::string path;             // --dataset
  std::string format = "auto";  // --format
};

struct AdapterOptions {
  std::string spec;             // --adapter
  std::string cache_dir;        // --cache-dir (default: $XDG_CACHE_HOME/recbias or ~/.cache/recbias)
  bool no_cache = false;        // --no-cache
  std::vector<std::string> mitigate;  // --mitigate, applied in order (the first wraps the adapter)
  std::string phrases;                // --phrases FILE (attributes in words; default: the built-in table)
  // Keys an openai adapter gets when its spec lacks them (--protocol
  // fairllm-*: FaiRLLM's prompt and max_tokens). Other adapters ignore them.
  std::map<std::string, std::string> openai_defaults;
};

void add_data_options(CLI::App& app, DataOptions& options, bool required);
void add_adapter_options(CLI::App& app, AdapterOptions& options);

struct LoadedData {
  Dataset dataset;
  Workload workload;
  AdapterContext context;
};

LoadedData load_data(const DataOptions& options);

// Builds the adapter; remote adapters (openai, exec) are wrapped in the
// response cache unless --no-cache; then each --mitigate wraps the result.
// `short_head_share` is --short-head (FA*IR's protected long tail);
// calibrate-position's prior=report.json is read here, not in the decorator.
// With a CallControl (dry run, budgets, batch files) every adapter is
// wrapped, also local ones and under --no-cache (then without a cache:
// every call counts).
std::unique_ptr<Recommender> build_adapter(const AdapterOptions& options, const AdapterContext& context,
                                           const std::vector<AttributeSet>& attributes = {}, double short_head_share = 0.8,
                                           const CallControl& control = {});

// Writes `content` to `path` through a temporary file and a rename. Refuses
// (BadInput) to replace an existing file unless `overwrite`.
void write_output_file(const std::string& path, const std::string& content, bool overwrite);

std::string default_cache_dir();

}  // namespace recbias::cli
