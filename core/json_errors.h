// Reading untrusted JSON: a document can pass the first checks and still hold
// a field of an unexpected type deep inside (fuzzing found several). Wrapping
// a reader in with_json_errors turns the library's type errors into BadInput
// naming the document, so bad input exits 2 with a message, never 5.
#pragma once

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

}  // namespace recbias
