// recbias's libtorch part: the TorchScript adapter (recbias_torchscript) and
// the mitigations' tensor operators (recbias_mitigations). A program either
// links it and installs it (install_torchscript_adapter(),
// install_mitigations()), or sets a loader that brings it in on first use:
// the `recbias` executable loads librecbias_torch.so only when an audit asks
// for a TorchScript model or a mitigation, so `gate`, `report`, `datasets`
// and audits of other adapters start without loading libtorch (~0.4 s and
// ~150 MB per process).
//
// Thread rules: load_torch_part() may be called from any thread; the loader
// runs at most once.
#pragma once

namespace recbias {

// Installs the torch part's makers (set_torchscript_maker,
// set_mitigation_makers); throws recbias::Error when it cannot.
using TorchPartLoader = void (*)();

void set_torch_part_loader(TorchPartLoader loader);

// Runs the loader once (later calls rethrow its first failure); a no-op
// when no loader is set.
void load_torch_part();

}  // namespace recbias
