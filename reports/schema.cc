#include "reports/schema.h"

#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"
#include "core/json_io.h"

namespace recbias {
namespace {

using nlohmann::json;

bool has_type(const json& value, const std::string& type) {
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "null") return value.is_null();
  // A float counts as an integer when it is whole and within 64 bits (a wider
  // one could not be read as a count; converting it would be undefined).
  if (type == "integer")
    return value.is_number_integer() ||
           (value.is_number_float() && std::abs(value.get<double>()) < 9.2e18 && value.get<double>() == std::trunc(value.get<double>()));
  if (type == "number") return value.is_number();
  return false;
}

void validate(const json& value, const json& schema, const json& root, const std::string& path, std::vector<std::string>& errors) {
  const std::string where = path.empty() ? "/" : path;
  if (schema.contains("$ref")) {
    const std::string ref = schema["$ref"];
    const std::string prefix = "#/$defs/";
    if (!ref.starts_with(prefix) || !root.contains("$defs") || !root["$defs"].contains(ref.substr(prefix.size()))) {
      errors.push_back(fmt::format("{}: schema reference {} not found", where, ref));
      return;
    }
    validate(value, root["$defs"][ref.substr(prefix.size())], root, path, errors);
    return;
  }
  if (schema.contains("const") && value != schema["const"]) {
    errors.push_back(fmt::format("{}: found {}, expected {}", where, value.dump(), schema["const"].dump()));
    return;
  }
  if (schema.contains("enum")) {
    bool found = false;
    for (const auto& option : schema["enum"]) found = found || option == value;
    if (!found) {
      errors.push_back(fmt::format("{}: found {}, expected one of {}", where, value.dump(), schema["enum"].dump()));
      return;
    }
  }
  if (schema.contains("type")) {
    std::vector<std::string> types;
    if (schema["type"].is_array()) for (const auto& t : schema["type"]) types.push_back(t);
    else types.push_back(schema["type"]);
    bool ok = false;
    for (const auto& t : types) ok = ok || has_type(value, t);
    if (!ok) {
      errors.push_back(fmt::format("{}: found {}, expected type {}", where, json_type_name(value), fmt::join(types, " or ")));
      return;
    }
  }
  if (value.is_object()) {
    if (schema.contains("required"))
      for (const auto& field : schema["required"])
        if (!value.contains(field.get<std::string>()))
          errors.push_back(fmt::format("{}: missing required field \"{}\"", where, field.get<std::string>()));
    const json* properties = schema.contains("properties") ? &schema["properties"] : nullptr;
    for (const auto& [key, child] : value.items()) {
      if (properties && properties->contains(key)) validate(child, (*properties)[key], root, path + "/" + key, errors);
      else if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object())
        validate(child, schema["additionalProperties"], root, path + "/" + key, errors);
    }
  }
  if (value.is_array()) {
    if (schema.contains("minItems") && value.size() < schema["minItems"].get<std::size_t>())
      errors.push_back(fmt::format("{}: {} items, expected at least {}", where, value.size(), schema["minItems"].get<std::size_t>()));
    if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<std::size_t>())
      errors.push_back(fmt::format("{}: {} items, expected at most {}", where, value.size(), schema["maxItems"].get<std::size_t>()));
    if (schema.contains("items"))
      for (std::size_t i = 0; i < value.size(); ++i) validate(value[i], schema["items"], root, path + "/" + std::to_string(i), errors);
  }
}

}  // namespace

std::vector<std::string> validate_json(const json& document, const json& schema) {
  std::vector<std::string> errors;
  validate(document, schema, schema, "", errors);
  return errors;
}

const json& report_schema() {
  static const json schema = json::parse(
#include "reports/report_schema.inc"
  );
  return schema;
}

void check_report(const json& report, const std::string& where) {
  const auto errors = validate_json(report, report_schema());
  if (errors.empty()) return;
  std::vector<std::string> first(errors.begin(), errors.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(errors.size(), 5)));
  throw BadInput(fmt::format("{}: not a valid recbias report (schema recbias.report/1): {}{}", where, fmt::join(first, "; "),
                             errors.size() > 5 ? fmt::format(" (and {} more)", errors.size() - 5) : ""));
}

}  // namespace recbias
