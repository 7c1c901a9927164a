#include "adapters/grounding.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/catalog_grounder.h"
#include "core/text.h"

namespace recbias {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// Removes parenthesised groups; with `only_trailing_year`, only a final "(dddd)".
std::string drop_parentheses(std::string_view s, bool only_trailing_year) {
  std::string t(trim(s));
  if (only_trailing_year) {
    if (t.size() >= 6 && t.back() == ')' && t[t.size() - 6] == '(' &&
        std::all_of(t.end() - 5, t.end() - 1, [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      t.resize(t.size() - 6);
    return std::string(trim(t));
  }
  std::string out;
  int depth = 0;
  for (char c : t) {
    if (c == '(') ++depth;
    else if (c == ')') depth = std::max(0, depth - 1);
    else if (depth == 0) out.push_back(c);
  }
  return out;
}

std::string normalize_words(std::string_view s) {
  std::string spaced;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '&') spaced += " and ";
    else if (std::isalnum(u) || u >= 0x80) spaced.push_back(lower(c));
    else spaced.push_back(' ');
  }
  std::vector<std::string> words;
  for (auto w : split(spaced, " "))
    if (!w.empty()) words.emplace_back(w);
  // Articles: a trailing ", The" (MovieLens style) and a leading "The".
  auto is_article = [](const std::string& w) { return w == "the" || w == "a" || w == "an"; };
  if (words.size() > 1 && is_article(words.back())) words.pop_back();
  if (words.size() > 1 && is_article(words.front())) words.erase(words.begin());
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

struct CandidateKeys {
  std::string exact;
  std::string normalized;  // year and articles removed
  std::string base;        // every parenthesised group removed as well
};

// Strips list markers ("1.", "2)", "-", "*", "•") and markdown emphasis; says whether a marker was present.
std::string_view strip_marker(std::string_view line, bool& marked) {
  line = trim(line);
  marked = false;
  std::size_t i = 0;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  if (i > 0 && i < line.size() && (line[i] == '.' || line[i] == ')' || line[i] == ':')) {
    marked = true;
    line = trim(line.substr(i + 1));
  } else if (!line.empty() && (line[0] == '-' || line[0] == '*' || line[0] == '+')) {
    if (line.size() > 1 && line[1] == '*' && line[0] == '*') {
      // "**Bold**" without a bullet: not a marker.
    } else {
      marked = true;
      line = trim(line.substr(1));
    }
  } else if (line.starts_with("\xe2\x80\xa2")) {  // U+2022 bullet
    marked = true;
    line = trim(line.substr(3));
  }
  return line;
}

std::string strip_decoration(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '*' || c == '_' || c == '`' || c == '"') continue;
    // Curly quotes U+201C / U+201D.
    if (static_cast<unsigned char>(c) == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) == 0x9C || static_cast<unsigned char>(s[i + 2]) == 0x9D)) {
      i += 2;
      continue;
    }
    out.push_back(c);
  }
  return std::string(trim(out));
}

bool looks_like_prose(std::string_view line) {
  const auto t = trim(line);
  if (t.empty()) return true;
  if (t.back() == ':') return true;
  std::size_t words = 1;
  for (char c : t) words += c == ' ';
  return words > 12 || ((t.back() == '.' || t.back() == '!' || t.back() == '?') && words > 6);
}

// Matches an entry to a presented candidate (its position), or -- for a
// candidate-free answer -- to a catalog item (its index) through a
// CatalogGrounder.
class Grounder {
 public:
  Grounder(std::span<const std::string> titles, double threshold) : threshold_(threshold) {
    for (const auto& t : titles)
      keys_.push_back({t, normalize_words(drop_parentheses(t, true)), normalize_words(drop_parentheses(t, false))});
  }
  explicit Grounder(const CatalogGrounder& catalog) : threshold_(0), catalog_(&catalog) {}

  // Exact or normalised match of the whole entry (no description dropped).
  std::optional<int> match_whole(std::string_view raw) const {
    const std::string entry = strip_decoration(raw);
    if (entry.empty()) return std::nullopt;
    return match_exactly(entry);
  }

