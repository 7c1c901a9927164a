// The entry points of librecbias_torch.so (cli/torch_part_loader.h): the
// build it belongs to, and the installer of its TorchScript adapter and
// mitigation decorators into the executable that loaded it.
#include "adapters/torchscript_factory.h"
#include "mitigations/makers.h"

extern "C" {

__attribute__((visibility("default"))) const char* recbias_torch_part_id() { return RECBIAS_TORCH_PART_ID; }

__attribute__((visibility("default"))) void recbias_torch_part_install() {
  recbias::install_torchscript_adapter();
  recbias::install_mitigations();
}

}  // extern "C"
