// `recbias serve`: ranking over HTTP with the mitigations in the inference
// path.
//
//   POST /v1/rank   body: a request object as in adapters/request_codec.h
//                   ({"user": {"history": [...], "attributes": {...}},
//                     "candidates": [...], "k": 10}); "id" is optional.
//                   200: the response object of request_codec.h plus "model";
//                   400: {"error": "..."} naming the field; 503 while stopping;
//                   502 when the model failed for this request.
//   GET  /healthz   200 {"status": "ok", "model": "..."}
//   GET  /metrics   Prometheus text format (serve/metrics.h)
//
// Concurrent requests are batched dynamically (serve/batcher.h). stop()
// (what SIGTERM does in the CLI) stops accepting connections, answers every
// request already received, then returns.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "adapters/recommender.h"
#include "serve/batcher.h"
#include "serve/metrics.h"

namespace httplib {
class Server;
}

namespace recbias {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;       // 0 = any free port (see HttpService::port())
  int threads = 64;      // HTTP worker threads = the most requests in flight
  BatcherOptions batching;
};

class HttpService {
 public:
  // `model` must outlive the service; `catalog` maps item ids.
  HttpService(Recommender& model, std::shared_ptr<const Catalog> catalog, ServeOptions options);
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // Binds and starts serving on a background thread; returns the port.
  // Throws BadInput when the address cannot be bound.
  int start();
  int port() const { return port_; }
  // Graceful: no new connections, in-flight requests answered, then joined.
  void stop();
  const ServeMetrics& metrics() const { return metrics_; }

 private:
  Recommender& model_;
  std::shared_ptr<const Catalog> catalog_;
  ServeOptions options_;
  ServeMetrics metrics_;
  std::unique_ptr<DynamicBatcher> batcher_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace recbias
