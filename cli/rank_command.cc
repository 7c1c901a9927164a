// `recbias rank --adapter SPEC --dataset PATH --requests FILE.jsonl [-o OUT.jsonl]`
// `recbias adapters`
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/registry.h"
#include "adapters/request_codec.h"
#include "adapters/response_cache.h"
#include "mitigations/registry.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "core/text.h"
#include "datasets/line_reader.h"

namespace recbias::cli {
namespace {

struct RankOptions {
  DataOptions data;
  AdapterOptions adapter;
  std::string requests;  // JSON Lines of request objects
  std::string output;    // "" or "-" = stdout
  bool force = false;
};

void run_rank(const RankOptions& options) {
  const auto data = load_data(options.data);
  const Catalog& catalog = *data.context.catalog;
  auto recommender = build_adapter(options.adapter, data.context, data.dataset.attributes);  // a bad spec fails before any work
  std::vector<RankRequest> requests;
  {
    LineReader reader(options.requests, "rank requests (JSON Lines)");
    std::string line;
    while (reader.next(line)) {
      if (trim(line).empty()) continue;
      const auto where = fmt::format("{}:{}", reader.path(), reader.line_number());
      requests.push_back(decode_request(parse_json(line, where), catalog, where));
    }
    if (requests.empty()) throw BadInput(fmt::format("{}: no requests; expected one request object per line", options.requests));
  }
  const auto responses = recommender->rank(requests);
  std::string out;
  std::size_t failed = 0;
  for (std::size_t i = 0; i < responses.size(); ++i) {
    out += encode_response(responses[i], requests[i], catalog).dump() + "\n";
    failed += responses[i].error.has_value();
  }
  if (options.output.empty() || options.output == "-") std::cout << out;
  else write_output_file(options.output, out, options.force);
  std::string cache;
  if (auto* cached = dynamic_cast<CachedRecommender*>(recommender.get())) {
    const auto s = cached->stats();
    cache = fmt::format("; cache: {} hits, {} sent, {} duplicates", s.hits, s.misses, s.deduplicated);
  }
  std::cerr << fmt::format("recbias rank: {} requests, {} failed, adapter {}{}\n", responses.size(), failed,
                           recommender->id(), cache);
  if (failed == responses.size())
    throw BackendFailure(fmt::format("every request failed; first error: {}", *responses[0].error));
}

}  // namespace

void setup_rank(CLI::App& app) {
  auto options = std::make_shared<RankOptions>();
  auto* rank = app.add_subcommand("rank", "Run an adapter over a file of ranking requests (JSON Lines in, JSON Lines out)");
  add_adapter_options(*rank, options->adapter);
  add_data_options(*rank, options->data, true);
  rank->add_option("--requests", options->requests, "Request file, one JSON object per line (see README)")
      ->required()
      ->check(CLI::ExistingFile);
  rank->add_option("-o,--out,--output", options->output, "Output file (default: stdout; --output is the old spelling)");
  rank->add_flag("--force", options->force, "Replace an existing output file (default: refuse)");
  rank->callback([options] { run_rank(*options); });

  // Both listings print a registry table: name, description, then each key with its default.
  auto print_table = [](const auto& registry) {
    for (const auto& info : registry) {
      fmt::print("{}\n  {}\n", info.name, info.description);
      for (const auto& key : info.keys)
        fmt::print("    {:<20} {:<26} {}\n", key.name, key.default_value.empty() ? "" : "(default " + key.default_value + ")", key.help);
    }
  };
  app.add_subcommand("adapters", "List the adapters and the keys each accepts")->callback([print_table] { print_table(adapter_registry()); });
  app.add_subcommand("mitigations", "List the mitigations (--mitigate, --compare) and the keys each accepts")->callback([print_table] {
    print_table(mitigation_registry());
  });
}

}  // namespace recbias::cli
