// Reading untrusted JSON: a document can pass the first checks and still hold
// a field of an unexpected type deep inside (fuzzing found several). Wrapping
// a reader in with_json_errors turns the library's type errors into BadInput
// naming the document, so bad input exits 2 with a message, never 5.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace recbias {

template <class F>
auto with_json_errors(const std::string& where, F&& read) -> decltype(read()) {
  try {
    return std::forward<F>(read)();
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("{}: a field has an unexpected type or value: {}", where, e.what()));
  }
}

// A token or call count from untrusted JSON: an integer in 0..2^53, or a
// float with such an integral value; nullopt for anything else (negative,
// fractional, beyond range — converting 5e120 to an integer is undefined
// behaviour, which the codec fuzzer found — or not a number).
inline std::optional<std::int64_t> json_count(const nlohmann::json& v) {
  constexpr double kMax = 9007199254740992.0;  // 2^53
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(kMax)) return static_cast<std::int64_t>(u);
    return std::nullopt;
  }
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (i >= 0 && i <= static_cast<std::int64_t>(kMax)) return i;
    return std::nullopt;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d >= 0 && d <= kMax && d == static_cast<double>(static_cast<std::int64_t>(d))) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

}  // namespace recbias
