// Helpers shared by the test suites: real-data location, temporary folders,
// file writing and running the recbias executable.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace recbias::testing {

// The shared datasets folder: $RECBIAS_DATASETS when set, else the CMake
// cache variable RECBIAS_DATASETS_DIR (default ../shared/datasets).
std::string datasets_dir();

// The source tree and the recbias executable under test. Functions, not
// macros: only test_support.cc is compiled with the paths, so every other
// test file compiles the same in any checkout (ccache hits across clones).
const std::string& source_dir();
const std::string& recbias_binary();

// Path of a dataset folder under datasets_dir() when `marker` exists in it,
// else "". Tests call skip_missing() when it is "".
std::string dataset_path(const std::string& name, const std::string& marker);

// Reports a visible skip: prints "SKIPPED: <reason>" and, under CTest
// (RECBIAS_SKIP_EXIT_CODE set), exits with that code so CTest counts it as skipped.
void skip_missing(const std::string& reason);

// A fresh temporary folder, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `content` to `path` (binary, creating parent folders).
void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the built `recbias` with `args` (no shell; arguments passed verbatim).
RunResult run_recbias(const std::vector<std::string>& args);

}  // namespace recbias::testing

// Skips the rest of the test case when the dataset is missing.
#define RECBIAS_REQUIRE_DATASET(var, name, marker)                                             \
  const std::string var = ::recbias::testing::dataset_path(name, marker);                      \
  if (var.empty()) {                                                                           \
    ::recbias::testing::skip_missing(std::string(name) + " not found under " +                 \
                                     ::recbias::testing::datasets_dir() +                      \
                                     " (set RECBIAS_DATASETS to its parent folder)");          \
    return;                                                                                    \
  }
