#include "tests/fake_llm_server.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>

#include <httplib.h>

#include "adapters/phrases.h"

namespace recbias::testing {

struct FakeLlmServer::Impl {
  httplib::Server server;
  Behaviour behaviour;
  mutable std::mutex mutex;
  std::map<std::string, int> attempts;
  std::map<std::string, int> completed;
  std::vector<nlohmann::json> bodies;
  std::vector<std::string> authorization;
};

namespace {

// The titles of the lines of `text` that `title_of` accepts (it returns the
// title, or nothing for other lines).
template <class TitleOf>
std::vector<std::string> titles_of_lines(const std::string& text, TitleOf title_of) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    if (auto title = title_of(text.substr(at, end - at))) out.push_back(std::move(*title));
    at = end + 1;
  }
  return out;
}

std::vector<std::string> parse_candidates(const std::string& text) {
  return titles_of_lines(text, [](const std::string& line) -> std::optional<std::string> {
    if (line.size() <= 3 || line[0] != '[') return std::nullopt;
    const auto close = line.find("] ");
    if (close == std::string::npos || close <= 1) return std::nullopt;
    return line.substr(close + 2);
  });
}

}  // namespace

std::vector<std::string> lettered_candidates(const std::string& prompt) {
  return titles_of_lines(prompt, [](const std::string& line) -> std::optional<std::string> {
    if (line.size() <= 3 || line[0] < 'A' || line[0] > 'Z' || line.compare(1, 2, ". ") != 0) return std::nullopt;
    return line.substr(3);
  });
}

Reply Reply::first_token(const std::vector<std::pair<std::string, double>>& top) {
  Reply r;
  r.content = top.empty() ? "" : top.front().first;
  r.completion_tokens = 1;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [token, logprob] : top) list.push_back({{"token", token}, {"logprob", logprob}, {"bytes", nullptr}});
  r.logprobs = {{"content", {{{"token", r.content}, {"logprob", top.empty() ? 0.0 : top.front().second}, {"top_logprobs", list}}}}};
  return r;
}

Reply echo_answer(const std::string& prompt, const std::vector<std::size_t>& offsets, const std::vector<double>& logprobs) {
  // Code points of the prompt, to cut the token texts at code-point offsets.
  std::vector<std::size_t> byte_at;  // byte index of each code point
  for (std::size_t i = 0; i < prompt.size(); ++i)
    if ((static_cast<unsigned char>(prompt[i]) & 0xC0) != 0x80) byte_at.push_back(i);
  byte_at.push_back(prompt.size());
  nlohmann::json tokens = nlohmann::json::array(), values = nlohmann::json::array(), text_offset = nlohmann::json::array();
  for (std::size_t t = 0; t < offsets.size(); ++t) {
    const auto from = byte_at[std::min(offsets[t], byte_at.size() - 1)];
    const auto to = t + 1 < offsets.size() ? byte_at[std::min(offsets[t + 1], byte_at.size() - 1)] : prompt.size();
    tokens.push_back(prompt.substr(from, to - from));
    values.push_back(t == 0 ? nlohmann::json(nullptr) : nlohmann::json(logprobs[t]));
    text_offset.push_back(offsets[t]);
  }
  Reply r;
  r.content = prompt;
  r.logprobs = {{"tokens", tokens}, {"token_logprobs", values}, {"text_offset", text_offset}, {"top_logprobs", nullptr}};
  return r;
}

