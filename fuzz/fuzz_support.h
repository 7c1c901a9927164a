// Shared by the libFuzzer targets: split an input into files of a scratch
// folder, and the rule for exceptions. A target may end in recbias::Error
// (the documented answer to bad input: exit code 2 with a message); any other
// exception, a crash, or a sanitizer report is a bug.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace recbias::fuzz {

// Splits the input at NUL bytes into at most `parts` pieces (missing ones empty).
inline std::vector<std::string> split_input(const std::uint8_t* data, std::size_t size, std::size_t parts) {
  std::vector<std::string> out(parts);
  std::size_t part = 0;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0 && part + 1 < parts) {
      ++part;
      continue;
    }
    out[part].push_back(static_cast<char>(data[i]));
  }
  return out;
}

// A per-process scratch folder, reused across runs (files are rewritten) and
// removed when the process exits normally (a crash leaves it, with the
// files of the crashing input, for inspection).
class ScratchFolder {
 public:
  ScratchFolder() : path_(std::filesystem::temp_directory_path() / ("recbias-fuzz-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::filesystem::path scratch_folder() {
  static const ScratchFolder folder;
  return folder.path();
}

inline void write(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

}  // namespace recbias::fuzz
