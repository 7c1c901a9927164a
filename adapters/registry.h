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

// Throws BadInput when `spec` has a key `keys` does not list (a key name
// ending in ".*" accepts any suffix): "<kind> <name>: unknown key ...; known
// keys: ...". Shared by the adapter and mitigation registries.
void check_spec_keys(const AdapterSpec& spec, const std::vector<AdapterKey>& keys, const char* kind);

// A spec read against its registry keys: a key not given takes the default
// the table lists, so defaults live in one place. Ranges are checked as
// AdapterSpec's getters check them.
class SpecWithDefaults {
 public:
  SpecWithDefaults(const AdapterSpec& spec, const std::vector<AdapterKey>& keys) : spec_(spec), keys_(keys) {}
  std::string get_string(const std::string& key) const;
  double get_double(const std::string& key, double min, double max) const;
  std::int64_t get_int(const std::string& key, std::int64_t min, std::int64_t max) const;

 private:
  const std::string& default_of(const std::string& key) const;
  const AdapterSpec& spec_;
  const std::vector<AdapterKey>& keys_;
};

// Builds the adapter a spec names. Throws BadInput for an unknown adapter
// (listing the known ones) or an unknown key (listing the adapter's keys).
std::unique_ptr<Recommender> make_recommender(const AdapterSpec& spec, const AdapterContext& context);

}  // namespace recbias
