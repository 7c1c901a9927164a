#include "adapters/torch_part.h"

#include <atomic>
#include <exception>
#include <mutex>

namespace recbias {
namespace {

std::atomic<TorchPartLoader> loader{nullptr};
std::once_flag loaded;
std::exception_ptr failure;  // the loader's first failure, rethrown to every later caller

}  // namespace

void set_torch_part_loader(TorchPartLoader l) { loader.store(l); }

void load_torch_part() {
  const auto l = loader.load();
  if (!l) return;
  std::call_once(loaded, [l] {
    try {
      l();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  if (failure) std::rethrow_exception(failure);
}

}  // namespace recbias
