#include "adapters/phrases.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/file_io.h"
#include "core/json_io.h"
#include "core/sha256.h"

namespace recbias {
namespace {

constexpr const char* kBuiltin =
#include "adapters/attribute_phrases.inc"
    ;

std::string replace_item(std::string phrase, const std::string& item) {
  for (std::size_t at = phrase.find("{item}"); at != std::string::npos; at = phrase.find("{item}", at + item.size()))
    phrase.replace(at, 6, item);
  return phrase;
}

}  // namespace

std::shared_ptr<const PhraseTable> PhraseTable::builtin() {
  static const auto table = parse(kBuiltin, "built-in", nullptr);
  return table;
}

std::shared_ptr<const PhraseTable> PhraseTable::load(const std::string& path) {
  const auto text = read_whole_file(path);
  if (!text) throw BadInput(fmt::format("--phrases {}: cannot read the file", path));
  return parse(*text, path, builtin());
}

std::shared_ptr<const PhraseTable> PhraseTable::parse(const std::string& text, const std::string& origin,
                                                      std::shared_ptr<const PhraseTable> base) {
  auto table = std::make_shared<PhraseTable>();
  if (base) table->entries_ = base->entries_;
  table->source_ = origin;
  const auto j = parse_json(text, origin);
  if (!j.is_object()) throw BadInput(fmt::format("{}: expected an object {{\"attribute\": {{\"value\": \"phrase\"}}}}", origin));
  for (const auto& [attribute, values] : j.items()) {
    if (attribute.starts_with("_")) continue;  // comments
    if (!values.is_object())
      throw BadInput(fmt::format("{}: field {}: found {}, expected an object {{\"value\": \"phrase\"}}", origin, attribute, values.dump()));
    for (const auto& [value, phrase] : values.items()) {
      if (!phrase.is_string() || phrase.get<std::string>().empty())
        throw BadInput(fmt::format("{}: field {}.{}: found {}, expected a non-empty phrase", origin, attribute, value, phrase.dump()));
      table->entries_[attribute][value] = phrase.get<std::string>();
    }
  }
  nlohmann::json resolved = table->entries_;
  table->sha256_ = sha256_hex(resolved.dump());
  return table;
}

std::optional<std::string> PhraseTable::phrase(const std::string& attribute, const std::string& value, const std::string& item) const {
  const auto a = entries_.find(attribute);
  if (a == entries_.end()) return std::nullopt;
  const auto v = a->second.find(value);
  if (v == a->second.end()) return std::nullopt;
  return replace_item(v->second, item);
}

std::string PhraseTable::phrase_or_fallback(const std::string& attribute, const std::string& value, const std::string& item) const {
  if (auto p = phrase(attribute, value, item)) return *p;
  return fmt::format("someone whose {} is {}", attribute, value);
}

std::string PhraseTable::sentence(const std::map<std::string, std::string>& attributes, const std::string& item) const {
  std::vector<std::string> parts;
  for (const auto& [attribute, value] : attributes) parts.push_back(phrase_or_fallback(attribute, value, item));
  if (parts.empty()) return "";
  std::string joined = parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i) joined += (i + 1 == parts.size() ? " and " : ", ") + parts[i];
  return "I am " + joined + ".";
}

}  // namespace recbias
