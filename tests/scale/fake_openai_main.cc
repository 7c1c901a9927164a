// recbias_fake_openai: the loopback chat model of tests/fake_llm_server.h as
// a program, for tests that run recbias in other processes (the Slurm job
// array of tests/scale/slurm_live_test.py). It listens on 127.0.0.1 on a free
// port, prints "listening on http://127.0.0.1:PORT/v1" and answers until
// SIGTERM or SIGINT. The model: deterministic in the prompt (temperature 0),
// a primacy bias of 0.8 and a stated gender F that changes the answer.
#include <csignal>
#include <cstdio>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/fake_llm_server.h"

namespace {
std::atomic<bool> stop{false};
void on_signal(int) { stop = true; }
}  // namespace

int main() {
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  recbias::testing::ChatModelOptions options;
  options.primacy = 0.8;
  options.effect = 1.0;
  options.vary_formats = false;
  recbias::testing::FakeLlmServer server(recbias::testing::chat_model(options), 64);
  std::printf("listening on %s\n", server.base_url().c_str());
  std::fflush(stdout);
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::printf("stopped after %d requests\n", server.hits());
  return 0;
}
