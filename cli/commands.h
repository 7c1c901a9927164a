// Subcommands of the `recbias` executable, one file each (CLI11's
// subcom_in_files pattern): setup_* adds the subcommand and its flags to the
// app and binds them to an options struct; the callback runs it. Errors are
// thrown (recbias::Error) and mapped to exit codes by main.cc.
#pragma once

#include <CLI/CLI.hpp>

namespace recbias::cli {

void setup_datasets(CLI::App& app);
void setup_rank(CLI::App& app);   // also adds `adapters`
void setup_audit(CLI::App& app);  // also adds `merge`

}  // namespace recbias::cli
