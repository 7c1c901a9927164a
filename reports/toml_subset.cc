#include "reports/toml_subset.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/text.h"

namespace recbias {
namespace {

using nlohmann::json;

class Line {
 public:
  Line(std::string_view text, std::string where) : text_(text), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& what) const { throw BadInput(fmt::format("{}: {}", where_, what)); }

  void skip_space() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\t')) ++at_;
  }
  bool done() {
    skip_space();
    return at_ >= text_.size() || text_[at_] == '#';
  }
  char peek() {
    skip_space();
    return at_ < text_.size() ? text_[at_] : '\0';
  }
  void expect(char c) {
    if (peek() != c) fail(fmt::format("expected '{}' at column {}", c, at_ + 1));
    ++at_;
  }

  std::string key() {
    skip_space();
    const std::size_t start = at_;
    while (at_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[at_])) || text_[at_] == '_' || text_[at_] == '-')) ++at_;
    if (at_ == start) fail(fmt::format("expected a key at column {}", start + 1));
    if (at_ < text_.size() && text_[at_] == '.') fail("dotted keys are not supported in recbias policies");
    return std::string(text_.substr(start, at_ - start));
  }

  json value() {
    const char c = peek();
    if (c == '"') return string_value();
    if (c == '{') return inline_table();
    if (c == '\'') fail("literal 'strings' are not supported; use \"double quotes\"");
    if (c == '[') fail("arrays of values are not supported in recbias policies");
    const std::size_t start = at_;
    while (at_ < text_.size() && text_[at_] != ',' && text_[at_] != '}' && text_[at_] != '#' && text_[at_] != ' ' && text_[at_] != '\t') ++at_;
    const std::string token(text_.substr(start, at_ - start));
    if (token == "true") return true;
    if (token == "false") return false;
    std::string digits;
    for (char d : token)
      if (d != '_') digits.push_back(d);
    if (auto i = parse_int(digits)) return *i;
    if (auto d = parse_double(digits)) return *d;
    fail(fmt::format("found {}, expected a string, number, boolean or inline table", quote_for_message(token)));
  }

 private:
  json string_value() {
    ++at_;  // opening quote
    std::string out;
    while (at_ < text_.size() && text_[at_] != '"') {
      if (text_[at_] == '\\') {
        if (++at_ >= text_.size()) break;
        switch (text_[at_]) {
          case '"': out.push_back('"'); break;
          case '\\': out.push_back('\\'); break;
          case 'n': out.push_back('\n'); break;
          case 't': out.push_back('\t'); break;
          default: fail(fmt::format("unsupported escape \\{} in a string", text_[at_]));
        }
      } else {
        out.push_back(text_[at_]);
      }
      ++at_;
    }
    if (at_ >= text_.size()) fail("unterminated string (multi-line strings are not supported)");
    ++at_;
    return out;
  }

  json inline_table() {
    ++at_;  // {
    json table = json::object();
    if (peek() == '}') {
      ++at_;
      return table;
    }
    while (true) {
      const auto k = key();
      expect('=');
      if (table.contains(k)) fail(fmt::format("key {} given twice", k));
      table[k] = value();
      if (peek() == ',') {
        ++at_;
        continue;
      }
      expect('}');
      return table;
    }
  }

  std::string_view text_;
  std::string where_;
  std::size_t at_ = 0;
};

}  // namespace

json parse_toml_subset(const std::string& text, const std::string& where) {
  if (const auto bad = find_invalid_utf8(text)) {
    const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(*bad), '\n');
    throw BadInput(fmt::format("{}:{}: invalid UTF-8 at byte {}; expected UTF-8 text", where, line, *bad));
  }
  json root = json::object();
  json* current = &root;
  int number = 0;
  for (auto raw : split(text, "\n")) {
    ++number;
    Line line(raw, fmt::format("{}:{}", where, number));
    if (line.done()) continue;
    if (line.peek() == '[') {
      const std::string_view t = trim(raw);
      const bool array = t.starts_with("[[");
      const std::size_t close = t.find(array ? "]]" : "]");
      if (close == std::string_view::npos) line.fail("unterminated table header");
      const std::string name(trim(t.substr(array ? 2 : 1, close - (array ? 2 : 1))));
      if (name.empty() || name.find('.') != std::string::npos) line.fail(fmt::format("table name {} is not supported", quote_for_message(name)));
      if (array) {
        if (!root.contains(name)) root[name] = json::array();
        if (!root[name].is_array()) line.fail(fmt::format("{} is both a table and an array of tables", name));
        root[name].push_back(json::object());
        current = &root[name].back();
      } else {
        if (root.contains(name)) line.fail(fmt::format("table [{}] defined twice", name));
        root[name] = json::object();
        current = &root[name];
      }
      continue;
    }
    const auto k = line.key();
    line.expect('=');
    auto v = line.value();
    if (!line.done()) line.fail("unexpected text after the value");
    if (current->contains(k)) line.fail(fmt::format("key {} given twice", k));
    (*current)[k] = std::move(v);
  }
  return root;
}

}  // namespace recbias
