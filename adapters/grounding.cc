#include "adapters/grounding.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "core/text.h"

namespace recbias {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

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

class Grounder {
 public:
  Grounder(std::span<const std::string> titles, double threshold) : threshold_(threshold) {
    for (const auto& t : titles)
      keys_.push_back({t, normalize_words(drop_parentheses(t, true)), normalize_words(drop_parentheses(t, false))});
  }

  std::optional<int> match(std::string_view raw) const {
    const std::string entry = strip_decoration(raw);
    if (entry.empty()) return std::nullopt;
    if (auto m = match_exactly(entry)) return m;
    // Drop a trailing description: "Heat (1995) - a crime epic", "Heat: great cast".
    for (std::string_view sep : {" - ", " \xe2\x80\x93 ", " \xe2\x80\x94 ", ": "}) {
      const auto at = entry.find(sep);
      if (at != std::string::npos && at > 0)
        if (auto m = match_exactly(entry.substr(0, at))) return m;
    }
    return match_fuzzily(entry);
  }

  std::size_t size() const { return keys_.size(); }

 private:
  std::optional<int> match_exactly(const std::string& entry) const {
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
  const std::string lowered = to_lower(text);
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

void ground_answer(std::string_view raw, std::span<const std::string> titles, const GroundingOptions& options,
                   RankResponse& response) {
  const std::string text = strip_think_blocks(raw);
  const int k = static_cast<int>(titles.size());
  std::vector<char> taken(titles.size(), 0);
  auto take = [&](int index) {
    if (taken[static_cast<std::size_t>(index)]) {
      ++response.duplicates;
    } else {
      taken[static_cast<std::size_t>(index)] = 1;
      response.ranking.push_back(index);
    }
  };
  bool any_entry = false;

  if (auto indices = bracket_indices(text)) {
    for (auto i : *indices) {
      any_entry = true;
      if (i < 1 || i > k) ++response.out_of_range;
      else take(static_cast<int>(i - 1));
    }
  } else {
    const Grounder grounder(titles, options.fuzzy_threshold);
    std::vector<std::string> lines;
    for (auto line : split(text, "\n")) {
      // "A > B > C" on one line is a list too.
      if (line.find(" > ") != std::string_view::npos)
        for (auto part : split(line, " > ")) lines.emplace_back(part);
      else
        lines.emplace_back(line);
    }
    struct Parsed {
      std::string entry;
      bool marked;
    };
    std::vector<Parsed> parsed;
    bool any_marked = false;
    for (const auto& line : lines) {
      bool marked = false;
      const auto entry = strip_marker(line, marked);
      if (trim(entry).empty()) continue;
      parsed.push_back({std::string(entry), marked});
      any_marked = any_marked || marked;
    }
    for (const auto& p : parsed) {
      if (auto index = grounder.match(p.entry)) {
        any_entry = true;
        take(*index);
      } else if (p.marked || (!any_marked && !looks_like_prose(p.entry))) {
        any_entry = true;
        response.ungrounded.push_back(strip_decoration(p.entry));
      }
    }
  }
  if (!any_entry) response.parse_failures += 1;
  if (options.repair) {
    for (int i = 0; i < k; ++i)
      if (!taken[static_cast<std::size_t>(i)]) {
        response.ranking.push_back(i);
        ++response.repaired;
      }
  }
}

}  // namespace recbias
