#include "cli/torch_part_loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "adapters/torch_part.h"
#include "core/errors.h"

namespace recbias::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFile = "librecbias_torch.so";

std::vector<fs::path> candidates() {
  if (const char* explicit_path = std::getenv("RECBIAS_TORCH_PART"); explicit_path && *explicit_path) return {explicit_path};
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  const auto dir = exe.parent_path();
  return {dir / kFile, (dir / RECBIAS_TORCH_PART_RELDIR / kFile).lexically_normal()};
}

void load() {
  std::vector<std::string> tried;
  for (const auto& path : candidates()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      tried.push_back(fmt::format("{} (absent)", path.string()));
      continue;
    }
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = ::dlerror();
      throw BadInput(fmt::format("cannot load recbias's libtorch part {}: {}", path.string(), why ? why : "unknown dlopen error"));
    }
    using IdFn = const char* (*)();
    using InstallFn = void (*)();
    auto id = reinterpret_cast<IdFn>(::dlsym(handle, "recbias_torch_part_id"));
    auto install = reinterpret_cast<InstallFn>(::dlsym(handle, "recbias_torch_part_install"));
    if (!id || !install) throw BadInput(fmt::format("{} is not recbias's libtorch part (no recbias_torch_part_install)", path.string()));
    if (std::string(id()) != RECBIAS_TORCH_PART_ID)
      throw BadInput(fmt::format("{} belongs to recbias build {}, this executable is build {}: reinstall them together", path.string(), id(),
                                 RECBIAS_TORCH_PART_ID));
    install();  // the handle stays open for the process's life
    return;
  }
  throw BadInput(fmt::format(
      "the TorchScript adapter and the mitigations need recbias's libtorch part, which was not found (tried {}); "
      "set RECBIAS_TORCH_PART to the path of {}",
      fmt::join(tried, ", "), kFile));
}

}  // namespace

void install_torch_part_loader() { set_torch_part_loader(&load); }

}  // namespace recbias::cli
