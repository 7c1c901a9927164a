#include "adapters/adapter_spec.h"


#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "core/text.h"

namespace recbias {
namespace {

bool looks_secret(const std::string& key) {
  return key.find("key") != std::string::npos || key.find("secret") != std::string::npos ||
         key.find("token") != std::string::npos || key.find("password") != std::string::npos;
}

AdapterSpec from_file(const std::string& path) {
  const auto text = read_whole_file(path);
  if (!text) throw BadInput(fmt::format("cannot open adapter config file {}", path));
  const auto j = parse_json(*text, path);
  if (!j.is_object()) throw BadInput(fmt::format("{}: expected a JSON object like {{\"adapter\": \"openai\", \"model\": \"...\"}}", path));
  auto it = j.find("adapter");
  if (it == j.end() || !it->is_string())
    throw BadInput(fmt::format("{}: field adapter: expected the adapter name as a string", path));
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : j.items()) {
    if (key == "adapter") continue;
    if (value.is_string()) values[key] = value.get<std::string>();
    else if (value.is_number() || value.is_boolean()) values[key] = value.dump();
    else throw BadInput(fmt::format("{}: field {}: found {}, expected a string, number or boolean", path, key, json_type_name(value)));
  }
  return AdapterSpec(it->get<std::string>(), std::move(values));
}

}  // namespace

AdapterSpec::AdapterSpec(std::string name, std::map<std::string, std::string> values)
    : name_(std::move(name)), values_(std::move(values)) {}

AdapterSpec AdapterSpec::parse(const std::string& text) {
  if (!text.empty() && text[0] == '@') return from_file(text.substr(1));
  // "path.json" is a config file; "name:key=dir/x.json" is a spec whose value is a path.
  if (text.size() > 5 && text.ends_with(".json") && text.find('=') == std::string::npos) return from_file(text);
  const auto colon = text.find(':');
  std::string name = std::string(trim(text.substr(0, colon)));
  if (name.empty()) throw BadInput(fmt::format("adapter spec \"{}\": expected NAME or NAME:key=value,...", text));
  std::map<std::string, std::string> values;
  if (colon != std::string::npos) {
    for (auto part : split(std::string_view(text).substr(colon + 1), ",")) {
      if (trim(part).empty()) continue;
      const auto eq = part.find('=');
      if (eq == std::string_view::npos)
        throw BadInput(fmt::format("adapter spec \"{}\": found \"{}\", expected key=value", text, part));
      const std::string key(trim(part.substr(0, eq)));
      if (key.empty()) throw BadInput(fmt::format("adapter spec \"{}\": empty key in \"{}\"", text, part));
      if (!values.emplace(key, std::string(trim(part.substr(eq + 1)))).second)
        throw BadInput(fmt::format("adapter spec \"{}\": key {} given twice", text, key));
    }
  }
  return AdapterSpec(std::move(name), std::move(values));
}

std::optional<std::string> AdapterSpec::get_optional(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string AdapterSpec::get_string(const std::string& key, const std::string& fallback) const {
  return get_optional(key).value_or(fallback);
}

double AdapterSpec::get_double(const std::string& key, double fallback, double min, double max) const {
  auto v = get_optional(key);
  if (!v) return fallback;
  auto parsed = parse_double(*v);
  if (!parsed || *parsed < min || *parsed > max)
    throw BadInput(fmt::format("adapter {}: {}={}: expected a number in [{}, {}]", name_, key, *v, min, max));
  return *parsed;
}

std::int64_t AdapterSpec::get_int(const std::string& key, std::int64_t fallback, std::int64_t min, std::int64_t max) const {
  auto v = get_optional(key);
  if (!v) return fallback;
  auto parsed = parse_int(*v);
  if (!parsed || *parsed < min || *parsed > max)
    throw BadInput(fmt::format("adapter {}: {}={}: expected an integer in [{}, {}]", name_, key, *v, min, max));
  return *parsed;
}

bool AdapterSpec::get_bool(const std::string& key, bool fallback) const {
  auto v = get_optional(key);
  if (!v) return fallback;
  if (*v == "true" || *v == "1" || *v == "yes") return true;
  if (*v == "false" || *v == "0" || *v == "no") return false;
  throw BadInput(fmt::format("adapter {}: {}={}: expected true or false", name_, key, *v));
}

std::vector<std::string> AdapterSpec::keys_with_prefix(const std::string& prefix) const {
  std::vector<std::string> keys;
  for (const auto& [key, value] : values_)
    if (key.starts_with(prefix)) keys.push_back(key);
  return keys;
}

std::string AdapterSpec::to_string() const {
  std::string out = name_;
  char sep = ':';
  for (const auto& [key, value] : values_) {
    out += fmt::format("{}{}={}", sep, key, looks_secret(key) ? "***" : value);
    sep = ',';
  }
  return out;
}

}  // namespace recbias
