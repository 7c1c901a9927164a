// Permutation ensembling, m = 8: the operator's ONE batched forward of B * 8
// requests vs 8 sequential forwards of B requests each, on the same TorchScript
// scorer (bench/scorer_model.py, or a model given on the command line, e.g.
// the reference model). Goal: ratio <= 1.0 on CPU (<= 0.3 on a GPU).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <nlohmann/json.hpp>

#include "adapters/torchscript_recommender.h"
#include "mitigations/operators.h"

using namespace recbias;

int main(int argc, char** argv) {
  // Usage: bench_ensemble [repeats=5] [device=cpu] [threads, 0 = libtorch's default] [MODEL.pt with its side-car]
  const int repeats = argc > 1 ? std::stoi(argv[1]) : 5;
  const std::string device = argc > 2 ? argv[2] : "cpu";
  if (argc > 3 && std::stoi(argv[3]) > 0) at::set_num_threads(std::stoi(argv[3]));
  constexpr int kBatch = 128, kCandidates = 20, kMembers = 8;
  std::string model_path;
  int items = 1682, history_length = 50, attribute_slots = 0;
  nlohmann::json sidecar;
  if (argc > 4) {
    model_path = argv[4];
    std::ifstream in(torchscript_sidecar_path(model_path));
    sidecar = nlohmann::json::parse(in);
    items = static_cast<int>(sidecar.at("items").size());
    history_length = sidecar.at("max_history").get<int>();
    attribute_slots = static_cast<int>(sidecar.value("attributes", nlohmann::json::array()).size());
  } else {
    const auto dir = std::filesystem::temp_directory_path() / "recbias-bench-ensemble";
    std::filesystem::create_directories(dir);
    const char* python = std::getenv("RECBIAS_PYTHON");  // a Python with torch; Debian's by default
    const auto command = std::string(python ? python : "/usr/bin/python3") + " " RECBIAS_SOURCE_DIR "/bench/scorer_model.py " +
                         dir.string() + " " + std::to_string(items);
    if (std::system(command.c_str()) != 0) {
      std::fprintf(stderr, "cannot script the model (needs python3-torch)\n");
      return 2;
    }
    model_path = (dir / "scorer.pt").string();
  }
  auto catalog = std::make_shared<Catalog>();
  if (argc > 4) {
    for (const auto& id : sidecar.at("items")) catalog->add({id.get<std::string>(), "", {}, 0});
  } else {
    for (int i = 0; i < items; ++i) catalog->add({std::to_string(i), "", {}, 0});
  }
  TorchScriptRecommender model(catalog, {model_path, device, kBatch * kMembers});
  const auto dev = model.device();
  torch::manual_seed(0);
  const auto history = torch::randint(1, items + 1, {kBatch, history_length}, torch::kInt64).to(dev);
  const auto attributes = torch::zeros({kBatch, attribute_slots}, torch::kInt64).to(dev);
  const auto candidates = torch::randint(1, items + 1, {kBatch, kCandidates}, torch::kInt64).to(dev);
  const auto perms = PermutationEnsemble::cyclic(kCandidates, kMembers);
  const PermutationEnsemble ensemble(perms);
  const auto history_m = history.repeat_interleave(kMembers, 0);
  const auto attributes_m = attributes.repeat_interleave(kMembers, 0);
  auto batched = [&] {
    return ensemble(candidates, [&](const torch::Tensor& shown) { return model.score(history_m, attributes_m, shown); });
  };
  auto sequential = [&] {
    std::vector<torch::Tensor> members;
    for (int r = 0; r < kMembers; ++r) {
      const auto order = perms[r].to(dev);
      const auto shown = candidates.index_select(1, order);
      members.push_back(torch::zeros_like(shown, torch::kFloat32).index_copy(1, order, model.score(history, attributes, shown)));
    }
    return torch::stack(members, 1);
  };
  // Same numbers either way.
  if (!torch::allclose(batched(), sequential(), 1e-4, 1e-5)) std::printf("WARNING: batched and sequential scores differ\n");
  for (int warm = 0; warm < 3; ++warm) batched(), sequential();  // the JIT's profiling runs, allocator warm-up
  double t_batched = 0, t_sequential = 0;
  for (int rep = 0; rep < repeats; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    auto a = batched();
    if (dev.is_cuda()) torch::cuda::synchronize();
    auto t1 = std::chrono::steady_clock::now();
    auto b = sequential();
    if (dev.is_cuda()) torch::cuda::synchronize();
    auto t2 = std::chrono::steady_clock::now();
    t_batched += std::chrono::duration<double>(t1 - t0).count();
    t_sequential += std::chrono::duration<double>(t2 - t1).count();
  }
  std::printf("permutation ensembling m = %d, B = %d, K = %d, %s, %d threads, %d repeats, model %s\n", kMembers, kBatch, kCandidates,
              dev.str().c_str(), at::get_num_threads(), repeats, argc > 4 ? model_path.c_str() : "bench/scorer_model.py");
  std::printf("  one batched forward   %.3f s\n  8 sequential forwards %.3f s\n  ratio                 %.3f (goal <= 1.0 on CPU, <= 0.3 on GPU)\n",
              t_batched, t_sequential, t_batched / t_sequential);
  return 0;
}
