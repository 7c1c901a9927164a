// The one table of adapters: name -> description, accepted keys (with their
// defaults) and factory. The CLI's --help, its error messages for unknown
// names and keys, and `recbias adapters` all read it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/adapter_spec.h"
#include "adapters/recommender.h"

namespace recbias {

struct AdapterKey {
  std::string name;          // "temperature"; a name ending in ".*" accepts any suffix ("shift.*")
  std::string default_value; // as text, "" when required or none
  std::string help;          // one line
};

struct AdapterInfo {
  std::string name;
  std::string description;
  std::vector<AdapterKey> keys;
  std::function<std::unique_ptr<Recommender>(const AdapterSpec&, const AdapterContext&)> factory;
};

// The registered adapters, built once on first use (explicitly, in one place).
const std::vector<AdapterInfo>& adapter_registry();

// "openai, torchscript, exec, popularity, itemknn, random, simulated"
std::string adapter_names();

// Builds the adapter a spec names. Throws BadInput for an unknown adapter
// (listing the known ones) or an unknown key (listing the adapter's keys).
std::unique_ptr<Recommender> make_recommender(const AdapterSpec& spec, const AdapterContext& context);

}  // namespace recbias
