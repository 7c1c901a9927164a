// Reading a whole file: the one helper every reader of a user's file uses
// (policies, reports, adapter configs, templates, side-cars, attribute
// files, cache entries). Callers word the error, since only they know what
// the file was for.
#pragma once

#include <optional>
#include <string>

namespace recbias {

// The file's bytes, or nullopt when it cannot be opened or read.
std::optional<std::string> read_whole_file(const std::string& path);

}  // namespace recbias
