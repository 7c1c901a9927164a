// The hook through which the registry reaches the TorchScript adapter
// (torchscript_factory.h): a TU of its own, so the GPU check's tensor-only
// build links it without the rest of the registry.
#include <atomic>

#include "adapters/torchscript_factory.h"

namespace recbias {
namespace {

std::atomic<TorchScriptMaker> maker{nullptr};

}  // namespace

void set_torchscript_maker(TorchScriptMaker m) { maker.store(m); }

TorchScriptMaker installed_torchscript_maker() { return maker.load(); }

}  // namespace recbias
