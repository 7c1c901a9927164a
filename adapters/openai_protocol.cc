#include "adapters/openai_protocol.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "adapters/grounding.h"
#include "adapters/recommender.h"
#include "core/errors.h"
#include "core/text.h"

namespace recbias {
namespace {

using nlohmann::json;

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// log(exp(a) + exp(b)) with -inf as the empty sum.
double log_add(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  const double m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

// The entries of a top_logprobs array; skips malformed ones.
std::vector<TokenLogprob> read_top_logprobs(const json& array) {
  std::vector<TokenLogprob> out;
  if (!array.is_array()) return out;
  for (const auto& e : array) {
    if (!e.is_object()) continue;
    const auto token = e.find("token");
    const auto logprob = e.find("logprob");
    if (token == e.end() || !token->is_string() || logprob == e.end() || !logprob->is_number()) continue;
    const double lp = logprob->get<double>();
    if (!std::isfinite(lp) && lp != kNegInf) continue;
    out.push_back({token->get<std::string>(), lp});
  }
  return out;
}

// choices[0].logprobs of an answer, when it is an object.
const json* choice_logprobs(const json& body) {
  if (!body.is_object()) return nullptr;
  const auto choices = body.find("choices");
  if (choices == body.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) return nullptr;
  const auto& choice = (*choices)[0];
  const auto logprobs = choice.find("logprobs");
  return logprobs != choice.end() && logprobs->is_object() ? &*logprobs : nullptr;
}

template <class E>
std::string name_in(const std::map<std::string, E>& names, E value) {
  for (const auto& [name, v] : names)
    if (v == value) return name;
  return "?";
}

}  // namespace

const std::map<std::string, Scoring>& scoring_names() {
  static const std::map<std::string, Scoring> names = {
      {"generate", Scoring::kGenerate}, {"first-token", Scoring::kFirstToken}, {"pointwise", Scoring::kPointwise}, {"loglik", Scoring::kLoglik}};
  return names;
}

std::string scoring_name(Scoring s) { return name_in(scoring_names(), s); }

const std::map<std::string, Structured>& structured_names() {
  static const std::map<std::string, Structured> names = {{"off", Structured::kOff},
                                                         {"json_schema", Structured::kJsonSchema},
                                                         {"vllm", Structured::kVllm},
                                                         {"guided_json", Structured::kGuidedJson},
                                                         {"llama", Structured::kLlama}};
  return names;
}

std::string structured_name(Structured s) { return name_in(structured_names(), s); }

std::string candidate_label(std::size_t i) {
  if (i >= kMaxLabels) throw InternalError(fmt::format("candidate_label({}): only {} single-letter labels", i, kMaxLabels));
  return std::string(1, static_cast<char>('A' + i));
}

std::optional<std::vector<TokenLogprob>> first_token_top_logprobs(const json& body) {
  const json* logprobs = choice_logprobs(body);
  if (!logprobs) return std::nullopt;
  const auto content = logprobs->find("content");
  if (content == logprobs->end() || !content->is_array() || content->empty() || !(*content)[0].is_object()) return std::nullopt;
  const auto& first = (*content)[0];
  const auto top = first.find("top_logprobs");
  if (top == first.end() || !top->is_array()) return std::nullopt;
  auto out = read_top_logprobs(*top);
  // The sampled token itself, when top_logprobs left it out (some servers list it only there).
  const auto token = first.find("token");
  const auto logprob = first.find("logprob");
  if (token != first.end() && token->is_string() && logprob != first.end() && logprob->is_number() &&
      std::none_of(out.begin(), out.end(), [&](const auto& t) { return t.token == token->get_ref<const std::string&>(); })) {
    const double lp = logprob->get<double>();
    if (std::isfinite(lp)) out.push_back({token->get<std::string>(), lp});
  }
  return out;
}

std::vector<float> first_token_scores(std::span<const TokenLogprob> top, std::size_t k) {
  std::vector<double> s(k, kNegInf);
  for (const auto& t : top) {
    const auto token = trim(t.token);
    if (token.size() != 1 || token[0] < 'A' || static_cast<std::size_t>(token[0] - 'A') >= std::min(k, kMaxLabels)) continue;
    auto& v = s[static_cast<std::size_t>(token[0] - 'A')];
    v = log_add(v, t.logprob);
  }
  return {s.begin(), s.end()};
}

std::optional<double> yes_no_score(std::span<const TokenLogprob> top) {
  double yes = kNegInf, no = kNegInf, smallest = std::numeric_limits<double>::infinity();
  for (const auto& t : top) {
    smallest = std::min(smallest, t.logprob);
    const auto token = ascii_lower(trim(t.token));
    if (token == "yes") yes = log_add(yes, t.logprob);
    if (token == "no") no = log_add(no, t.logprob);
  }
  if (yes == kNegInf && no == kNegInf) return std::nullopt;
  if (yes == kNegInf) yes = smallest;  // at most the smallest listed
  if (no == kNegInf) no = smallest;
  if (!std::isfinite(yes) || !std::isfinite(no)) return std::nullopt;
  return yes - no;
}

std::optional<std::vector<double>> echoed_logprobs(const json& body, std::size_t from, std::size_t to) {
  const json* logprobs = choice_logprobs(body);
  if (!logprobs) return std::nullopt;
  const auto values = logprobs->find("token_logprobs");
  const auto offsets = logprobs->find("text_offset");
  if (values == logprobs->end() || offsets == logprobs->end() || !values->is_array() || !offsets->is_array() ||
      values->size() != offsets->size())
    return std::nullopt;
  std::vector<double> out;
  for (std::size_t i = 0; i < values->size(); ++i) {
    const auto& offset = (*offsets)[i];
    if (!offset.is_number_unsigned() && !(offset.is_number_integer() && offset.get<std::int64_t>() >= 0)) return std::nullopt;
    const auto at = offset.get<std::uint64_t>();
    if (at < from || at >= to) continue;
    const auto& v = (*values)[i];
    if (!v.is_number() || !std::isfinite(v.get<double>())) return std::nullopt;  // a title token without a logprob
    out.push_back(v.get<double>());
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::size_t code_points(std::string_view utf8) {
  std::size_t n = 0;
  for (unsigned char c : utf8) n += (c & 0xC0) != 0x80;
  return n;
}

json top_logprobs_json(std::span<const TokenLogprob> top) {
  json out = json::array();
  for (const auto& t : top) out.push_back({{"token", t.token}, {"logprob", t.logprob}});
  return out;
}

void ground_scores(std::string_view raw_body, Scoring scoring, bool loglik_mean, const RankRequest& request, RankResponse& response) {
  reset_grounding(response);
  const std::size_t k = request.candidates.size();
  std::vector<float> scores(k, -std::numeric_limits<float>::infinity());
  json raw = json::parse(raw_body, nullptr, /*allow_exceptions=*/false);
  bool readable = raw.is_object();
  if (readable && scoring == Scoring::kFirstToken) {
    const auto top = raw.find("top_logprobs");
    if (top != raw.end() && top->is_array()) {
      const auto entries = read_top_logprobs(*top);
      scores = first_token_scores(entries, k);
    } else {
      readable = false;
    }
  } else if (readable && (scoring == Scoring::kPointwise || scoring == Scoring::kLoglik)) {
    const auto candidates = raw.find("candidates");
    if (candidates != raw.end() && candidates->is_array() && candidates->size() == k) {
      for (std::size_t j = 0; j < k; ++j) {
        const auto& c = (*candidates)[j];
        if (!c.is_array()) continue;
        if (scoring == Scoring::kPointwise) {
          const auto entries = read_top_logprobs(c);
          if (const auto s = yes_no_score(entries)) scores[j] = static_cast<float>(*s);
        } else {
          double sum = 0;
          std::size_t n = 0;
          bool ok = !c.empty();
          for (const auto& v : c) {
            if (!v.is_number() || !std::isfinite(v.get<double>())) ok = false;
            else sum += v.get<double>(), ++n;
          }
          if (ok) scores[j] = static_cast<float>(loglik_mean ? sum / static_cast<double>(n) : sum);
        }
      }
    } else {
      readable = false;
    }
  } else {
    readable = false;
  }
  const bool any = std::any_of(scores.begin(), scores.end(), [](float s) { return std::isfinite(s); });
  if (!readable || !any) {
    response.parse_failures = 1;
    response.first_entry_unusable = true;
    response.scores = std::move(scores);
    return;
  }
  for (int p : top_k_by_score(scores, request.candidates, request.k))
    if (std::isfinite(scores[static_cast<std::size_t>(p)])) response.ranking.push_back(p);
  response.scores = std::move(scores);
}

json ranking_schema(std::span<const std::string> titles, int k) {
  json names = json::array();
  std::set<std::string> seen;
  for (const auto& t : titles)
    if (seen.insert(t).second) names.push_back(t);
  return {{"type", "object"},
          {"properties",
           {{"ranking", {{"type", "array"}, {"items", {{"type", "string"}, {"enum", names}}}, {"minItems", k}, {"maxItems", k}}}}},
          {"required", {"ranking"}},
          {"additionalProperties", false}};
}

void add_constraint(json& body, Structured structured, const json& schema) {
  switch (structured) {
    case Structured::kOff:
      return;
    case Structured::kJsonSchema:
      body["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"name", "ranking"}, {"strict", true}, {"schema", schema}}}};
      return;
    case Structured::kVllm:
      body["structured_outputs"] = {{"json", schema}};
      return;
    case Structured::kGuidedJson:
      body["guided_json"] = schema;
      return;
    case Structured::kLlama:
      body["json_schema"] = schema;
      return;
  }
}

bool follows_ranking_schema(std::string_view content, std::span<const std::string> titles, int k) {
  const json answer = json::parse(strip_think_blocks(content), nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || answer.size() != 1) return false;
  const auto ranking = answer.find("ranking");
  if (ranking == answer.end() || !ranking->is_array() || ranking->size() != static_cast<std::size_t>(k)) return false;
  std::set<std::string> allowed(titles.begin(), titles.end()), used;
  for (const auto& e : *ranking) {
    if (!e.is_string() || !allowed.count(e.get<std::string>()) || !used.insert(e.get<std::string>()).second) return false;
  }
  return true;
}

}  // namespace recbias
