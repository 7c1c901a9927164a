// The `recbias` executable. The only place that catches errors and chooses an
// exit code (see core/errors.h and README.md, "Exit codes").
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/build_info.h"
#include "cli/commands.h"
#include "cli/toml_config.h"
#include "cli/torch_part_loader.h"
#include "core/errors.h"

namespace {

std::string subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  return fmt::format("{}", fmt::join(names, ", "));
}

// The deepest subcommand that was selected, for "known subcommands" hints.
const CLI::App& deepest_selected(const CLI::App& app) {
  for (const auto* sub : app.get_subcommands())
    if (sub->parsed()) return deepest_selected(*sub);
  return app;
}

// Repeatable options capture "[]" as their default: show nothing instead.
void hide_empty_defaults(CLI::App& app) {
  for (auto* option : app.get_options())
    if (option->get_default_str() == "[]") option->default_str("");
  for (auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) hide_empty_defaults(*sub);
}

}  // namespace

int main(int argc, char** argv) {
  recbias::cli::install_torch_part_loader();  // the `torchscript` adapter and the mitigations, loaded on first use
  CLI::App app{"recbias: audit LLM-based recommenders for position, popularity and fairness bias, and mitigate it"};
  app.set_version_flag("--version", recbias::cli::kVersion);
  app.require_subcommand(1);
  // Every option bound to a library field shows that field's default in --help
  // (CLI11 captures it when the option is added; subcommands inherit this).
  app.option_defaults()->always_capture_default();
  recbias::cli::setup_datasets(app);
  recbias::cli::setup_rank(app);
  recbias::cli::setup_audit(app);
  recbias::cli::setup_report(app);
  recbias::cli::setup_serve(app);
  hide_empty_defaults(app);

  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      const auto& where = deepest_selected(app);
      std::string hint;
      if (dynamic_cast<const CLI::ExtrasError*>(&e) || dynamic_cast<const CLI::RequiredError*>(&e)) {
        const auto known = subcommand_names(where);
        if (!known.empty()) hint = fmt::format("; known subcommands of '{}': {}", where.get_name(), known);
      }
      // A value from an audit config file: say where it was set.
      if (const auto* toml = dynamic_cast<const recbias::cli::TomlConfig*>(app.get_config_formatter().get())) hint += toml->where_set(e.what());
      std::cerr << fmt::format("recbias: error: {}{}\nRun '{} --help' for usage.\n", e.what(), hint,
                               where.get_name().empty() ? "recbias" : "recbias ... " + where.get_name());
      return static_cast<int>(recbias::ExitCode::kBadInput);
    }
  } catch (const recbias::cli::GateExit& e) {
    return static_cast<int>(e.code);
  } catch (const recbias::Error& e) {
    std::cerr << "recbias: error: " << e.what() << '\n';
    return static_cast<int>(e.exit_code());
  } catch (const std::exception& e) {
    std::cerr << "recbias: internal error: " << e.what() << "\nThis is a bug in recbias; please report it.\n";
    return static_cast<int>(recbias::ExitCode::kInternal);
  }
  return 0;
}
