#include "core/json_io.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace recbias {
namespace {

using nlohmann::json;

const json& require(const json& j, const char* field) {
  if (!j.is_object())
    throw BadInput(fmt::format("expected a JSON object with field \"{}\", found {}", field, json_type_name(j)));
  auto it = j.find(field);
  if (it == j.end()) throw BadInput(fmt::format("missing required field \"{}\"", field));
  return *it;
}

// Reads j[field] as T, naming the field and both types on mismatch.
// An integer of type I from a JSON number, refusing floats that are not
// integral or do not fit and integers out of I's range: nlohmann converts
// them unchecked, and a double beyond the range is undefined behaviour
// (found by the codec fuzzer: 5e120 as a token count).
template <typename I>
bool fits_integer(const json& value, I& out) {
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (!std::isfinite(d) || d != std::trunc(d) || d < static_cast<double>(std::numeric_limits<I>::min()) ||
        d >= std::ldexp(1.0, std::numeric_limits<I>::digits))
      return false;
    out = static_cast<I>(d);
    return true;
  }
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<I>::max())) return false;
    out = static_cast<I>(u);
    return true;
  }
  if (value.is_number_integer()) {
    const auto i = value.get<std::int64_t>();
    if (i < static_cast<std::int64_t>(std::numeric_limits<I>::min()) || i > static_cast<std::int64_t>(std::numeric_limits<I>::max())) return false;
    out = static_cast<I>(i);
    return true;
  }
  return false;
}

template <typename T>
struct is_integer_vector : std::false_type {};
template <typename I>
struct is_integer_vector<std::vector<I>> : std::bool_constant<std::is_integral_v<I> && !std::is_same_v<I, bool>> {};

template <typename T>
T get_as(const json& value, const char* field, const char* expected) {
  auto bad = [&] { return BadInput(fmt::format("field \"{}\": expected {}, found {} {}", field, expected, json_type_name(value), value.dump())); };
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    T out{};
    if (!fits_integer(value, out)) throw bad();
    return out;
  } else if constexpr (is_integer_vector<T>::value) {
    if (!value.is_array()) throw bad();
    T out;
    out.reserve(value.size());
    for (const auto& element : value) {
      typename T::value_type x{};
      if (!fits_integer(element, x)) throw bad();
      out.push_back(x);
    }
    return out;
  } else {
    try {
      return value.get<T>();
    } catch (const BadInput& e) {
      // A nested object failed: prefix the path ("field \"user\": missing required field \"id\"").
      throw BadInput(fmt::format("field \"{}\": {}", field, e.what()));
    } catch (const json::exception&) {
      throw bad();
    }
  }
}

template <typename T>
T required(const json& j, const char* field, const char* expected) {
  return get_as<T>(require(j, field), field, expected);
}

template <typename T>
void optional_field(const json& j, const char* field, const char* expected, T& out) {
  if (!j.is_object()) return;
  auto it = j.find(field);
  if (it != j.end() && !it->is_null()) out = get_as<T>(*it, field, expected);
}

}  // namespace

std::string json_type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    case json::value_t::string: return "string";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    default: return "other";
  }
}

json parse_json(const std::string& text, const std::string& where) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw BadInput(fmt::format("{}: invalid JSON at byte {}: {}", where, e.byte, e.what()));
  } catch (const json::exception& e) {  // e.g. a number beyond double's range (found by fuzzing)
    throw BadInput(fmt::format("{}: invalid JSON: {}", where, e.what()));
  }
}

void to_json(json& j, const Item& v) {
  j = json{{"id", v.id}, {"title", v.title}, {"categories", v.categories}, {"popularity", v.popularity}};
}
void from_json(const json& j, Item& v) {
  v.id = required<std::string>(j, "id", "a string");
  optional_field(j, "title", "a string", v.title);
  optional_field(j, "categories", "an array of strings", v.categories);
  optional_field(j, "popularity", "a number", v.popularity);
}

void to_json(json& j, const UserContext& v) {
  j = json{{"id", v.id}, {"history", v.history}, {"attributes", v.attributes}};
  if (!v.fan_of.empty()) j["fan_of"] = v.fan_of;
}
void from_json(const json& j, UserContext& v) {
  v.id = required<std::string>(j, "id", "a string");
  optional_field(j, "history", "an array of item indices", v.history);
  optional_field(j, "attributes", "an object of string values", v.attributes);
  optional_field(j, "fan_of", "a string", v.fan_of);
}

