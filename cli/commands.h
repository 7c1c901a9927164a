// Subcommands of the `recbias` executable, one file each (CLI11's
// subcom_in_files pattern): setup_* adds the subcommand and its flags to the
// app and binds them to an options struct; the callback runs it. Errors are
// thrown (recbias::Error) and mapped to exit codes by main.cc.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace recbias::cli {

void setup_datasets(CLI::App& app);
void setup_rank(CLI::App& app);   // also adds `adapters`
void setup_audit(CLI::App& app);  // also adds `merge`
void setup_report(CLI::App& app); // also adds `gate`
void setup_serve(CLI::App& app);

// Thrown by `gate` to leave with its verdict's exit code (1 or 3) after printing.
struct GateExit {
  ExitCode code;
};

// Reads a report and validates it against the schema (BadInput naming the file).
nlohmann::json load_report(const std::string& path);

}  // namespace recbias::cli
