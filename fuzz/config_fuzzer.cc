// The audit config reader (`recbias audit --config FILE`, cli/toml_config.h):
// arbitrary text as the config file of a subcommand with options of every
// kind the audit has (integers with a range, floats, strings, repeatable
// strings, flags, an enum by name), parsed the way the CLI parses it, then
// printed with --print-config's writer and read back. A target may end in
// recbias::Error or CLI11's ParseError (both exit 2 with a message);
// anything else is a bug. Invariant: what the writer prints reads back to
// the same text.
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/toml_config.h"
#include "core/errors.h"
#include "fuzz/fuzz_support.h"

using namespace recbias;

namespace {

struct Options {
  std::string adapter, design = "cyclic";
  int users = 0;
  double confidence = 0.95;
  std::vector<std::string> compare;
  bool force = false;
  std::optional<std::int64_t> max_calls;
};

// Parses `recbias audit --config PATH [--print-config]`; returns the printed configuration.
std::string parse(const std::string& path) {
  CLI::App app{"fuzz"};
  app.option_defaults()->always_capture_default();
  auto* audit = app.add_subcommand("audit");
  Options o;
  audit->add_option("--adapter", o.adapter);
  audit->add_option("--users", o.users)->check(CLI::Range(0, 1000000));
  audit->add_option("--confidence", o.confidence)->check(CLI::Range(0.5, 0.9999));
  audit->add_option("--compare", o.compare);
  audit->add_option("--design", o.design)->check(CLI::IsMember({"cyclic", "latin", "random"}));
  audit->add_option("--max-calls", o.max_calls);
  audit->add_flag("--force", o.force);
  auto formatter = std::make_shared<cli::TomlConfig>(&app, audit, "--config");
  app.set_config("--config");
  app.config_formatter(formatter);
  audit->config_formatter(formatter);
  audit->fallthrough();
  std::vector<std::string> args = {"--config", path, "audit"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  return audit->config_to_str(true, false);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto dir = fuzz::scratch_folder();
  const auto path = (dir / "audit.toml").string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::string printed;
  try {
    printed = parse(path);
  } catch (const Error&) {
    return 0;
  } catch (const CLI::ParseError&) {
    return 0;
  }
  // The resolved configuration reads back to itself.
  const auto again_path = (dir / "resolved.toml").string();
  {
    std::ofstream out(again_path, std::ios::binary | std::ios::trunc);
    out << printed;
  }
  std::string again;
  try {
    again = parse(again_path);
  } catch (const std::exception&) {
    std::abort();
  }
  if (again != printed) std::abort();
  return 0;
}
