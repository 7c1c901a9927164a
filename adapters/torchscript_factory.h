// Factory for the TorchScript adapter, declared without libtorch headers so
// that the registry (and everything else) compiles without them. The adapter
// itself is torchscript_recommender.h, in its own target recbias_torchscript.
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

// Defined in recbias_torchscript (the only adapter target that links libtorch).
std::unique_ptr<Recommender> make_torchscript_recommender(std::shared_ptr<const Catalog> catalog, TorchScriptOptions options);

// The registry (recbias_adapters, torch-free) reaches the TorchScript adapter
// through this hook, so that everything linking recbias_adapters compiles and
// links without libtorch. A program that offers the adapter calls
// install_torchscript_adapter() (recbias_torchscript) once before building
// recommenders; without it, asking for `torchscript` is a BadInput error
// saying this program was built without it.
using TorchScriptMaker = std::unique_ptr<Recommender> (*)(std::shared_ptr<const Catalog>, TorchScriptOptions);
void set_torchscript_maker(TorchScriptMaker maker);  // recbias_adapters (torchscript_hook.cc)
TorchScriptMaker installed_torchscript_maker();      // loads the torch part (torch_part.h) when none is installed; null without it
void install_torchscript_adapter();                  // recbias_torchscript

// The side-car path of a module path: "m.pt" -> "m.json", anything else -> path + ".json".
std::string torchscript_sidecar_path(const std::string& module_path);

}  // namespace recbias