FakeLlmServer::FakeLlmServer(Behaviour behaviour, int threads) : impl_(std::make_unique<Impl>()) {
  impl_->behaviour = std::move(behaviour);
  impl_->server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  impl_->server.set_keep_alive_max_count(100000);
  // Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus
  // the client's delayed ACK adds 40 ms to every keep-alive response.
  impl_->server.set_tcp_nodelay(true);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    ++hits_;
    Prompt prompt;
    prompt.path = req.path;
    try {
      prompt.body = nlohmann::json::parse(req.body);
    } catch (const std::exception&) {
      res.status = 400;
      res.set_content(R"({"error": "bad json"})", "application/json");
      return;
    }
    if (prompt.body.contains("messages")) {
      for (const auto& m : prompt.body["messages"])
        if (m["role"] == "user") prompt.user_message = m["content"];
    } else if (prompt.body.contains("prompt") && prompt.body["prompt"].is_string()) {
      prompt.user_message = prompt.body["prompt"];
    }
    prompt.candidates = parse_candidates(prompt.user_message);
    {
      std::lock_guard lock(impl_->mutex);
      prompt.attempt = ++impl_->attempts[req.body];
      impl_->bodies.push_back(prompt.body);
      impl_->authorization.push_back(req.get_header_value("Authorization"));
    }
    const Reply reply = impl_->behaviour(prompt);
    if (reply.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(reply.delay_ms));
    if (reply.drop_connection) {
      // A provider that fails makes the server close the connection mid-response.
      res.set_content_provider(
          1000, "application/json", [](std::size_t, std::size_t, httplib::DataSink&) { return false; });
      return;
    }
    res.status = reply.status;
    if (reply.retry_after_s >= 0) res.set_header("Retry-After", std::to_string(reply.retry_after_s));
    if (!reply.raw_body.empty()) {
      res.set_content(reply.raw_body, "application/json");
      return;
    }
    if (reply.status != 200) {
      res.set_content(R"({"error": {"message": "simulated failure"}})", "application/json");
      return;
    }
    nlohmann::json choice = {{"index", 0}, {"finish_reason", reply.finish_reason}};
    if (prompt.path == "/v1/completions") choice["text"] = reply.content;
    else choice["message"] = {{"role", "assistant"}, {"content", reply.content}};
    if (!reply.logprobs.is_null()) choice["logprobs"] = reply.logprobs;
    nlohmann::json body = {
        {"id", "cmpl-test"},
        {"object", prompt.path == "/v1/completions" ? "text_completion" : "chat.completion"},
        {"model", prompt.body.value("model", "")},
        {"choices", {choice}},
        {"usage", {{"prompt_tokens", reply.prompt_tokens}, {"completion_tokens", reply.completion_tokens}}}};
    res.set_content(body.dump(), "application/json");
    std::lock_guard lock(impl_->mutex);
    ++impl_->completed[req.body];
  };
  impl_->server.Post("/v1/chat/completions", handler);
  impl_->server.Post("/v1/completions", handler);
  // A tokenizer endpoint in vLLM's form: one token per whitespace-separated
  // word of the messages' contents (or of "prompt" / llama.cpp's "content").
  impl_->server.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) {
    ++tokenize_hits_;
    const auto body = nlohmann::json::parse(req.body, nullptr, false);
    std::string text;
    if (body.is_object() && body.contains("messages") && body["messages"].is_array()) {
      for (const auto& m : body["messages"])
        if (m.is_object() && m.contains("content") && m["content"].is_string()) text += m["content"].get<std::string>() + " ";
    } else if (body.is_object() && body.contains("prompt") && body["prompt"].is_string()) {
      text = body["prompt"];
    } else if (body.is_object() && body.contains("content") && body["content"].is_string()) {
      text = body["content"];
    }
    int count = 0;
    bool in_word = false;
    for (char c : text) {
      const bool space = c == ' ' || c == '\n' || c == '\t';
      count += !space && !in_word;
      in_word = !space;
    }
    res.set_content(nlohmann::json{{"count", count}, {"max_model_len", 4096}}.dump(), "application/json");
  });
  port_ = impl_->server.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { impl_->server.listen_after_bind(); });
  while (!impl_->server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeLlmServer::~FakeLlmServer() {
  impl_->server.stop();
  if (thread_.joinable()) thread_.join();
}

std::string FakeLlmServer::base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

std::map<std::string, int> FakeLlmServer::completed_by_body() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->completed;
}

std::vector<nlohmann::json> FakeLlmServer::bodies() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->bodies;
}

std::vector<std::string> FakeLlmServer::authorization_headers() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->authorization;
}

std::string bracket_answer(const std::vector<int>& order) {
  std::string out;
  for (std::size_t i = 0; i < order.size(); ++i) out += (i ? " > [" : "[") + std::to_string(order[i] + 1) + "]";
  return out;
}

}  // namespace recbias::testing

