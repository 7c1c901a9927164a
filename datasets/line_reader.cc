#include "datasets/line_reader.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/text.h"

namespace recbias {

LineReader::LineReader(std::string path, std::string_view what_it_is) : path_(std::move(path)) {
  std::error_code ec;
  if (std::filesystem::is_directory(path_, ec))
    throw BadInput(fmt::format("cannot open {} ({}): it is a directory, expected a file", path_, what_it_is));
  in_.open(path_, std::ios::binary);
  if (!in_)
    throw BadInput(fmt::format("cannot open {} ({}): {}", path_, what_it_is, std::strerror(errno)));
}

bool LineReader::next(std::string& line) {
  if (!std::getline(in_, line)) return false;
  ++line_number_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

void LineReader::fail_field(std::string_view field, std::string_view found, std::string_view expected) const {
  throw BadInput(fmt::format("{}:{}: field {}: found {}, expected {}", path_, line_number_, field,
                             quote_for_message(found), expected));
}

void LineReader::fail(std::string_view message) const {
  throw BadInput(fmt::format("{}:{}: {}", path_, line_number_, message));
}

void LineReader::require_nonempty(std::string_view expected) const {
  if (line_number_ == 0) throw BadInput(fmt::format("{}: file is empty; expected {}", path_, expected));
}

}  // namespace recbias
