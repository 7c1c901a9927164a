// The hook through which the registry reaches the TorchScript adapter
// (torchscript_factory.h): a TU of its own, so the GPU check's tensor-only
// build links it without the rest of the registry.
#include <atomic>

#include "adapters/torch_part.h"
#include "adapters/torchscript_factory.h"

namespace recbias {
namespace {

std::atomic<TorchScriptMaker> maker{nullptr};

}  // namespace

void set_torchscript_maker(TorchScriptMaker m) { maker.store(m); }

TorchScriptMaker installed_torchscript_maker() {
  if (!maker.load()) load_torch_part();
  return maker.load();
}

}  // namespace recbias