  // The whole entry, then with a trailing description or a leading label
  // dropped, then fuzzily.
  std::optional<int> match(std::string_view raw) const {
    const std::string entry = strip_decoration(raw);
    if (entry.empty()) return std::nullopt;
    if (auto m = match_exactly(entry)) return m;
    // Drop a trailing description: "Heat (1995) - a crime epic", "Heat: great
    // cast", "Heat (1995), because ...". Longest prefix first, so a title
    // that itself contains the separator ("Usual Suspects, The") still wins.
    for (std::string_view sep : {" - ", " \xe2\x80\x93 ", " \xe2\x80\x94 ", ": ", ", ", "; "}) {
      for (auto at = entry.rfind(sep); at != std::string::npos && at > 0; at = entry.rfind(sep, at - 1))
        if (auto m = match_exactly(entry.substr(0, at))) return m;
    }
    // Drop a leading label: "Top pick: Heat (1995)".
    if (const auto at = entry.find(": "); at != std::string::npos)
      if (auto m = match_exactly(std::string(trim(std::string_view(entry).substr(at + 2))))) return m;
    return match_fuzzily(entry);
  }

  std::size_t size() const { return catalog_ ? catalog_->size() : keys_.size(); }

 private:
  std::optional<int> match_exactly(const std::string& entry) const {
    if (catalog_) {
      const auto m = catalog_->match(entry, false);
      return m.item >= 0 ? std::optional<int>(m.item) : std::nullopt;
    }
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i].exact == entry) return static_cast<int>(i);
    const auto n = normalize_words(drop_parentheses(entry, true));
    const auto b = normalize_words(drop_parentheses(entry, false));
    if (n.empty()) return std::nullopt;
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (keys_[i].normalized == n || keys_[i].base == b || keys_[i].base == n) return static_cast<int>(i);
    return std::nullopt;
  }

  std::optional<int> match_fuzzily(const std::string& entry) const {
    if (catalog_) {
      const auto m = catalog_->match(entry);
      return m.item >= 0 ? std::optional<int>(m.item) : std::nullopt;
    }
    const auto n = normalize_words(drop_parentheses(entry, true));
    if (n.empty()) return std::nullopt;
    double best = 0;
    std::optional<int> best_index;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      const double r = std::max(lcs_ratio(n, keys_[i].normalized), lcs_ratio(n, keys_[i].base));
      if (r > best) {
        best = r;
        best_index = static_cast<int>(i);
      }
    }
    if (best >= threshold_) return best_index;
    return std::nullopt;
  }

  double threshold_;
  std::vector<CandidateKeys> keys_;
  const CatalogGrounder* catalog_ = nullptr;
};

