// `recbias serve --adapter SPEC --dataset PATH [--mitigate M ...] [--port N]
//                [--max-batch N] [--max-wait-us N] [--threads N]`
// Ranking over HTTP with dynamic batching (serve/http_service.h). SIGTERM or
// SIGINT: stop accepting, answer what is in flight, exit 0.
#include <csignal>
#include <iostream>
#include <memory>

#include <pthread.h>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "serve/http_service.h"

namespace recbias::cli {
namespace {

struct ServeCliOptions {
  DataOptions data;
  AdapterOptions adapter;
  ServeOptions serve;
  long max_wait_us = 2000;
};

void run_serve(ServeCliOptions o) {
  // Block the stop signals in every thread this process starts; the main
  // thread waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  const auto data = load_data(o.data);
  o.adapter.no_cache = true;  // online requests are answered live
  auto model = build_adapter(o.adapter, data.context, data.dataset.attributes);
  o.serve.batching.max_wait = std::chrono::microseconds(o.max_wait_us);
  HttpService service(*model, data.context.catalog, o.serve);
  const int port = service.start();
  fmt::print("recbias serve: {} on http://{}:{} (POST /v1/rank, GET /healthz, GET /metrics); max batch {}, max wait {} us\n",
             model->id(), o.serve.host, port, o.serve.batching.max_batch, o.max_wait_us);
  std::cout.flush();
  std::fflush(stdout);
  int signal = 0;
  sigwait(&stop_signals, &signal);
  fmt::print(stderr, "recbias serve: {} received; answering the requests in flight\n", signal == SIGTERM ? "SIGTERM" : "SIGINT");
  service.stop();
  const auto& m = service.metrics();
  fmt::print(stderr, "recbias serve: stopped after {} requests in {} batches\n", m.requests.load(), m.batches.load());
}

}  // namespace

void setup_serve(CLI::App& app) {
  auto o = std::make_shared<ServeCliOptions>();
  auto* serve = app.add_subcommand("serve", "Serve rankings over HTTP (POST /v1/rank) with mitigations and dynamic batching");
  add_adapter_options(*serve, o->adapter);
  add_data_options(*serve, o->data, true);
  serve->add_option("--host", o->serve.host, "Address to listen on");
  serve->add_option("--port", o->serve.port, "Port; 0 = any free port, printed at start")->check(CLI::Range(0, 65535));
  serve->add_option("--max-batch", o->serve.batching.max_batch, "Most requests per model call")->check(CLI::Range(1, 100000));
  serve->add_option("--max-wait-us", o->max_wait_us, "How long a request waits for others to batch with, in microseconds")
      ->check(CLI::Range(0L, 10'000'000L));
  serve->add_option("--threads", o->serve.threads, "HTTP worker threads, the most requests in flight")->check(CLI::Range(1, 4096));
  serve->callback([o] { run_serve(*o); });
}

}  // namespace recbias::cli
