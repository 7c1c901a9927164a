// Small text utilities shared by readers: encodings, splitting, number parsing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace recbias {

// ISO-8859-1 (Latin-1) bytes to UTF-8. Every byte is a valid Latin-1 character.
std::string latin1_to_utf8(std::string_view latin1);

// Byte offset of the first invalid UTF-8 sequence, or nullopt when `text` is valid UTF-8.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

// Splits on every occurrence of `separator` (which may be several characters, as "::").
std::vector<std::string_view> split(std::string_view text, std::string_view separator);

// Strips ASCII whitespace at both ends.
std::string_view trim(std::string_view text);

// ASCII letters to lower case; every other byte is kept.
std::string ascii_lower(std::string_view text);

// Whole-string integer parse (optional sign, digits only); nullopt on anything else.
std::optional<std::int64_t> parse_int(std::string_view text);
// Whole-string finite floating-point parse; nullopt on anything else.
std::optional<double> parse_double(std::string_view text);

// At most `max_bytes` of `text`, cut at a UTF-8 character boundary.
std::string utf8_prefix(std::string_view text, std::size_t max_bytes);

// Lower case of UTF-8 text as Python's str.lower() gives it for ASCII,
// Latin-1, Latin Extended-A, Greek and Cyrillic letters (the scripts of
// nearly every catalog title); other characters are kept as they are.
// Invalid UTF-8 bytes are kept.
std::string utf8_lower(std::string_view text);

// Printable form of untrusted text for an error message: at most `max` bytes,
// control characters shown as \xNN.
std::string quote_for_message(std::string_view text, std::size_t max = 60);

}  // namespace recbias
