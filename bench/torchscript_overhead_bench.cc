// Overhead of the torchscript adapter: wall time of rank() over bare
// module.forward() on the same batches (goal <= 1.05).
//
// The module is a small listwise scorer (item embeddings, attention of each
// candidate over the history) scripted with Debian's python3-torch at start-up.
// bare  = forward() on tensors encoded once, outside the timed loop
// rank  = rank() on RankRequests: encoding, forward, copy to CPU, top-k, responses
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <ATen/Parallel.h>
#include <torch/script.h>

#include "adapters/torchscript_recommender.h"
#include "core/rng.h"

using namespace recbias;

namespace {

// Scripts bench/scorer_model.py into `dir` (needs python3-torch).
bool make_model(const std::filesystem::path& dir, int items) {
  const char* python = std::getenv("RECBIAS_PYTHON");  // a Python with torch; Debian's by default
  const auto command = std::string(python ? python : "/usr/bin/python3") + " " RECBIAS_SOURCE_DIR "/bench/scorer_model.py " + dir.string() + " " + std::to_string(items);
  return std::system(command.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int batches = argc > 1 ? std::stoi(argv[1]) : 12;
  constexpr int kItems = 1682, kBatch = 256, kCandidates = 20;
  const auto dir = std::filesystem::temp_directory_path() / "recbias-bench-torchscript";
  std::filesystem::create_directories(dir);
  if (!make_model(dir, kItems)) {
    std::fprintf(stderr, "cannot script the model (needs python3-torch)\n");
    return 2;
  }
  auto catalog = std::make_shared<Catalog>();
  for (int i = 0; i < kItems; ++i) catalog->add({std::to_string(i), "", {}, 0});
  TorchScriptRecommender rec(catalog, {(dir / "scorer.pt").string(), "cpu", kBatch});
  Rng rng(1);
  std::vector<std::vector<RankRequest>> all(static_cast<std::size_t>(batches));
  std::vector<EncodedBatch> encoded;
  for (auto& batch : all) {
    for (int b = 0; b < kBatch; ++b) {
      RankRequest r;
      r.id = std::to_string(b);
      for (int h = 0; h < 50; ++h) r.user.history.push_back(static_cast<ItemIndex>(rng.uniform_int(kItems)));
      for (int c = 0; c < kCandidates; ++c) r.candidates.push_back(static_cast<ItemIndex>(rng.uniform_int(kItems)));
      r.k = 10;
      batch.push_back(std::move(r));
    }
    encoded.push_back(rec.encode(batch));
  }
  // Warm-up both paths, then alternate them so drift affects both alike.
  rec.score(encoded[0]);
  rec.rank(all[0]);
  double bare = 0, ranked = 0;
  for (int rep = 0; rep < 3; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& e : encoded) rec.score(e);
    auto t1 = std::chrono::steady_clock::now();
    for (const auto& batch : all) rec.rank(batch);
    auto t2 = std::chrono::steady_clock::now();
    bare += std::chrono::duration<double>(t1 - t0).count();
    ranked += std::chrono::duration<double>(t2 - t1).count();
  }
  std::printf("torchscript adapter, %d batches of %d requests x %d candidates, history 50, %d threads\n", batches, kBatch,
              kCandidates, at::get_num_threads());
  std::printf("  bare forward      %.3f s\n  rank()            %.3f s\n  ratio             %.3f (goal <= 1.05)\n", bare, ranked,
              ranked / bare);
  return 0;
}
