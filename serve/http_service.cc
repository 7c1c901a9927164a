#include "serve/http_service.h"

#include <sys/socket.h>

#include <atomic>
#include <chrono>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/request_codec.h"
#include "core/errors.h"

namespace recbias {
namespace {

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

}  // namespace

HttpService::HttpService(Recommender& model, std::shared_ptr<const Catalog> catalog, ServeOptions options)
    : model_(model), catalog_(std::move(catalog)), options_(std::move(options)) {}

HttpService::~HttpService() { stop(); }

int HttpService::start() {
  batcher_ = std::make_unique<DynamicBatcher>(model_, options_.batching, &metrics_);
  server_ = std::make_unique<httplib::Server>();
  const int threads = std::max(1, options_.threads);
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  server_->set_tcp_nodelay(true);

  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ok"}, {"model", model_.id()}});
  });
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), "text/plain; version=0.0.4");
  });
  server_->Post("/v1/rank", [this](const httplib::Request& req, httplib::Response& res) {
    const auto began = std::chrono::steady_clock::now();
    metrics_.requests.fetch_add(1);
    metrics_.in_flight.fetch_add(1);
    struct Done {
      ServeMetrics& m;
      std::chrono::steady_clock::time_point began;
      ~Done() {
        m.in_flight.fetch_sub(1);
        m.latency_seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
      }
    } done{metrics_, began};
    static std::atomic<std::uint64_t> next_id{0};
    RankRequest request;
    try {
      auto body = nlohmann::json::parse(req.body);
      if (!body.is_object()) throw BadInput(fmt::format("expected a JSON object, found {}", body.type_name()));
      if (!body.contains("id")) body["id"] = fmt::format("http-{}", next_id.fetch_add(1));
      request = decode_request(body, *catalog_, "request body");
    } catch (const nlohmann::json::exception& e) {
      metrics_.bad_requests.fetch_add(1);
      return send_json(res, 400, {{"error", fmt::format("request body: not valid JSON: {}", e.what())}});
    } catch (const Error& e) {
      metrics_.bad_requests.fetch_add(1);
      return send_json(res, 400, {{"error", e.what()}});
    }
    try {
      const auto response = batcher_->submit(request);
      auto body = encode_response(response, request, *catalog_);
      body["model"] = model_.id();
      if (response.error) {
        metrics_.failed_requests.fetch_add(1);
        return send_json(res, 502, body);
      }
      send_json(res, 200, body);
    } catch (const DynamicBatcher::ShuttingDown& e) {
      metrics_.failed_requests.fetch_add(1);
      send_json(res, 503, {{"error", e.what()}});
    } catch (const BadInput& e) {
      metrics_.bad_requests.fetch_add(1);
      send_json(res, 400, {{"error", e.what()}});
    } catch (const std::exception& e) {
      metrics_.failed_requests.fetch_add(1);
      send_json(res, 502, {{"error", e.what()}});
    }
  });

  // Debian's compiled cpp-httplib listens with a backlog of 5, which drops
  // connections when many clients connect at once. Keep the listening
  // socket (httplib's default options plus ours) to listen again with a
  // deep backlog after the bind.
  int listening = -1;
  server_->set_socket_options([&listening](socket_t sock) {
    httplib::default_socket_options(sock);
    listening = static_cast<int>(sock);
  });
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
  } else {
    port_ = server_->bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  if (port_ <= 0) throw BadInput(fmt::format("serve: cannot listen on {}:{} (in use, or not an address of this machine)", options_.host, options_.port));
  if (listening >= 0) ::listen(listening, SOMAXCONN);
  listener_ = std::thread([this] { server_->listen_after_bind(); });
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port_;
}

void HttpService::stop() {
  if (stopped_ || !server_) return;
  stopped_ = true;
  // httplib: stop() closes the listening socket; listen_after_bind() then
  // shuts its thread pool down, which finishes the requests it holds.
  server_->stop();
  if (listener_.joinable()) listener_.join();
  batcher_->stop();
}

}  // namespace recbias
