#include "mitigations/makers.h"

#include <atomic>

#include "adapters/torch_part.h"
#include "core/errors.h"

namespace recbias {
namespace {

std::atomic<const MitigationMakers*> installed{nullptr};

}  // namespace

void set_mitigation_makers(const MitigationMakers* makers) { installed.store(makers); }

const MitigationMakers& mitigation_makers() {
  if (!installed.load()) load_torch_part();
  if (const auto* makers = installed.load()) return *makers;
  throw BadInput("mitigations: this program was built without them (link recbias_mitigations and call install_mitigations())");
}

}  // namespace recbias
