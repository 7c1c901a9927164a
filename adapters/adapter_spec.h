// An adapter chosen on the command line: "name:key=value,key=value" (for
// example "openai:model=qwen2.5-7b,base_url=http://127.0.0.1:8000/v1"), or a
// JSON config file given as "@path" or "path.json" (no "=" in it) holding
// {"adapter": "openai", "model": "qwen2.5-7b", ...}.
//
// Getters validate and convert a value, naming the key, the value found and
// what was expected; the registry rejects keys the adapter does not know.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace recbias {

class AdapterSpec {
 public:
  // Parses a spec string or reads a config file. Throws BadInput on syntax
  // errors ("key=value" expected, empty name, duplicate key, unreadable file).
  static AdapterSpec parse(const std::string& text);

  AdapterSpec(std::string name, std::map<std::string, std::string> values);

  const std::string& name() const { return name_; }
  const std::map<std::string, std::string>& values() const { return values_; }
  bool has(const std::string& key) const { return values_.count(key) > 0; }

  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::optional<std::string> get_optional(const std::string& key) const;
  double get_double(const std::string& key, double fallback, double min, double max) const;
  std::int64_t get_int(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) const;
  bool get_bool(const std::string& key, bool fallback) const;  // true/false/1/0/yes/no

  // Keys starting with `prefix` (e.g. "shift."), in sorted order.
  std::vector<std::string> keys_with_prefix(const std::string& prefix) const;

  // The spec back as text ("name:k=v,..."), values of keys containing "key"
  // or "secret" or "token" replaced by "***".
  std::string to_string() const;

 private:
  std::string name_;
  std::map<std::string, std::string> values_;
};

}  // namespace recbias
