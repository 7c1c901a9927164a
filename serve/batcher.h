// Dynamic batching: requests submitted concurrently (one thread per HTTP
// connection) are gathered into one call of the model -- up to max_batch
// requests, waiting at most max_wait after the first one arrived -- so a
// TorchScript model (and a mitigation such as permutation ensembling) runs
// ONE batched forward for many users.
//
// One worker thread calls the model, so the model need not be thread-safe.
// stop() answers every request already queued, then refuses new ones.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "adapters/recommender.h"
#include "serve/metrics.h"

namespace recbias {

struct BatcherOptions {
  int max_batch = 32;                          // requests per model call
  std::chrono::microseconds max_wait{2000};    // how long the first request waits for company
};

class DynamicBatcher {
 public:
  DynamicBatcher(Recommender& model, BatcherOptions options, ServeMetrics* metrics = nullptr);
  ~DynamicBatcher();
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Blocks until the request is answered. Throws ShuttingDown after stop(),
  // or what the model threw for this request (BadInput, BackendFailure).
  RankResponse submit(RankRequest request);

  // Answers what is queued, then joins the worker. Idempotent.
  void stop();

  struct ShuttingDown : std::runtime_error {
    ShuttingDown() : std::runtime_error("the server is shutting down") {}
  };

 private:
  struct Pending {
    RankRequest request;
    std::promise<RankResponse> answer;
  };
  void loop();
  void answer(std::deque<Pending*>& batch);

  Recommender& model_;
  BatcherOptions options_;
  ServeMetrics* metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending*> queue_;
  std::chrono::steady_clock::time_point first_arrival_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace recbias
