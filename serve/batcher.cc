#include "serve/batcher.h"

#include <exception>
#include <vector>

namespace recbias {

DynamicBatcher::DynamicBatcher(Recommender& model, BatcherOptions options, ServeMetrics* metrics)
    : model_(model), options_(options), metrics_(metrics) {
  if (options_.max_batch < 1) options_.max_batch = 1;
  worker_ = std::thread([this] { loop(); });
}

DynamicBatcher::~DynamicBatcher() { stop(); }

void DynamicBatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

RankResponse DynamicBatcher::submit(RankRequest request) {
  Pending pending{std::move(request), {}};
  auto future = pending.answer.get_future();
  {
    std::lock_guard lock(mu_);
    if (stopping_) throw ShuttingDown();
    if (queue_.empty()) first_arrival_ = std::chrono::steady_clock::now();
    queue_.push_back(&pending);
  }
  cv_.notify_all();
  return future.get();  // `pending` outlives the worker's use of it: the worker sets the answer last
}

void DynamicBatcher::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    // Wait for a full batch or the first request's deadline (not when stopping: drain).
    const auto deadline = first_arrival_ + options_.max_wait;
    cv_.wait_until(lock, deadline, [&] { return stopping_ || queue_.size() >= static_cast<std::size_t>(options_.max_batch); });
    std::deque<Pending*> batch;
    while (!queue_.empty() && batch.size() < static_cast<std::size_t>(options_.max_batch)) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    if (!queue_.empty()) first_arrival_ = std::chrono::steady_clock::now();
    lock.unlock();
    answer(batch);
    lock.lock();
  }
}

void DynamicBatcher::answer(std::deque<Pending*>& batch) {
  std::vector<RankRequest> requests;
  requests.reserve(batch.size());
  for (auto* p : batch) requests.push_back(p->request);
  if (metrics_) {
    metrics_->batches.fetch_add(1);
    metrics_->batch_size.observe(static_cast<double>(batch.size()));
  }
  try {
    auto responses = model_.rank(requests);
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->answer.set_value(std::move(responses[i]));
    return;
  } catch (...) {
    if (batch.size() == 1) {
      batch[0]->answer.set_exception(std::current_exception());
      return;
    }
  }
  // One request the model cannot take (an item outside its vocabulary, say)
  // must not fail the others: answer each alone.
  for (auto* p : batch) {
    try {
      auto responses = model_.rank(std::span<const RankRequest>(&p->request, 1));
      p->answer.set_value(std::move(responses[0]));
    } catch (...) {
      p->answer.set_exception(std::current_exception());
    }
  }
}

}  // namespace recbias
