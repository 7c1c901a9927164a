// The `recbias` executable's loader of its libtorch part (adapters/torch_part.h):
// librecbias_torch.so, built from recbias_torchscript, recbias_tensor_ops and
// recbias_mitigations, dlopen()ed the first time an audit asks for a
// TorchScript model or a mitigation. Found at $RECBIAS_TORCH_PART (a file),
// else beside the executable (the build tree), else in the installed
// library folder (<bindir>/../<libdir>/recbias/).
#pragma once

namespace recbias::cli {

void install_torch_part_loader();

}  // namespace recbias::cli
