// The version and git commit of this build: one source (CMake's project()
// version and `git rev-parse HEAD` at configure time), generated into
// build_info.cc, used by --version and every report's provenance.
#pragma once

namespace recbias::cli {

extern const char* const kVersion;  // "0.1.0"
extern const char* const kGitSha;   // "" outside a git checkout

}  // namespace recbias::cli
