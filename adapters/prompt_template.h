// Prompt templates: text with named placeholders, split into chat messages.
//
// A template file is plain UTF-8 text. A line "[system]" or "[user]" starts
// that message; text before the first such line belongs to the user message.
// Placeholders (unknown ones are rejected when the template is loaded):
//
//   {{profile_sentence}} the stated attributes in words, "I am 25 to 34 years old and a woman.\n"
//                        (phrases.h), or "" when no attribute is stated
//   {{attribute:NAME}}   the phrase of attribute NAME ("a woman"), or "" when it is not stated
//   {{user_profile}}     the key-value form, "User profile: age: 25-34; gender: F.\n", or 
//   {{history}}          the user's last max_history items, one per line: "1. Heat (1995)"
//   {{candidates}}       numbered for index answers: "[1] Heat (1995)" per line
//   {{candidate_titles}} a plain title list: "Heat (1995)" per line
//   {{lettered}}         lettered for first-token scoring: "A. Heat (1995)" per line
//   {{candidate}}        the one candidate a pointwise prompt asks about
//   {{n}}                number of candidates      {{k}}  length of the answer asked for
//   {{item}}             what the items are ("movie"; adapter option item=...)
//   {{fan_of}}           the seed name of FaiRLLM's protocol ("I am a fan of {{fan_of}}"), or ""
//   {{fairllm_attr}}     the stated value verbatim, as FaiRLLM inserts it ("a female"); "a" when
//                        none is stated; stated pairs "v1 and v2"
//
// Built-in templates state attributes in words ({{profile_sentence}}):
// "listwise" (answers "[3] > [1] > [2]"), "titles"
// (LLMRank-style, answers with titles, one per line), "json" (answers
// {"ranking": [titles]}, for structured outputs), and the scoring modes'
// "first-token" (answers a letter), "pointwise" (answers Yes or No about
// {{candidate}}) and "loglik" (a completion prompt the title follows).
// Candidate-free requests: "open" (FaiRLLM's request with the user's
// history) and "fairllm-movie" / "fairllm-music" (FaiRLLM's benchmark
// prompts word for word: "I am {{fairllm_attr}} fan of {{fan_of}}. ...").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/phrases.h"
#include "core/catalog.h"
#include "core/rank.h"

namespace recbias {

struct ChatMessage {
  std::string role;     // "system" or "user"
  std::string content;
};

class PromptTemplate {
 public:
  // A built-in template by name, or a template file when `name_or_path` is
  // not a built-in name. Throws BadInput for an unreadable file, unknown
  // placeholders (naming them and listing the known ones) or no user message.
  static PromptTemplate load(const std::string& name_or_path);
  static PromptTemplate from_text(const std::string& text, const std::string& origin);

  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  std::string sha256() const;  // of the template text; part of the adapter id

  // Renders the messages for one request; `candidate` (a presented
  // position) fills {{candidate}}.
  std::vector<ChatMessage> render(const RankRequest& request, const Catalog& catalog, int max_history,
                                  const std::string& item_kind, std::optional<std::size_t> candidate = std::nullopt) const;

  // Whether the template text holds {{placeholder}}.
  bool uses(const std::string& placeholder) const;
  // Whether rendering reads the phrase table ({{profile_sentence}} or {{attribute:...}}).
  bool uses_phrases() const;
  // The phrase table rendering uses (default: PhraseTable::builtin()).
  void set_phrases(std::shared_ptr<const PhraseTable> phrases) { phrases_ = std::move(phrases); }
  const PhraseTable& phrases() const { return *phrases_; }

  static const std::vector<std::string>& placeholders();
  static std::vector<std::string> builtin_names();

 private:
  std::string name_;
  std::string text_;
  std::vector<ChatMessage> parts_;  // unrendered
  std::shared_ptr<const PhraseTable> phrases_ = PhraseTable::builtin();
};

}  // namespace recbias
