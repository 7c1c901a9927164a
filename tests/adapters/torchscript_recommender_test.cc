// The torchscript adapter on tiny modules scripted at test time with Debian's
// python3-torch; skipped visibly when it is not installed.
#include <cstdlib>

// libtorch (through glog) defines a CHECK macro; include it first and let
// Catch2's CHECK win.
#include <torch/cuda.h>

#include "adapters/torchscript_recommender.h"
#undef CHECK

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "adapters/adapter_spec.h"
#include "adapters/registry.h"
#include "core/errors.h"
#include "tests/adapters/adapter_fixtures.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

// Writes modules into `dir`:
//  good.pt       score = candidate index * 1.0 + 10 * (attribute slot 0 == 1) + 0.01 * sum(history > 0)
//  arity.pt      forward(history, candidates)
//  dtype.pt      returns float64
//  shape.pt      returns [B, K + 1]
const char* kMakeModules = R"PY(
import sys, torch
out = sys.argv[1]
class Good(torch.nn.Module):
    def forward(self, history: torch.Tensor, attributes: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        bonus = (attributes[:, 0:1] == 1).float() * 10.0
        hist = (history > 0).float().sum(dim=1, keepdim=True) * 0.01
        return candidates.float() + bonus + hist
class Arity(torch.nn.Module):
    def forward(self, history: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        return candidates.float()
class DType(torch.nn.Module):
    def forward(self, history: torch.Tensor, attributes: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        return candidates.double()
class Shape(torch.nn.Module):
    def forward(self, history: torch.Tensor, attributes: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
        return torch.cat([candidates.float(), candidates[:, :1].float()], dim=1)
for name, cls in [("good", Good), ("arity", Arity), ("dtype", DType), ("shape", Shape)]:
    torch.jit.script(cls()).save(f"{out}/{name}.pt")
)PY";

// A Python with torch: $RECBIAS_PYTHON, else Debian's python3-torch.
std::string python_with_torch() {
  const char* python = std::getenv("RECBIAS_PYTHON");
  return python ? python : "/usr/bin/python3";
}

bool python_torch_available() {
  return std::system((python_with_torch() + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
}

void write_sidecar(const TempDir& dir, const std::string& name, const std::string& items = R"(["1","2","3","4","5","6"])") {
  write_file(dir / (name + ".json"),
             R"({"format": "recbias.torchscript/1", "items": )" + items +
                 R"(, "attributes": [{"name": "gender", "values": ["F", "M"]}], "max_history": 3})");
}

struct Modules {
  TempDir dir;
  bool ok = false;
  Modules() {
    install_torchscript_adapter();  // the registry reaches the adapter through this hook
    if (!python_torch_available()) return;
    write_file(dir / "make.py", kMakeModules);
    ok = std::system((python_with_torch() + " " + (dir / "make.py") + " " + dir.path().string()).c_str()) == 0;
    for (const char* name : {"good", "arity", "dtype", "shape"}) write_sidecar(dir, name);
  }
  std::unique_ptr<Recommender> make(const std::string& name) const {
    return make_recommender(AdapterSpec::parse("torchscript:path=" + (dir / (name + ".pt"))), small_context());
  }
};

#define REQUIRE_MODULES(m)                                                           \
  Modules m;                                                                         \
  if (!m.ok) {                                                                       \
    skip_missing("python3-torch is not installed (apt-get install python3-torch)"); \
    return;                                                                          \
  }

}  // namespace

TEST_CASE("without the TorchScript target installed, the registry says the adapter is not built in", "[torchscript]") {
  set_torchscript_maker(nullptr);
  CHECK_THROWS_WITH(make_recommender(AdapterSpec::parse("torchscript:path=m.pt"), small_context()),
                    Catch::Matchers::Contains("built without the TorchScript adapter"));
  install_torchscript_adapter();
  // Builtin adapters do not offer tensor scoring.
  CHECK(make_recommender(AdapterSpec::parse("popularity"), small_context())->tensor_scorer() == nullptr);
}

TEST_CASE("a contract-following TorchScript module ranks requests, encoding follows the side-car", "[torchscript]") {
  REQUIRE_MODULES(m);
  auto rec = m.make("good");
  auto a = small_request("a", {0, 3, 1}, 3);  // model indices 1, 4, 2; gender F -> +10
  auto b = small_request("b", {5, 4, 2}, 2);
  b.user.attributes.clear();
  b.user.history = {0, 1, 2, 3, 4};  // only the 3 most recent are kept
  const auto out = rec->rank(std::vector<RankRequest>{a, b});
  CHECK(out[0].ranking == std::vector<int>{1, 2, 0});
  CHECK(out[0].scores->at(0) == Approx(1 + 10 + 0.02));
  CHECK(out[1].ranking == std::vector<int>{0, 1});
  CHECK(out[1].scores->at(0) == Approx(6 + 0.03));

  // The tensor-scoring capability, as mitigations find it (no cast to the concrete class).
  const auto* ts = rec->tensor_scorer();
  REQUIRE(ts != nullptr);
  const auto batch = ts->encode(std::vector<RankRequest>{b});
  CHECK(batch.history.sizes() == torch::IntArrayRef({1, 3}));
  CHECK(batch.history[0][0].item<std::int64_t>() == 3);  // items 3, 4, 5 -> model 3, 4, 5, oldest first
  CHECK(batch.history[0][2].item<std::int64_t>() == 5);
  CHECK(batch.attributes[0][0].item<std::int64_t>() == 0);  // not stated
  CHECK(ts->score(batch).device() == ts->device());
  // Deterministic: the same batch twice gives identical scores.
  CHECK(rec->rank(std::vector<RankRequest>{a})[0].scores == out[0].scores);
}

TEST_CASE("modules and side-cars that break the contract fail with a message naming the part", "[torchscript]") {
  REQUIRE_MODULES(m);
  CHECK_THROWS_WITH(m.make("arity"), Contains("forward takes 2 arguments (history, candidates), expected 3"));
  auto req = std::vector<RankRequest>{small_request("a", {0, 1}, 2)};
  CHECK_THROWS_WITH(m.make("dtype")->rank(req), Contains("forward returned dtype Double, expected float32"));
  CHECK_THROWS_WITH(m.make("shape")->rank(req), Contains("forward returned shape 1, 3, expected [1, 2]"));

  write_sidecar(m.dir, "good", R"(["1","2"])");
  CHECK_THROWS_WITH(m.make("good")->rank(std::vector<RankRequest>{small_request("a", {0, 4}, 2)}),
                    Contains("candidate item id \"5\" is not in the model's vocabulary"));
  auto unknown_value = small_request("a", {0, 1}, 2);
  unknown_value.user.attributes["gender"] = "X";
  CHECK_THROWS_WITH(m.make("good")->rank(std::vector<RankRequest>{unknown_value}),
                    Contains("attribute gender=X is not one of the model's values (F, M)"));
  write_file(m.dir / "good.json", R"({"format": "other", "items": ["1"], "max_history": 3})");
  CHECK_THROWS_WITH(m.make("good"), Contains("field format: found \"other\", expected \"recbias.torchscript/1\""));
  write_file(m.dir / "good.json", R"({"format": "recbias.torchscript/1", "items": ["1", "1"], "max_history": 3})");
  CHECK_THROWS_WITH(m.make("good"), Contains("items[1]: id \"1\" appears twice"));
  write_file(m.dir / "good.json", R"({"format": "recbias.torchscript/1", "items": ["a", "b"], "max_history": 3})");
  CHECK_THROWS_WITH(m.make("good"), Contains("none of its 2 item ids is in the dataset's catalog"));
  CHECK_THROWS_WITH(m.make("missing"), Contains("side-car"));
  write_sidecar(m.dir, "broken");
  write_file(m.dir / "broken.pt", "not a zip file");
  CHECK_THROWS_WITH(m.make("broken"), Contains("cannot load TorchScript module"));
}

TEST_CASE("CUDA devices are rejected clearly when this libtorch has none", "[torchscript]") {
  REQUIRE_MODULES(m);
  if (torch::cuda::is_available()) {
    auto rec = make_recommender(AdapterSpec::parse("torchscript:device=cuda,path=" + (m.dir / "good.pt")), small_context());
    auto cpu = m.make("good");
    const auto req = std::vector<RankRequest>{small_request("a", {0, 3, 1}, 3)};
    CHECK(rec->rank(req)[0].scores == cpu->rank(req)[0].scores);
  } else {
    CHECK_THROWS_WITH(make_recommender(AdapterSpec::parse("torchscript:device=cuda,path=" + (m.dir / "good.pt")), small_context()),
                      Contains("sees no CUDA device"));
  }
  CHECK_THROWS_WITH(make_recommender(AdapterSpec::parse("torchscript:device=tpu,path=" + (m.dir / "good.pt")), small_context()),
                    Contains("expected cpu, cuda or cuda:N"));
}