void to_json(json& j, const RankRequest& v) {
  j = json{{"id", v.id}, {"user", v.user}, {"candidates", v.candidates}, {"k", v.k}, {"sample", v.sample}};
  if (v.open) j["open"] = true;
}
void from_json(const json& j, RankRequest& v) {
  v.id = required<std::string>(j, "id", "a string");
  v.user = required<UserContext>(j, "user", "a user object");
  v.candidates = required<std::vector<ItemIndex>>(j, "candidates", "an array of item indices");
  optional_field(j, "k", "an integer", v.k);
  optional_field(j, "sample", "a non-negative integer", v.sample);
  optional_field(j, "open", "true or false", v.open);
}

void to_json(json& j, const Usage& v) {
  j = json{{"prompt_tokens", v.prompt_tokens}, {"completion_tokens", v.completion_tokens},
           {"latency_ms", v.latency_ms}, {"calls", v.calls}, {"retries", v.retries}};
}
void from_json(const json& j, Usage& v) {
  optional_field(j, "prompt_tokens", "an integer", v.prompt_tokens);
  optional_field(j, "completion_tokens", "an integer", v.completion_tokens);
  optional_field(j, "latency_ms", "a number", v.latency_ms);
  optional_field(j, "calls", "an integer", v.calls);
  optional_field(j, "retries", "an integer", v.retries);
}

namespace {

json scores_json(const std::vector<float>& scores) {
  json out = json::array();
  for (float s : scores) out.push_back(std::isfinite(s) ? json(s) : json(nullptr));
  return out;
}

std::vector<float> scores_from_json(const json& j, const std::string& field) {
  if (!j.is_array())
    throw BadInput(fmt::format("field \"{}\": expected an array of numbers (null = not scored), found {}", field, json_type_name(j)));
  std::vector<float> out;
  out.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& e = j[i];
    if (e.is_null()) out.push_back(-std::numeric_limits<float>::infinity());
    else if (e.is_number()) out.push_back(e.get<float>());
    else throw BadInput(fmt::format("field \"{}[{}]\": expected a number or null, found {}", field, i, json_type_name(e)));
  }
  return out;
}

}  // namespace

void to_json(json& j, const RankResponse& v) {
  j = json{{"request_id", v.request_id},     {"ranking", v.ranking},
           {"ungrounded", v.ungrounded},     {"duplicates", v.duplicates},
           {"out_of_range", v.out_of_range}, {"parse_failures", v.parse_failures},
           {"repaired", v.repaired},         {"truncated", v.truncated},
           {"usage", v.usage}};
  if (v.scores) j["scores"] = scores_json(*v.scores);
  if (v.error) j["error"] = *v.error;
  if (v.first_entry_unusable) j["first_entry_unusable"] = true;
  if (v.constrained) j["constrained"] = true;
  if (v.constraint_ignored) j["constraint_ignored"] = true;
  if (v.raw) j["raw"] = json{{"format", v.raw->format}, {"body", v.raw->body}};
}
void from_json(const json& j, RankResponse& v) {
  v.request_id = required<std::string>(j, "request_id", "a string");
  optional_field(j, "ranking", "an array of candidate positions", v.ranking);
  if (j.contains("scores") && !j.at("scores").is_null()) v.scores = scores_from_json(j.at("scores"), "scores");
  optional_field(j, "ungrounded", "an array of strings", v.ungrounded);
  optional_field(j, "duplicates", "an integer", v.duplicates);
  optional_field(j, "out_of_range", "an integer", v.out_of_range);
  optional_field(j, "parse_failures", "an integer", v.parse_failures);
  optional_field(j, "repaired", "an integer", v.repaired);
  optional_field(j, "truncated", "a boolean", v.truncated);
  optional_field(j, "usage", "a usage object", v.usage);
  if (j.contains("error") && !j.at("error").is_null())
    v.error = get_as<std::string>(j.at("error"), "error", "a string");
  optional_field(j, "first_entry_unusable", "a boolean", v.first_entry_unusable);
  optional_field(j, "constrained", "a boolean", v.constrained);
  optional_field(j, "constraint_ignored", "a boolean", v.constraint_ignored);
  if (j.contains("raw") && !j.at("raw").is_null()) {
    const auto& raw = j.at("raw");
    v.raw = RawAnswer{required<std::string>(raw, "format", "\"text\" or \"answer\""),
                      required<std::string>(raw, "body", "a string")};
  }
}

void to_json(json& j, const Catalog& v) { j = v.items(); }
void from_json(const json& j, Catalog& v) {
  if (!j.is_array()) throw BadInput(fmt::format("catalog: expected an array of items, found {}", json_type_name(j)));
  v = Catalog();
  for (const auto& item : j) v.add(item.get<Item>());
}

}  // namespace recbias
