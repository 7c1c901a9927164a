#include "adapters/registry.h"


#include <fmt/format.h>
#include <fmt/ranges.h>

#include "adapters/exec_recommender.h"
#include "adapters/itemknn_recommender.h"
#include "adapters/openai_recommender.h"
#include "adapters/popularity_recommender.h"
#include "adapters/random_recommender.h"
#include "adapters/simulated_recommender.h"
#include "adapters/torchscript_factory.h"
#include "core/file_io.h"
#include "core/json_io.h"
#include "core/errors.h"
#include "core/registry.h"
#include "core/text.h"

namespace recbias {
namespace {

GroundingOptions grounding_from(const AdapterSpec& spec) {
  GroundingOptions g;
  g.fuzzy_threshold = spec.get_double("fuzzy_threshold", g.fuzzy_threshold, 0.0, 1.0);
  g.repair = spec.get_bool("repair", g.repair);
  return g;
}

const std::vector<AdapterKey> kGroundingKeys = {
    {"fuzzy_threshold", "0.9", "minimum longest-common-subsequence ratio for a fuzzy title match"},
    {"repair", "false", "append candidates the answer left out (counted; creates position bias)"},
};

std::vector<AdapterKey> with_grounding(std::vector<AdapterKey> keys) {
  keys.insert(keys.end(), kGroundingKeys.begin(), kGroundingKeys.end());
  return keys;
}

// A key whose value is one of `names`.
template <class E>
E named(const AdapterSpec& spec, const std::string& key, const std::map<std::string, E>& names, E fallback) {
  const auto value = spec.get_optional(key);
  if (!value) return fallback;
  const auto it = names.find(*value);
  if (it == names.end()) {
    std::vector<std::string> known;
    for (const auto& [name, e] : names) known.push_back(name);
    throw BadInput(fmt::format("adapter {}: {}={}: expected one of {}", spec.name(), key, *value, fmt::join(known, ", ")));
  }
  return it->second;
}

// The pass-through body: extra=@FILE.json (an object) merged with every
// extra.KEY=VALUE (VALUE read as JSON when it is JSON — 40, true, "x",
// {"a":1} — else as a string). The same key from both with different values
// is an error.
nlohmann::json extra_body(const AdapterSpec& spec) {
  nlohmann::json extra = nlohmann::json::object();
  if (const auto file = spec.get_optional("extra")) {
    if (file->empty() || (*file)[0] != '@')
      throw BadInput(fmt::format("adapter {}: extra={}: expected @FILE.json (a JSON object), or extra.KEY=VALUE keys", spec.name(), *file));
    const auto path = file->substr(1);
    const auto text = read_whole_file(path);
    if (!text) throw BadInput(fmt::format("adapter {}: extra=@{}: cannot read that file", spec.name(), path));
    extra = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (extra.is_discarded()) throw BadInput(fmt::format("{}: invalid JSON (extra=@{} of adapter {})", path, path, spec.name()));
    if (!extra.is_object())
      throw BadInput(fmt::format("{}: expected a JSON object of request body fields, found {} (extra=@{})", path, json_type_name(extra), path));
  }
  for (const auto& key : spec.keys_with_prefix("extra.")) {
    const auto field = key.substr(6);
    if (field.empty()) throw BadInput(fmt::format("adapter {}: {}: expected extra.FIELD=VALUE", spec.name(), key));
    const auto text = spec.get_string(key, "");
    auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = text;
    if (extra.contains(field) && extra[field] != value)
      throw BadInput(fmt::format("adapter {}: {}={} conflicts with \"{}\": {} from extra=@FILE", spec.name(), key, text, field, extra[field].dump()));
    extra[field] = value;
  }
  return extra;
}

std::unique_ptr<Recommender> openai_factory(const AdapterSpec& spec, const AdapterContext& context) {
  OpenAiOptions o;
  o.base_url = spec.get_string("base_url", o.base_url);
  o.model = spec.get_string("model", o.model);
  o.api_key_env = spec.get_string("api_key_env", o.api_key_env);
  o.temperature = spec.get_double("temperature", o.temperature, 0.0, 2.0);
  o.top_p = spec.get_double("top_p", o.top_p, 0.0, 1.0);
  o.seed = spec.get_int("seed", o.seed, 0, std::int64_t{1} << 53);
  o.max_tokens = static_cast<int>(spec.get_int("max_tokens", o.max_tokens, 1, 1 << 20));
  o.prompt_template = spec.get_string("template", o.prompt_template);
  if (spec.has("open_template")) o.open_template = spec.get_string("open_template", "");
  o.scoring = named(spec, "scoring", scoring_names(), o.scoring);
  o.structured = named(spec, "structured", structured_names(), o.structured);
  o.top_logprobs = static_cast<int>(spec.get_int("top_logprobs", o.top_logprobs, 1, 100));
  const auto loglik = spec.get_string("loglik", "sum");
  if (loglik != "sum" && loglik != "mean") throw BadInput(fmt::format("adapter openai: loglik={}: expected sum or mean", loglik));
  o.loglik_mean = loglik == "mean";
  o.extra = extra_body(spec);
  o.max_history = static_cast<int>(spec.get_int("max_history", o.max_history, 0, 10000));
  o.item = spec.get_string("item", o.item);
  o.in_flight = static_cast<int>(spec.get_int("in_flight", o.in_flight, 1, 4096));
  o.timeout_ms = static_cast<int>(spec.get_int("timeout_ms", o.timeout_ms, 1, 3'600'000));
  o.connect_timeout_ms = static_cast<int>(spec.get_int("connect_timeout_ms", o.connect_timeout_ms, 1, 600'000));
  o.max_retries = static_cast<int>(spec.get_int("max_retries", o.max_retries, 0, 100));
  o.backoff_ms = static_cast<int>(spec.get_int("backoff_ms", o.backoff_ms, 0, 600'000));
  o.max_backoff_ms = static_cast<int>(spec.get_int("max_backoff_ms", o.max_backoff_ms, 0, 3'600'000));
  o.grounding = grounding_from(spec);
  o.phrases = context.phrases;
  return make_openai_recommender(context.catalog, std::move(o));
}

std::unique_ptr<Recommender> exec_factory(const AdapterSpec& spec, const AdapterContext& context) {
  ExecOptions o;
  const auto command = spec.get_string("command", "");
  for (auto part : split(command, " "))
    if (!part.empty()) o.argv.emplace_back(part);
  o.timeout_ms = static_cast<int>(spec.get_int("timeout_ms", o.timeout_ms, 1, 3'600'000));
  o.max_restarts = static_cast<int>(spec.get_int("max_restarts", o.max_restarts, 0, 1000));
  o.restart_backoff_ms = static_cast<int>(spec.get_int("restart_backoff_ms", o.restart_backoff_ms, 0, 60'000));
  o.max_history = static_cast<int>(spec.get_int("max_history", o.max_history, 0, 100000));
  o.scores = spec.get_bool("scores", o.scores);
  o.grounding = grounding_from(spec);
  return make_exec_recommender(context.catalog, std::move(o));
}

std::unique_ptr<Recommender> torchscript_factory(const AdapterSpec& spec, const AdapterContext& context) {
  TorchScriptOptions o;
  o.path = spec.get_string("path", o.path);
  o.device = spec.get_string("device", o.device);
  o.batch_size = static_cast<int>(spec.get_int("batch_size", o.batch_size, 1, 1 << 20));
  const auto maker = installed_torchscript_maker();
  if (!maker)
    throw BadInput("adapter \"torchscript\": this program was built without the TorchScript adapter (link recbias_torchscript and call "
                   "install_torchscript_adapter())");
  return maker(context.catalog, std::move(o));
}

std::unique_ptr<Recommender> simulated_factory(const AdapterSpec& spec, const AdapterContext& context) {
  SimulatedOptions o;
  o.relevance = spec.get_string("relevance", context.training && !context.training->empty() ? "itemknn" : "popularity");
  o.relevance_weight = spec.get_double("relevance_weight", o.relevance_weight, -100, 100);
  o.recency = spec.get_double("recency", o.recency, 0, 100);
  o.popularity_tilt = spec.get_double("popularity_tilt", o.popularity_tilt, -100, 100);
  o.position = spec.get_string("position", o.position);
  o.position_strength = spec.get_double("position_strength", o.position_strength, -100, 100);
  o.position_share = spec.get_double("position_share", 0, 0, 1);
  o.position_users = spec.get_string("position_users", o.position_users);
  o.position_users_strength = spec.get_double("position_users_strength", o.position_users_strength, -100, 100);
  o.favourite_position = spec.get_double("favourite_position", 0, -100, 100);
  o.hallucination_share = spec.get_double("hallucination_share", 0, 0, 1);
  o.hallucination_burst = static_cast<int>(spec.get_int("hallucination_burst", o.hallucination_burst, 1, 1000));
  o.noise = spec.get_double("noise", o.noise, 0, 100);
  o.hallucination_rate = spec.get_double("hallucination_rate", 0, 0, 1);
  o.duplicate_rate = spec.get_double("duplicate_rate", 0, 0, 1);
  o.parse_failure_rate = spec.get_double("parse_failure_rate", 0, 0, 1);
  o.latency_ms = spec.get_double("latency_ms", 0, 0, 3.6e6);
  o.sleep = spec.get_bool("sleep", false);
  o.scores = spec.get_bool("scores", true);
  o.seed = static_cast<std::uint64_t>(spec.get_int("seed", 0, 0, INT64_MAX));
  for (const auto& key : spec.keys_with_prefix("shift.")) {
    // shift.<attribute>.<value>; the value may itself contain dots.
    const auto rest = key.substr(6);
    const auto dot = rest.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == rest.size())
      throw BadInput(fmt::format("adapter simulated: key {}: expected shift.<attribute>.<value>=<logit shift>", key));
    o.shifts[{rest.substr(0, dot), rest.substr(dot + 1)}] = spec.get_double(key, 0, -100, 100);
  }
  return make_simulated_recommender(context, std::move(o));
}

std::vector<AdapterInfo> build_registry() {
  return {
      {"openai", "OpenAI-compatible server (vLLM, Ollama, llama.cpp server, TGI, OpenAI): /v1/chat/completions, and /v1/completions for scoring=loglik",
       with_grounding({
           {"model", "", "model name the server serves (required)"},
           {"base_url", "http://127.0.0.1:8000/v1", "server root; /chat/completions (or /completions) is appended"},
           {"api_key_env", "", "environment variable holding the API key (the key itself is never written anywhere)"},
           {"temperature", "0", "sampling temperature, always sent"},
           {"top_p", "1", "nucleus sampling, always sent"},
           {"seed", "0", "sampling seed, always sent (plus the request's sample number)"},
           {"max_tokens", "512", "completion token limit, always sent"},
           {"scoring", "generate", "generate (parse the written ranking), first-token (labels' first-token logprobs, K <= 20), pointwise "
                                   "(K calls, log P(Yes) - log P(No)), loglik (K /v1/completions calls, the title's log-likelihood)"},
           {"structured", "off", "generate: constrain the answer to {\"ranking\": [k candidate titles]}: json_schema (response_format), "
                                 "vllm (structured_outputs), guided_json (vLLM < 0.12), llama (llama.cpp json_schema)"},
           {"top_logprobs", "20", "pointwise: top_logprobs asked for (Yes/No must be among them)"},
           {"loglik", "sum", "loglik: sum or mean (per token) of the title's log-probabilities"},
           {"extra", "", "@FILE.json: a JSON object merged into every request body (pass-through)"},
           {"extra.*", "", "extra.FIELD=VALUE: one request body field (VALUE as JSON, else text); may not set a field the adapter sets"},
           {"template", "", "prompt template: listwise, titles, json, first-token, pointwise, loglik, or a file; default by scoring mode"},
           {"open_template", "open", "template of candidate-free requests (--probe open): open, or a file"},
           {"max_history", "20", "history items shown in the prompt"},
           {"item", "movie", "what the items are called in prompts"},
           {"in_flight", "8", "concurrent requests"},
           {"timeout_ms", "120000", "per-attempt timeout"},
           {"connect_timeout_ms", "10000", "connection timeout"},
           {"max_retries", "6", "retries on 429/5xx/timeouts/connection errors/malformed JSON"},
           {"backoff_ms", "500", "first retry delay (doubles, with jitter; at least Retry-After)"},
           {"max_backoff_ms", "30000", "retry delay cap"},
       }),
       openai_factory},
      {"torchscript", "TorchScript module in-process on CPU or CUDA (contract in DESIGN.md)",
       {
           {"path", "", "the .pt module; the side-car is the same path with .json (required)"},
           {"device", "cpu", "cpu, cuda or cuda:N"},
           {"batch_size", "256", "requests per forward"},
       },
       torchscript_factory},
      {"exec", "any program speaking JSON Lines on stdin/stdout (protocol in README)",
       with_grounding({
           {"command", "", "program and arguments, split on spaces, no shell (required)"},
           {"timeout_ms", "60000", "per-request timeout before the program is restarted"},
           {"max_restarts", "5", "consecutive failures before giving up"},
           {"restart_backoff_ms", "100", "first restart delay (doubles)"},
           {"max_history", "50", "history items sent"},
           {"scores", "false", "the program returns scores"},
       }),
       exec_factory},
      {"popularity", "most popular first (training interactions); non-personalised baseline", {},
       [](const AdapterSpec&, const AdapterContext& c) { return make_popularity_recommender(c.catalog); }},
      {"itemknn", "item-item cosine collaborative filtering over training interactions", {},
       [](const AdapterSpec&, const AdapterContext& c) { return make_itemknn_recommender(c.catalog, c.training); }},
      {"random", "uniform random scores per (user, item, sample); independent of presented order",
       {{"seed", "0", "random seed"}},
       [](const AdapterSpec& s, const AdapterContext& c) {
         return make_random_recommender(c.catalog, static_cast<std::uint64_t>(s.get_int("seed", 0, 0, INT64_MAX)));
       }},
      {"simulated", "recommender with known, configurable biases, for validating audits",
       {
           {"relevance", "itemknn", "relevance signal: itemknn, popularity or none"},
           {"relevance_weight", "1", "weight of the standardised relevance"},
           {"recency", "0", "itemknn: weight recent history items more (exp(-recency * age)); 0: order-blind"},
           {"popularity_tilt", "0", "weight of standardised log(1 + popularity)"},
           {"position", "none", "position bias: none, primacy, recency, llmrank, or logits b0;b1;..."},
           {"position_strength", "1", "multiplies the position curve"},
           {"position_share", "0", "share of users (by hash of seed and user id) on the position_users curve instead"},
           {"position_users", "none", "those users' position curve (same forms as position)"},
           {"position_users_strength", "1", "multiplies the position_users curve"},
           {"favourite_position", "0", "logit bonus of each user's own favourite position (uniform over users: cancels in the population)"},
           {"hallucination_share", "0", "share of users every one of whose responses hallucinates hallucination_burst titles"},
           {"hallucination_burst", "3", "hallucinated titles per response of those users"},
           {"noise", "1", "Gumbel noise scale (temperature); 0 = deterministic"},
           {"shift.*", "", "shift.<attribute>.<value>=s: logit shift s times a fixed item taste when the profile states it"},
           {"hallucination_rate", "0", "share of responses with one hallucinated title"},
           {"duplicate_rate", "0", "share of responses with one duplicate entry"},
           {"parse_failure_rate", "0", "share of responses that cannot be parsed"},
           {"latency_ms", "0", "latency recorded per call"},
           {"sleep", "false", "actually wait latency_ms per call"},
           {"scores", "true", "expose scores (false: rank-only, like an LLM)"},
           {"seed", "0", "noise seed"},
       },
       simulated_factory},
  };
}

}  // namespace

const std::vector<AdapterInfo>& adapter_registry() {
  static const auto registry = build_registry();  // built once, thread-safe
  return registry;
}

std::string adapter_names() { return registry_names(adapter_registry()); }

void check_spec_keys(const AdapterSpec& spec, const std::vector<AdapterKey>& keys, const char* kind) {
  for (const auto& [key, value] : spec.values()) {
    bool known = false;
    for (const auto& k : keys)
      known = known || k.name == key || (k.name.ends_with(".*") && key.starts_with(k.name.substr(0, k.name.size() - 1)));
    if (!known) {
      std::vector<std::string> names;
      for (const auto& k : keys) names.push_back(k.name);
      throw BadInput(fmt::format("{} {}: unknown key \"{}\"; known keys: {}", kind, spec.name(), key,
                                 names.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(names, ", "))));
    }
  }
}

const std::string& SpecWithDefaults::default_of(const std::string& key) const {
  for (const auto& k : keys_)
    if (k.name == key) return k.default_value;
  throw InternalError(fmt::format("{}: key \"{}\" is not in its registry table", spec_.name(), key));
}

std::string SpecWithDefaults::get_string(const std::string& key) const { return spec_.get_string(key, default_of(key)); }

double SpecWithDefaults::get_double(const std::string& key, double min, double max) const {
  const auto fallback = parse_double(default_of(key));
  RECBIAS_CHECK(fallback.has_value(), "numeric default in the registry table");
  return spec_.get_double(key, *fallback, min, max);
}

std::int64_t SpecWithDefaults::get_int(const std::string& key, std::int64_t min, std::int64_t max) const {
  const auto fallback = parse_int(default_of(key));
  RECBIAS_CHECK(fallback.has_value(), "integer default in the registry table");
  return spec_.get_int(key, *fallback, min, max);
}

std::unique_ptr<Recommender> make_recommender(const AdapterSpec& spec, const AdapterContext& context) {
  for (const auto& info : adapter_registry()) {
    if (info.name != spec.name()) continue;
    check_spec_keys(spec, info.keys, "adapter");
    return info.factory(spec, context);
  }
  throw BadInput(fmt::format("unknown adapter \"{}\"; known adapters: {}", spec.name(), adapter_names()));
}

}  // namespace recbias
