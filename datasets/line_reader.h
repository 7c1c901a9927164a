// Reads a text file line by line and builds bad-input errors that name the
// file, the line, the field, the value found and what was expected.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

#include "core/errors.h"

namespace recbias {

class LineReader {
 public:
  // Opens `path`. Throws BadInput "cannot open PATH: REASON" (with
  // `what_it_is`, e.g. "MovieLens 100K ratings (u.data)") when it cannot.
  LineReader(std::string path, std::string_view what_it_is);

  // Reads the next line (without "\n" and a trailing "\r"). False at end of file.
  bool next(std::string& line);

  const std::string& path() const { return path_; }
  std::int64_t line_number() const { return line_number_; }

  // "PATH:LINE: field F: found \"V\", expected E"
  [[noreturn]] void fail_field(std::string_view field, std::string_view found, std::string_view expected) const;
  // "PATH:LINE: MESSAGE"
  [[noreturn]] void fail(std::string_view message) const;
  // Throws "PATH: file is empty; expected ..." when no line was read.
  void require_nonempty(std::string_view expected) const;

 private:
  std::string path_;
  std::ifstream in_;
  std::int64_t line_number_ = 0;
};

}  // namespace recbias
