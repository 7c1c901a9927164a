// The shared shape of recbias's registries (adapters, mitigations, audits):
// each is a table of entries with a `name`, built once on first use by a
// function-local static (thread-safe initialisation), and named in error
// messages and --help by joining the names.
#pragma once

#include <string>
#include <vector>

namespace recbias {

// "a, b, c": the names of a registry's entries, in table order.
template <class Info>
std::string registry_names(const std::vector<Info>& registry) {
  std::string out;
  for (const auto& info : registry) out += (out.empty() ? "" : ", ") + info.name;
  return out;
}

}  // namespace recbias
