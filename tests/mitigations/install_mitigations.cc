// The decorators linked into this test program, installed before any test
// runs (the `recbias` executable loads them on first use instead:
// cli/torch_part_loader.h).
#include "mitigations/makers.h"

namespace {

const bool installed = (recbias::install_mitigations(), true);

}  // namespace
