// recbias serve under load: a loopback load generator (C client threads, each
// sending its next request when the previous one is answered) against the
// in-process HTTP service over a TorchScript model, without and with m = 8
// permutation ensembling. Prints throughput and p50/p99 latency per
// concurrency level and the online cost multiplier of the mitigation.
//
//   bench_serve MODEL.pt [seconds per level = 3] [device = cpu] [levels = 1,8,32]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/adapter_spec.h"
#include "adapters/torchscript_factory.h"
#include "core/rng.h"
#include "mitigations/makers.h"
#include "mitigations/registry.h"
#include "serve/http_service.h"

using namespace recbias;

namespace {

struct Result {
  double throughput = 0, p50_ms = 0, p99_ms = 0, mean_batch = 0;
};

Result load(Recommender& model, std::shared_ptr<const Catalog> catalog, int clients, double seconds) {
  ServeOptions options;
  options.port = 0;
  options.threads = std::max(8, clients + 4);
  options.batching.max_batch = 64;
  options.batching.max_wait = std::chrono::microseconds(2000);
  HttpService service(model, catalog, options);
  const int port = service.start();
  const int items = static_cast<int>(catalog->size());
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(clients));
  std::atomic<bool> go{true};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(60, 0);
      Rng rng = Rng::stream(7, static_cast<std::uint64_t>(c));
      while (go) {
        nlohmann::json history = nlohmann::json::array(), candidates = nlohmann::json::array();
        for (int h = 0; h < 30; ++h) history.push_back(catalog->at(static_cast<ItemIndex>(rng.uniform_int(items))).id);
        for (int k = 0; k < 20; ++k) candidates.push_back(catalog->at(static_cast<ItemIndex>(rng.uniform_int(items))).id);
        const auto body = nlohmann::json{{"user", {{"history", history}}}, {"candidates", candidates}, {"k", 10}}.dump();
        const auto t0 = std::chrono::steady_clock::now();
        auto res = client.Post("/v1/rank", body, "application/json");
        const auto t1 = std::chrono::steady_clock::now();
        if (!res || res->status != 200) {
          std::fprintf(stderr, "request failed: %s\n", res ? res->body.c_str() : "no connection");
          continue;
        }
        latencies[static_cast<std::size_t>(c)].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
    });
  const auto began = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  go = false;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  const double batches = static_cast<double>(service.metrics().batches.load());
  service.stop();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  Result r;
  if (all.empty()) return r;
  r.throughput = static_cast<double>(all.size()) / elapsed;
  r.p50_ms = all[all.size() / 2];
  r.p99_ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  r.mean_batch = batches > 0 ? static_cast<double>(all.size()) / batches : 0;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_serve MODEL.pt [seconds per level = 3] [device = cpu] [levels = 1,8,32]\n");
    return 2;
  }
  const std::string model_path = argv[1];
  const double seconds = argc > 2 ? std::stod(argv[2]) : 3.0;
  const std::string device = argc > 3 ? argv[3] : "cpu";
  std::vector<int> levels = {1, 8, 32};
  if (argc > 4) {
    levels.clear();
    std::stringstream in(argv[4]);
    for (std::string part; std::getline(in, part, ',');) levels.push_back(std::stoi(part));
  }
  std::ifstream sidecar_file(torchscript_sidecar_path(model_path));
  const auto sidecar = nlohmann::json::parse(sidecar_file);
  auto catalog = std::make_shared<Catalog>();
  for (const auto& id : sidecar.at("items")) catalog->add({id.get<std::string>(), "", {}, 0});

  install_mitigations();
  auto plain = make_torchscript_recommender(catalog, {model_path, device, 256});
  auto mitigated = make_mitigation(AdapterSpec::parse("permutation:m=8,agg=mean"),
                                   make_torchscript_recommender(catalog, {model_path, device, 256}), {catalog, {}});
  std::printf("recbias serve, %s on %s, max batch 64, max wait 2 ms, %.0f s per level\n", model_path.c_str(), device.c_str(), seconds);
  std::printf("%-12s %8s %12s %10s %10s %10s\n", "mitigation", "clients", "requests/s", "p50 ms", "p99 ms", "batch");
  for (int clients : levels) {
    const auto a = load(*plain, catalog, clients, seconds);
    const auto b = load(*mitigated, catalog, clients, seconds);
    std::printf("%-12s %8d %12.1f %10.2f %10.2f %10.1f\n", "none", clients, a.throughput, a.p50_ms, a.p99_ms, a.mean_batch);
    std::printf("%-12s %8d %12.1f %10.2f %10.2f %10.1f\n", "perm m=8", clients, b.throughput, b.p50_ms, b.p99_ms, b.mean_batch);
    std::printf("%-12s %8d %12.2fx %9.2fx %9.2fx   (cost multiplier of m = 8 online: throughput none/perm, latency perm/none)\n", "", clients,
                b.throughput > 0 ? a.throughput / b.throughput : 0, a.p50_ms > 0 ? b.p50_ms / a.p50_ms : 0,
                a.p99_ms > 0 ? b.p99_ms / a.p99_ms : 0);
  }
  return 0;
}
