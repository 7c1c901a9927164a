// How stated attributes read in a prompt (issue: attributes in words, as the
// papers state them — "I am a woman", "a 25-year-old" — rather than a
// key-value line). A phrase completes "I am ..."; {{profile_sentence}}
// (prompt_template.h) joins a request's phrases into one sentence:
// "I am 25 to 34 years old, a woman and an engineer.". The built-in table
// (adapters/data/attribute_phrases.json, embedded at build time) covers the
// MovieLens 100K / 1M attributes and FaiRLLM's values; `--phrases FILE`
// (the same JSON shape) overrides or extends it. A value without a phrase
// reads "someone whose <attribute> is <value>".
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace recbias {

class PhraseTable {
 public:
  static std::shared_ptr<const PhraseTable> builtin();
  // The built-in table with `path`'s entries over it. BadInput naming the
  // file and field for anything but {"attribute": {"value": "phrase"}}.
  static std::shared_ptr<const PhraseTable> load(const std::string& path);
  static std::shared_ptr<const PhraseTable> parse(const std::string& text, const std::string& origin,
                                                  std::shared_ptr<const PhraseTable> base);

  // The phrase for a value with {item} filled in; nullopt when the table has none.
  std::optional<std::string> phrase(const std::string& attribute, const std::string& value, const std::string& item) const;
  // The phrase, or the fallback "someone whose <attribute> is <value>".
  std::string phrase_or_fallback(const std::string& attribute, const std::string& value, const std::string& item) const;
  // "I am A, B and C.", or "" for no attributes.
  std::string sentence(const std::map<std::string, std::string>& attributes, const std::string& item) const;

  const std::string& source() const { return source_; }   // "built-in" or the file
  const std::string& sha256() const { return sha256_; }   // of the resolved table (for ids and reports)
  const std::map<std::string, std::map<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::map<std::string, std::map<std::string, std::string>> entries_;
  std::string source_, sha256_;
};

}  // namespace recbias