namespace recbias::testing {
namespace {

double unit_hash(const std::string& key) { return static_cast<double>(stable_hash(key) >> 11) * 0x1.0p-53; }

// The fragments of a profile sentence ("I am A, B and C.", phrases.h) back
// into attributes: at each point, a built-in phrase followed by ", ", " and "
// or the end (backtracking, since a phrase may hold " and ").
bool match_fragments(const std::string& text, std::size_t at, std::map<std::string, std::string>& out) {
  if (at == text.size()) return true;
  for (const auto& [attribute, values] : PhraseTable::builtin()->entries()) {
    if (out.count(attribute)) continue;
    for (const auto& [value, unused] : values) {
      for (const char* item : {"movie", "song", "artist", "book", "item"}) {
        const auto phrase = *PhraseTable::builtin()->phrase(attribute, value, item);
        if (text.compare(at, phrase.size(), phrase) != 0) continue;
        const auto next = at + phrase.size();
        for (const char* sep : {"", ", ", " and "}) {
          const std::string sp = sep;
          if (sp.empty() ? next != text.size() : text.compare(next, sp.size(), sp) != 0) continue;
          out[attribute] = value;
          if (match_fragments(text, next + sp.size(), out)) return true;
          out.erase(attribute);
        }
      }
    }
  }
  return false;
}

std::map<std::string, std::string> parse_profile(const std::string& message) {
  std::map<std::string, std::string> out;
  if (message.starts_with("I am ")) {  // the built-in templates' sentence, first in the user message
    const auto end = message.find(".\n");
    if (end != std::string::npos && match_fragments(message.substr(5, end - 5), 0, out)) return out;
    out.clear();
  }
  const auto at = message.find("User profile: ");
  if (at == std::string::npos) return out;
  auto end = message.find(".\n", at);
  if (end == std::string::npos) end = message.find('\n', at);
  const auto line = message.substr(at + 14, end - at - 14);
  std::size_t from = 0;
  while (from < line.size()) {
    auto semi = line.find("; ", from);
    if (semi == std::string::npos) semi = line.size();
    const auto part = line.substr(from, semi - from);
    const auto colon = part.find(": ");
    if (colon != std::string::npos) out[part.substr(0, colon)] = part.substr(colon + 2);
    from = semi + 2;
  }
  return out;
}

std::string render(const std::vector<std::string>& entries, const std::vector<int>& indices, int format) {
  std::string out;
  switch (format) {
    case 0:  // numbered lines with an explanation
      out = "Based on your history, here is my ranking:\n\n";
      for (std::size_t i = 0; i < entries.size(); ++i)
        out += std::to_string(i + 1) + ". " + entries[i] + (i % 2 ? " \xe2\x80\x93 a great fit for you\n" : "\n");
      return out + "\nEnjoy!";
    case 1: {  // JSON array of titles
      return nlohmann::json(entries).dump();
    }
    case 2: {  // JSON object of objects
      nlohmann::json list = nlohmann::json::array();
      for (const auto& e : entries) list.push_back({{"title", e}, {"reason", "matches your taste"}});
      return nlohmann::json{{"recommendations", list}}.dump(2);
    }
    case 3:  // fenced JSON with prose
      return "Sure! Here you go:\n```json\n" + nlohmann::json{{"ranking", entries}}.dump() + "\n```\nLet me know if you need more.";
    case 4:  // one comma-separated line
      for (std::size_t i = 0; i < entries.size(); ++i) out += (i ? ", " : "") + entries[i];
      return out;
    case 5:  // markdown table
      out = "| Rank | Title |\n|---|---|\n";
      for (std::size_t i = 0; i < entries.size(); ++i) out += "| " + std::to_string(i + 1) + " | " + entries[i] + " |\n";
      return out;
    case 6:  // bracket chain (indices; an invented entry is an out-of-range index)
      for (std::size_t i = 0; i < indices.size(); ++i) out += (i ? " > [" : "[") + std::to_string(indices[i] + 1) + "]";
      return out;
    default:  // think block, then bullets
      out = "<think>The user seems to like " + (entries.empty() ? std::string() : entries[0]) + ". Let me rank.</think>\n";
      for (const auto& e : entries) out += "- **" + e + "**\n";
      return out;
  }
}

}  // namespace

std::vector<double> chat_model_scores(const std::vector<std::string>& titles, const std::map<std::string, std::string>& profile,
                                      const ChatModelOptions& options, double temperature, std::int64_t seed,
                                      const std::string& prompt) {
  std::vector<double> scores(titles.size());
  const auto stated = profile.find(options.attribute);
  const bool shifted = stated != profile.end() && stated->second == options.value;
  // Like a seeded sampler (vLLM's per-request generator), two prompts sent
  // with one seed share their random numbers: the stream depends on the seed
  // and on the prompt without its profile line, so a counterfactual variant
  // sent with the neutral prompt's seed gets the neutral prompt's noise
  // (common random numbers), while other users' prompts get their own.
  std::string unprofiled = prompt;
  if (const auto at = unprofiled.find("User profile: "); at != std::string::npos) {
    const auto end = unprofiled.find('\n', at);
    unprofiled.erase(at, end == std::string::npos ? std::string::npos : end - at + 1);
  } else if (unprofiled.starts_with("I am ") && unprofiled.find(".\n") != std::string::npos) {
    unprofiled.erase(0, unprofiled.find(".\n") + 2);
  }
  Rng rng = Rng::stream(static_cast<std::uint64_t>(seed), "chat/" + unprofiled);
  const double k = static_cast<double>(titles.size());
  for (std::size_t i = 0; i < titles.size(); ++i) {
    double s = 2.0 * unit_hash("appeal/" + titles[i]);
    if (shifted) s += options.effect * (unit_hash("taste/" + titles[i]) - 0.5) * std::sqrt(12.0);
    if (options.primacy != 0 && k > 1) s += options.primacy * (1.0 - static_cast<double>(i) / (k - 1));
    if (temperature > 0) {
      double u = rng.uniform01();
      while (u == 0) u = rng.uniform01();
      s += temperature * -std::log(-std::log(u));
    }
    scores[i] = s;
  }
  return scores;
}

Behaviour chat_model(ChatModelOptions options, std::shared_ptr<ChatModelStats> stats) {
  if (!stats) stats = std::make_shared<ChatModelStats>();
  return [options, stats](const Prompt& p) {
    const double temperature = p.body.value("temperature", 0.0);
    const std::int64_t seed = p.body.value("seed", std::int64_t{0});
    const auto scores = chat_model_scores(p.candidates, parse_profile(p.user_message), options, temperature, seed, p.user_message);
    std::vector<int> order(p.candidates.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[static_cast<std::size_t>(a)] > scores[static_cast<std::size_t>(b)]; });
    // What to insert is decided by the prompt and the seed, so the same body always gets the same answer.
    const std::string key = p.user_message + "/" + std::to_string(seed) + "/" + std::to_string(temperature);
    std::vector<std::string> entries;
    std::vector<int> indices;
    for (int i : order) {
      entries.push_back(p.candidates[static_cast<std::size_t>(i)]);
      indices.push_back(i);
    }
    const int k = static_cast<int>(order.size());
    const auto invented = "Imaginary Film Number " + std::to_string(stable_hash(key) % 100000) + " (2031)";
    if (unit_hash("first/" + key) < options.first_hallucinated_rate) {
      entries.insert(entries.begin(), invented);
      indices.insert(indices.begin(), k + 5);  // out of range in the bracket format
      ++stats->first_hallucinated;
      ++stats->hallucinated;
    } else if (unit_hash("hallucinate/" + key) < options.hallucination_rate && !entries.empty()) {
      const auto at = 1 + static_cast<std::size_t>(stable_hash("where/" + key) % entries.size());
      entries.insert(entries.begin() + static_cast<std::ptrdiff_t>(at), invented);
      indices.insert(indices.begin() + static_cast<std::ptrdiff_t>(at), k + 5);
      ++stats->hallucinated;
    }
    if (unit_hash("duplicate/" + key) < options.duplicate_rate && entries.size() > 2) {
      const std::size_t real = indices[0] < k ? 0 : 1;  // repeat a real candidate, never the invented title
      entries.push_back(entries[real]);
      indices.push_back(indices[real]);
      ++stats->duplicated;
    }
    const int format = options.vary_formats ? static_cast<int>(stable_hash("format/" + p.user_message) % 8) : 0;
    ++stats->answers;
    stats->entries += static_cast<int>(entries.size());
    return Reply::answer(render(entries, indices, format));
  };
}

}  // namespace recbias::testing
