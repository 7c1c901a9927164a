// Audit config files: `recbias audit --config audit.toml`. CLI11 reads the
// file through this formatter (toml++ underneath, reports/toml_reader.h), so
// every key is the flag of the same name (`users = 500`, `max-calls = 1000`;
// `max_calls` works too), flags given on the command line override the file,
// and the values go through the flags' own checks. `--print-config` writes
// the resolved configuration back as TOML with to_config().
#pragma once

#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace recbias::cli {

class TomlConfig final : public CLI::Config {
 public:
  // CLI11 reads config files for the root app only: `root` holds the
  // `config_flag` option (reached from the subcommand by fallthrough) and
  // every key read is routed to `target`, the subcommand whose options the
  // file sets.
  TomlConfig(const CLI::App* root, const CLI::App* target, std::string config_flag)
      : root_(root), app_(target), config_flag_(std::move(config_flag)) {}

  std::string to_config(const CLI::App* app, bool default_also, bool write_description, std::string prefix) const override;
  // BadInput "<file>:<line>: ..." for TOML that is not TOML, a table, an
  // unknown key, or a value that is not a string, number, boolean or array.
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

  // " (audit.toml:7)" for an error message about a flag the file set, else "".
  std::string where_set(const std::string& message) const;

 private:
  std::string path() const;

  const CLI::App* root_;
  const CLI::App* app_;
  std::string config_flag_;
  mutable std::map<std::string, int> lines_;  // flag name -> line in the file
};

// The resolved options of `app` (every option with a value, from the
// command line, the config file or its default) as a JSON object, for the
// report's provenance. Skips help, --config and --print-config.
nlohmann::ordered_json resolved_options(const CLI::App& app);

}  // namespace recbias::cli