// All "[digits]" references in order; nullopt when there are none.
std::optional<std::vector<long long>> bracket_indices(std::string_view text) {
  std::vector<long long> out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '[') continue;
    std::size_t j = i + 1;
    while (j < text.size() && text[j] == ' ') ++j;
    const std::size_t start = j;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    const std::size_t end = j;
    while (j < text.size() && text[j] == ' ') ++j;
    if (end > start && j < text.size() && text[j] == ']') {
      auto value = parse_int(text.substr(start, std::min<std::size_t>(end - start, 15)));
      if (value) out.push_back(*value);
      i = j;
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace

std::string strip_think_blocks(std::string_view text) {
  std::string out;
  const std::string lowered = ascii_lower(text);
  std::size_t at = 0;
  while (at < text.size()) {
    const auto open = lowered.find("<think>", at);
    if (open == std::string::npos) {
      out.append(text.substr(at));
      break;
    }
    out.append(text.substr(at, open - at));
    const auto close = lowered.find("</think>", open);
    if (close == std::string::npos) break;  // unclosed: the rest is thinking
    at = close + 8;
  }
  return out;
}

std::string normalize_title(std::string_view title) { return normalize_words(drop_parentheses(title, true)); }
std::string normalize_title_base(std::string_view title) { return normalize_words(drop_parentheses(title, false)); }

double lcs_ratio(std::string_view a, std::string_view b) {
  if (a.empty() && b.empty()) return 1.0;
  std::vector<int> prev(b.size() + 1, 0), cur(b.size() + 1, 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  return 2.0 * prev[b.size()] / static_cast<double>(a.size() + b.size());
}

namespace {

// "[12]" or "[ 12 ]" at the start of `s` (after spaces): the number; else nullopt.
std::optional<long long> leading_bracket_index(std::string_view s) {
  s = trim(s);
  if (s.empty() || s[0] != '[') return std::nullopt;
  std::size_t j = 1;
  while (j < s.size() && s[j] == ' ') ++j;
  const std::size_t start = j;
  while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
  const std::size_t end = j;
  while (j < s.size() && s[j] == ' ') ++j;
  if (end == start || j >= s.size() || s[j] != ']') return std::nullopt;
  return parse_int(s.substr(start, std::min<std::size_t>(end - start, 15)));
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 15 && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// The content of the first ``` fenced block (language tag dropped), if any.
std::optional<std::string> fenced_block(std::string_view text) {
  const auto open = text.find("```");
  if (open == std::string_view::npos) return std::nullopt;
  auto body_start = text.find('\n', open + 3);
  if (body_start == std::string_view::npos) return std::nullopt;
  ++body_start;
  const auto close = text.find("```", body_start);
  return std::string(text.substr(body_start, (close == std::string_view::npos ? text.size() : close) - body_start));
}

// Parses `text` as JSON; nullopt when it is not (every JSON error, including
// numbers beyond double's range, means "not JSON": model output is untrusted).
std::optional<nlohmann::json> try_json(std::string_view text) {
  try {
    auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// A JSON document inside `text`: the whole text, or — when the text has no
// "[i]" references, which a partial parse would cut apart — from the first
// '[' or '{' that opens a line or follows "...:" (prose such as "Here is my
// ranking:") to the last matching bracket.
std::optional<nlohmann::json> find_json(std::string_view text) {
  const auto t = trim(text);
  if (t.empty()) return std::nullopt;
  if (t.front() == '[' || t.front() == '{')
    if (auto j = try_json(t)) return j;
  if (bracket_indices(text)) return std::nullopt;
  for (std::size_t at = 0, tries = 0; at < text.size() && tries < 4; ++at) {
    const char c = text[at];
    if (c != '[' && c != '{') continue;
    if (at > 0 && text[at - 1] != '\n' && text[at - 1] != ' ' && text[at - 1] != ':') continue;
    ++tries;
    const auto close = text.rfind(c == '[' ? ']' : '}');
    if (close == std::string_view::npos || close <= at) break;
    if (auto j = try_json(text.substr(at, close - at + 1))) return j;
  }
  return std::nullopt;
}

// The list of entries in a JSON answer: the document itself when it is an
// array, else the array under a ranking-like key, else the first array value,
// searching nested objects (three levels).
const nlohmann::json* find_json_list(const nlohmann::json& j, int depth = 0) {
  if (j.is_array()) return &j;
  if (!j.is_object() || depth > 3) return nullptr;
  static const char* const preferred[] = {"ranking",  "ranked",  "rankings", "recommendations", "recommended", "items",
                                          "movies",   "titles",  "results",  "list",            "candidates",  "answer",
                                          "order",    "songs",   "artists",  "books",           "output"};
  for (const char* key : preferred)
    for (auto it = j.begin(); it != j.end(); ++it)
      if (ascii_lower(it.key()) == key && it.value().is_array()) return &it.value();
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.value().is_array()) return &it.value();
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.value().is_object())
      if (const auto* list = find_json_list(it.value(), depth + 1)) return list;
  return nullptr;
}

// A JSON object's single string value (e.g. {"answer": "1. Heat\n2. ..."}), if it has exactly one.
const nlohmann::json* single_string_value(const nlohmann::json& j) {
  if (!j.is_object()) return nullptr;
  const nlohmann::json* found = nullptr;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.value().is_string()) {
      if (found) return nullptr;
      found = &it.value();
    }
  return found;
}

class AnswerReader {
 public:
  AnswerReader(std::span<const std::string> titles, double threshold, RankResponse& response)
      : grounder_(titles, threshold), sink_(static_cast<int>(titles.size()), response) {}
  // A candidate-free answer: entries are catalog items; "[i]" references name nothing.
  AnswerReader(const CatalogGrounder& catalog, RankResponse& response) : grounder_(catalog), sink_(0, response, catalog.size()) {
    sink_.record_entries();
  }

  EntrySink& sink() { return sink_; }

  // A title-or-reference string from a list (JSON element, table cell, list line).
  void title_entry(std::string_view raw) {
    bool marked = false;
    const auto entry = strip_marker(raw, marked);
    if (auto i = leading_bracket_index(entry)) return sink_.index(*i);
    if (auto m = grounder_.match(entry)) return sink_.candidate(*m);
    if (all_digits(trim(entry))) {
      if (auto i = parse_int(trim(entry))) return sink_.index(*i);
    }
    const auto text = strip_decoration(entry);
    if (!text.empty()) sink_.ungrounded(text);
  }

  // Entries of a JSON list. Returns false when the list holds nothing usable
  // as entries (then the text grounder gets a chance).
  bool json_list(const nlohmann::json& list) {
    bool any = false;
    for (const auto& e : list) {
      if (e.is_string()) {
        title_entry(e.get_ref<const std::string&>());
        any = true;
      } else if (e.is_number_integer() || e.is_number_unsigned()) {
        sink_.index(e.is_number_unsigned() ? static_cast<long long>(std::min<std::uint64_t>(e.get<std::uint64_t>(), 1ULL << 62))
                                           : e.get<long long>());
        any = true;
      } else if (e.is_object()) {
        any = json_object_entry(e) || any;
      }
    }
    return any;
  }

  // Free text: "[i]" references, or lines (numbered, bulleted, plain, table
  // rows, one-line separated lists).
  void text(std::string_view body) {
    if (auto indices = bracket_indices(body)) {
      for (auto i : *indices) sink_.index(i);
      return;
    }
    struct Line {
      std::string text;
      bool marked;
      bool table;
    };
    std::vector<Line> lines;
    bool any_marked = false;
    for (auto raw : split(body, "\n")) {
      const auto t = trim(raw);
      if (t.empty()) continue;
      if (t.front() == '|') {
        lines.push_back({std::string(t), true, true});
        continue;
      }
      bool marked = false;
      const auto entry = strip_marker(t, marked);
      if (trim(entry).empty()) continue;
      lines.push_back({std::string(entry), marked, false});
      any_marked = any_marked || marked;
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const auto& line = lines[i];
      if (line.table) {
        table_row(line.text, i + 1 < lines.size() && lines[i + 1].table && is_table_rule(lines[i + 1].text));
        continue;
      }
      // "A > B > C" on one line is a list of its parts.
      if (line.text.find(" > ") != std::string::npos) {
        for (auto part : split(line.text, " > "))
          if (!trim(part).empty()) line_entry(part, true, any_marked);
        continue;
      }
      if (!line.marked && separated_list(line.text)) continue;
      line_entry(line.text, line.marked, any_marked);
    }
  }

 private:
  void line_entry(std::string_view entry, bool marked, bool any_marked) {
    if (auto index = grounder_.match(entry)) return sink_.candidate(*index);
    if (marked || (!any_marked && !looks_like_prose(entry))) sink_.ungrounded(strip_decoration(entry));
  }

  bool json_object_entry(const nlohmann::json& e) {
    static const char* const title_keys[] = {"title", "name", "item", "movie", "film", "song", "track", "artist", "book",
                                             "recommendation", "candidate"};
    static const char* const index_keys[] = {"index", "id", "candidate_id", "item_id", "number", "position", "candidate_index"};
    for (const char* key : title_keys)
      for (auto it = e.begin(); it != e.end(); ++it)
        if (ascii_lower(it.key()) == key && it.value().is_string()) {
          title_entry(it.value().get_ref<const std::string&>());
          return true;
        }
    for (const char* key : index_keys)
      for (auto it = e.begin(); it != e.end(); ++it) {
        if (ascii_lower(it.key()) != key) continue;
        if (it.value().is_number_integer()) {
          sink_.index(it.value().get<long long>());
          return true;
        }
        if (it.value().is_string()) {
          title_entry(it.value().get_ref<const std::string&>());
          return true;
        }
      }
    sink_.ungrounded(utf8_prefix(e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 200));
    return true;
  }

  static bool is_table_rule(std::string_view row) {
    return std::all_of(row.begin(), row.end(), [](char c) { return c == '|' || c == '-' || c == ':' || c == ' ' || c == '\t'; });
  }

  // One markdown table row: the first cell that grounds is the entry. A row
  // followed by the |---| rule is the header.
  void table_row(std::string_view row, bool header) {
    if (header || is_table_rule(row)) return;
    std::vector<std::string_view> cells;
    for (auto cell : split(row, "|"))
      if (!trim(cell).empty()) cells.push_back(trim(cell));
    std::optional<std::string_view> first_text;
    for (auto cell : cells) {
      if (auto i = leading_bracket_index(cell)) return sink_.index(*i);
      if (auto m = grounder_.match(cell)) return sink_.candidate(*m);
      const auto plain = strip_decoration(cell);
      if (!first_text && !all_digits(trim(plain)) && !plain.empty() && !(plain.back() == '.' && all_digits(plain.substr(0, plain.size() - 1))))
        first_text = cell;
    }
    if (first_text) sink_.ungrounded(strip_decoration(*first_text));
  }

  // "Heat (1995), Casino (1995); Toy Story (1995)": splits at ',', ';' and '>',
  // joining neighbouring parts back when together they name a candidate
  // (titles contain commas: "Usual Suspects, The (1995)"). A line is a list
  // only when at least two of its parts ground; then the rest are
  // hallucinations. Returns whether the line was read as a list.
  bool separated_list(std::string_view line) {
    if (grounder_.match_whole(line)) return false;
    std::vector<std::pair<std::size_t, std::size_t>> parts;  // [begin, end) in line
    std::size_t begin = 0;
    for (std::size_t i = 0; i <= line.size(); ++i)
      if (i == line.size() || line[i] == ',' || line[i] == ';' || line[i] == '>') {
        parts.emplace_back(begin, i);
        begin = i + 1;
      }
    if (parts.size() < 2) return false;
    struct Piece {
      std::optional<int> candidate;
      std::string text;
    };
    std::vector<Piece> pieces;
    int grounded = 0;
    for (std::size_t i = 0; i < parts.size();) {
      std::optional<int> found;
      std::size_t used = 1;
      for (std::size_t j = std::min(parts.size(), i + 4); j > i + 1 && !found; --j) {
        if ((found = grounder_.match_whole(line.substr(parts[i].first, parts[j - 1].second - parts[i].first)))) used = j - i;
      }
      const auto part = trim(line.substr(parts[i].first, parts[i].second - parts[i].first));
      if (!found) found = grounder_.match(part);
      if (found) ++grounded;
      if (found || !part.empty()) pieces.push_back({found, strip_decoration(part)});
      i += used;
    }
    if (grounded < 2) return false;
    for (auto& p : pieces) {
      if (p.candidate) sink_.candidate(*p.candidate);
      else if (!p.text.empty()) sink_.ungrounded(std::move(p.text));
    }
    return true;
  }

  Grounder grounder_;
  EntrySink sink_;
};

}  // namespace

namespace {

// The reading rules of ground_answer over any reader.
void read_answer(std::string_view raw, AnswerReader& reader, RankResponse& response) {
  const std::string text = strip_think_blocks(raw);
  const auto fenced = fenced_block(text);
  const std::string_view body = fenced ? std::string_view(*fenced) : std::string_view(text);
  bool done = false;
  if (auto doc = find_json(body)) {
    if (const auto* list = find_json_list(*doc)) {
      done = reader.json_list(*list);
    } else if (const auto* value = single_string_value(*doc)) {
      reader.text(value->get_ref<const std::string&>());
      done = true;
    }
  }
  if (!done) reader.text(body);
  // Prose around a fenced block that held no entries: read the whole answer.
  if (!reader.sink().any() && fenced) reader.text(text);
  if (!reader.sink().any()) response.parse_failures += 1;
}

}  // namespace

void ground_answer(std::string_view raw, std::span<const std::string> titles, const GroundingOptions& options,
                   RankResponse& response) {
  AnswerReader reader(titles, options.fuzzy_threshold, response);
  read_answer(raw, reader, response);
  if (options.repair) {
    const auto& taken = reader.sink().taken();
    if (response.ranking.empty() && !taken.empty()) response.first_entry_unusable = true;
    for (std::size_t i = 0; i < taken.size(); ++i)
      if (!taken[i]) {
        response.ranking.push_back(static_cast<int>(i));
        ++response.repaired;
      }
  }
}

void ground_open_answer(std::string_view raw, const CatalogGrounder& catalog, RankResponse& response) {
  AnswerReader reader(catalog, response);
  read_answer(raw, reader, response);
  // A grounded entry is recorded as its item's normalised title.
  for (auto& e : response.entries)
    if (!e.empty() && e[0] == '\x01') e = catalog.normalised_title(static_cast<ItemIndex>(std::stol(e.substr(1))));
}

EntrySink::EntrySink(int k, RankResponse& response) : EntrySink(k, response, static_cast<std::size_t>(std::max(k, 0))) {}
EntrySink::EntrySink(int k, RankResponse& response, std::size_t slots) : k_(k), taken_(slots, 0), response_(response) {}

void EntrySink::candidate(int index) {
  if (record_) response_.entries.push_back("\x01" + std::to_string(index));
  if (taken_[static_cast<std::size_t>(index)]) {
    ++response_.duplicates;
    first(false);
  } else {
    taken_[static_cast<std::size_t>(index)] = 1;
    response_.ranking.push_back(index);
    first(true);
  }
}

void EntrySink::index(long long i) {
  if (i < 1 || i > k_) {
    ++response_.out_of_range;
    first(false);
  } else {
    candidate(static_cast<int>(i - 1));
  }
}

void EntrySink::ungrounded(std::string text) {
  if (record_) response_.entries.push_back(normalize_title(text));
  response_.ungrounded.push_back(std::move(text));
  first(false);
}

void EntrySink::first(bool usable) {
  if (!seen_ && !usable) response_.first_entry_unusable = true;
  seen_ = true;
}

void reset_grounding(RankResponse& response) {
  response.ranking.clear();
  response.ungrounded.clear();
  response.duplicates = 0;
  response.out_of_range = 0;
  response.parse_failures = 0;
  response.repaired = 0;
  response.first_entry_unusable = false;
  response.entries.clear();
}

}  // namespace recbias
