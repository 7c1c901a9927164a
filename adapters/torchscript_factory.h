// Factory for the TorchScript adapter, declared without libtorch headers so
// that the registry (and everything else) compiles without them. The adapter
// itself is torchscript_recommender.h.
#pragma once

#include <memory>
#include <string>

#include "adapters/recommender.h"

namespace recbias {

struct TorchScriptOptions {
  std::string path;          // the .pt module; its side-car is the same path with .json; required
  std::string device = "cpu";// cpu | cuda | cuda:N; default cpu
  int batch_size = 256;      // requests per forward; default 256
};

std::unique_ptr<Recommender> make_torchscript_recommender(std::shared_ptr<const Catalog> catalog, TorchScriptOptions options);

// The side-car path of a module path: "m.pt" -> "m.json", anything else -> path + ".json".
std::string torchscript_sidecar_path(const std::string& module_path);

}  // namespace recbias
