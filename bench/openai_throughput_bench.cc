// Throughput and client CPU of the openai adapter against the loopback LLM
// server with a fixed 20 ms latency and 32 concurrent slots.
//
//   capacity  = slots / latency = 32 / 0.020 s = 1600 requests/s
//   goal      : achieved / capacity >= 0.95, client CPU <= 100 µs per call
//
// Client CPU is the CPU time of the thread that runs rank() (the curl multi
// loop), measured with getrusage(RUSAGE_THREAD); the server's threads are
// not counted.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "adapters/adapter_spec.h"
#include "adapters/registry.h"
#include "tests/fake_llm_server.h"

using namespace recbias;

namespace {

double thread_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::stoi(argv[1]) : 4000;
  constexpr int kSlots = 32;
  constexpr int kLatencyMs = 20;
  testing::FakeLlmServer server([](const testing::Prompt&) { return testing::Reply::answer("[3] > [1] > [2]").after_ms(kLatencyMs); },
                                kSlots);
  auto catalog = std::make_shared<Catalog>();
  for (int i = 0; i < 100; ++i) catalog->add({std::to_string(i), "Movie number " + std::to_string(i) + " (1999)", {}, 1});
  AdapterContext context{catalog, nullptr, nullptr};
  auto rec = make_recommender(
      AdapterSpec::parse("openai:model=bench,in_flight=" + std::to_string(kSlots) + ",base_url=" + server.base_url()), context);
  std::vector<RankRequest> requests;
  for (int i = 0; i < n; ++i) {
    RankRequest r;
    r.id = "r" + std::to_string(i);
    r.user.id = std::to_string(i);
    r.user.history = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    for (int c = 0; c < 20; ++c) r.candidates.push_back((i + c) % 100);
    r.k = 20;
    requests.push_back(std::move(r));
  }
  // Warm-up: open the connections.
  rec->rank(std::span<const RankRequest>(requests).subspan(0, kSlots));
  const double cpu0 = thread_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  const auto out = rec->rank(requests);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = thread_cpu_seconds() - cpu0;
  int failed = 0;
  for (const auto& r : out) failed += r.error.has_value() || r.ranking.size() != 3;
  const double capacity = kSlots / (kLatencyMs / 1000.0);
  const double throughput = n / wall;
  std::printf("openai adapter vs loopback server (%d slots, %d ms per call), %d requests, %d failed\n", kSlots, kLatencyMs, n, failed);
  std::printf("  throughput        %.0f req/s of capacity %.0f req/s: ratio %.3f (goal >= 0.95)\n", throughput, capacity,
              throughput / capacity);
  std::printf("  client CPU        %.1f us per call (goal <= 100)\n", cpu / n * 1e6);
  return failed == 0 ? 0 : 1;
}
