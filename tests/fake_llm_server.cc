#include "tests/fake_llm_server.h"

#include <chrono>

#include <httplib.h>

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

std::vector<std::string> parse_candidates(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const auto line = text.substr(at, end - at);
    if (line.size() > 3 && line[0] == '[') {
      const auto close = line.find("] ");
      if (close != std::string::npos && close > 1) out.push_back(line.substr(close + 2));
    }
    at = end + 1;
  }
  return out;
}

}  // namespace

FakeLlmServer::FakeLlmServer(Behaviour behaviour, int threads) : impl_(std::make_unique<Impl>()) {
  impl_->behaviour = std::move(behaviour);
  impl_->server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  impl_->server.set_keep_alive_max_count(100000);
  // Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus
  // the client's delayed ACK adds 40 ms to every keep-alive response.
  impl_->server.set_tcp_nodelay(true);
  impl_->server.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    ++hits_;
    Prompt prompt;
    try {
      prompt.body = nlohmann::json::parse(req.body);
    } catch (const std::exception&) {
      res.status = 400;
      res.set_content(R"({"error": "bad json"})", "application/json");
      return;
    }
    for (const auto& m : prompt.body["messages"])
      if (m["role"] == "user") prompt.user_message = m["content"];
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
    nlohmann::json body = {
        {"id", "chatcmpl-test"},
        {"object", "chat.completion"},
        {"model", prompt.body.value("model", "")},
        {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", reply.content}}}, {"finish_reason", reply.finish_reason}}}},
        {"usage", {{"prompt_tokens", reply.prompt_tokens}, {"completion_tokens", reply.completion_tokens}}}};
    res.set_content(body.dump(), "application/json");
    std::lock_guard lock(impl_->mutex);
    ++impl_->completed[req.body];
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
