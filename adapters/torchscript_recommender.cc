#include "adapters/torchscript_recommender.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <torch/cuda.h>

#include "core/file_io.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "core/sha256.h"

namespace recbias {
namespace {

torch::Device parse_device(const std::string& text) {
  try {
    torch::Device device(text);
    if (device.is_cuda() && !torch::cuda::is_available())
      throw BadInput(fmt::format("adapter torchscript: device={}: this libtorch sees no CUDA device (Debian's libtorch is CPU-only; "
                                 "build against a CUDA libtorch with CMAKE_PREFIX_PATH)", text));
    return device;
  } catch (const c10::Error&) {
    throw BadInput(fmt::format("adapter torchscript: device={}: expected cpu, cuda or cuda:N", text));
  }
}

}  // namespace

std::string torchscript_sidecar_path(const std::string& module_path) {
  if (module_path.size() > 3 && module_path.ends_with(".pt")) return module_path.substr(0, module_path.size() - 3) + ".json";
  return module_path + ".json";
}

TorchScriptRecommender::TorchScriptRecommender(std::shared_ptr<const Catalog> catalog, TorchScriptOptions options)
    : catalog_(std::move(catalog)), options_(std::move(options)), device_(parse_device(options_.device)) {
  if (options_.path.empty()) throw BadInput("adapter torchscript: path=... is required (the .pt module)");
  // Side-car first: its errors are the most common and the cheapest to report.
  const auto sidecar_path = torchscript_sidecar_path(options_.path);
  const auto text = read_whole_file(sidecar_path);
  if (!text) throw BadInput(fmt::format("torchscript side-car {} not found; expected it next to {} (see DESIGN.md, the TorchScript contract)", sidecar_path, options_.path));
  const auto j = parse_json(*text, sidecar_path);
  auto fail = [&](const std::string& what) { throw BadInput(fmt::format("torchscript side-car {}: {}", sidecar_path, what)); };
  if (!j.is_object()) fail("expected a JSON object");
  if (j.value("format", std::string()) != "recbias.torchscript/1")
    fail(fmt::format("field format: found {}, expected \"recbias.torchscript/1\"", j.contains("format") ? j["format"].dump() : "(missing)"));
  if (!j.contains("items") || !j["items"].is_array() || j["items"].empty()) fail("field items: expected a non-empty array of item id strings");
  std::unordered_map<std::string, std::int64_t> by_id;
  for (std::size_t i = 0; i < j["items"].size(); ++i) {
    const auto& v = j["items"][i];
    if (!v.is_string()) fail(fmt::format("field items[{}]: found {}, expected an item id string", i, v.dump()));
    if (!by_id.emplace(v.get<std::string>(), static_cast<std::int64_t>(i) + 1).second)
      fail(fmt::format("field items[{}]: id \"{}\" appears twice", i, v.get<std::string>()));
  }
  if (j.contains("attributes")) {
    if (!j["attributes"].is_array()) fail("field attributes: expected an array of {\"name\", \"values\"}");
    for (const auto& a : j["attributes"]) {
      if (!a.is_object() || !a.contains("name") || !a["name"].is_string() || !a.contains("values") || !a["values"].is_array())
        fail(fmt::format("field attributes: found {}, expected {{\"name\": \"...\", \"values\": [...]}}", a.dump()));
      AttributeSlot slot{a["name"], {}};
      for (const auto& v : a["values"]) {
        if (!v.is_string()) fail(fmt::format("attribute {}: found value {}, expected strings", slot.name, v.dump()));
        slot.values.push_back(v);
      }
      attributes_.push_back(std::move(slot));
    }
  }
  if (!j.contains("max_history") || !j["max_history"].is_number_integer() || j["max_history"].get<int>() < 1)
    fail("field max_history: expected an integer >= 1");
  max_history_ = j["max_history"];
  model_index_.assign(catalog_->size(), 0);
  std::size_t known = 0;
  for (std::size_t i = 0; i < catalog_->size(); ++i) {
    auto it = by_id.find(catalog_->items()[i].id);
    if (it != by_id.end()) {
      model_index_[i] = it->second;
      ++known;
    }
  }
  if (known == 0)
    fail(fmt::format("none of its {} item ids is in the dataset's catalog (first: \"{}\"); was the model trained on another dataset?",
                     by_id.size(), j["items"][0].get<std::string>()));

  try {
    module_ = torch::jit::load(options_.path, device_);
  } catch (const c10::Error& e) {
    throw BadInput(fmt::format("cannot load TorchScript module {}: {}", options_.path, std::string(e.what()).substr(0, 300)));
  }
  module_.eval();
  auto method = module_.find_method("forward");
  if (!method) throw BadInput(fmt::format("TorchScript module {}: it has no forward method", options_.path));
  const auto& args = method->function().getSchema().arguments();
  // arguments()[0] is self.
  std::vector<std::string> names;
  for (std::size_t i = 1; i < args.size(); ++i) names.push_back(args[i].name());
  if (args.size() != 4)
    throw BadInput(fmt::format("TorchScript module {}: forward takes {} arguments ({}), expected 3: history, attributes, candidates",
                               options_.path, args.size() - 1, fmt::join(names, ", ")));
  for (std::size_t i = 1; i < args.size(); ++i)
    if (args[i].type()->kind() != c10::TypeKind::TensorType)
      throw BadInput(fmt::format("TorchScript module {}: forward argument {} ({}) has type {}, expected Tensor", options_.path, i,
                                 args[i].name(), args[i].type()->str()));
  module_sha256_ = sha256_file(options_.path);
}

std::string TorchScriptRecommender::id() const {
  return fmt::format("torchscript:path={},sha256={},device={}", options_.path, module_sha256_.substr(0, 16), device_.str());
}

Capabilities TorchScriptRecommender::capabilities() const {
  return {.scores = true, .deterministic = true, .thread_safe = true};
}

EncodedBatch TorchScriptRecommender::encode(std::span<const RankRequest> requests) const {
  const auto b = static_cast<std::int64_t>(requests.size());
  RECBIAS_CHECK(b > 0, "encode() of an empty batch");
  const auto k = static_cast<std::int64_t>(requests[0].candidates.size());
  const auto a = static_cast<std::int64_t>(attributes_.size());
  const auto h = static_cast<std::int64_t>(max_history_);
  auto history = torch::zeros({b, h}, torch::kInt64);
  auto attributes = torch::zeros({b, std::max<std::int64_t>(a, 0)}, torch::kInt64);
  auto candidates = torch::zeros({b, k}, torch::kInt64);
  auto hp = history.accessor<std::int64_t, 2>();
  auto ap = attributes.accessor<std::int64_t, 2>();
  auto cp = candidates.accessor<std::int64_t, 2>();
  for (std::int64_t r = 0; r < b; ++r) {
    const auto& request = requests[static_cast<std::size_t>(r)];
    RECBIAS_CHECK(static_cast<std::int64_t>(request.candidates.size()) == k, "encode() needs equal candidate counts");
    for (std::int64_t c = 0; c < k; ++c) {
      const auto item = request.candidates[static_cast<std::size_t>(c)];
      const auto index = model_index_[static_cast<std::size_t>(item)];
      if (index == 0)
        throw BadInput(fmt::format("request {}: candidate item id \"{}\" is not in the model's vocabulary (side-car items)",
                                   request.id, catalog_->at(item).id));
      cp[r][c] = index;
    }
    // Most recent known items, oldest first, left-padded.
    std::vector<std::int64_t> known;
    for (auto it = request.user.history.rbegin(); it != request.user.history.rend() && static_cast<std::int64_t>(known.size()) < h; ++it)
      if (auto index = model_index_[static_cast<std::size_t>(*it)]; index != 0) known.push_back(index);
    for (std::size_t i = 0; i < known.size(); ++i) hp[r][h - 1 - static_cast<std::int64_t>(i)] = known[i];
    for (std::int64_t s = 0; s < a; ++s) {
      const auto& slot = attributes_[static_cast<std::size_t>(s)];
      auto it = request.user.attributes.find(slot.name);
      if (it == request.user.attributes.end()) continue;
      auto v = std::find(slot.values.begin(), slot.values.end(), it->second);
      if (v == slot.values.end())
        throw BadInput(fmt::format("request {}: attribute {}={} is not one of the model's values ({})", request.id, slot.name,
                                   it->second, fmt::join(slot.values, ", ")));
      ap[r][s] = 1 + (v - slot.values.begin());
    }
  }
  return {history.to(device_), attributes.to(device_), candidates.to(device_)};
}

torch::Tensor TorchScriptRecommender::score(const torch::Tensor& history, const torch::Tensor& attributes,
                                            const torch::Tensor& candidates) const {
  c10::InferenceMode guard;
  torch::Tensor out;
  try {
    auto result = module_.forward({history, attributes, candidates});
    if (!result.isTensor())
      throw BadInput(fmt::format("TorchScript module {}: forward returned {}, expected a float32 tensor [B, K]", options_.path,
                                 result.tagKind()));
    out = result.toTensor();
  } catch (const c10::Error& e) {
    throw BackendFailure(fmt::format("TorchScript module {}: forward failed: {}", options_.path, std::string(e.what()).substr(0, 400)));
  }
  if (out.scalar_type() != torch::kFloat32)
    throw BadInput(fmt::format("TorchScript module {}: forward returned dtype {}, expected float32", options_.path,
                               c10::toString(out.scalar_type())));
  if (out.dim() != 2 || out.size(0) != candidates.size(0) || out.size(1) != candidates.size(1))
    throw BadInput(fmt::format("TorchScript module {}: forward returned shape {}, expected [{}, {}] (batch, candidates)",
                               options_.path, fmt::format("{}", fmt::join(out.sizes().begin(), out.sizes().end(), ", ")), candidates.size(0), candidates.size(1)));
  return out;
}

torch::Tensor TorchScriptRecommender::score(const EncodedBatch& batch) const {
  return score(batch.history, batch.attributes, batch.candidates);
}

std::vector<RankResponse> TorchScriptRecommender::rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) {
  std::vector<RankResponse> out(requests.size());
  // Batches of consecutive requests with the same candidate count.
  std::size_t start = 0;
  while (start < requests.size()) {
    std::size_t end = start + 1;
    while (end < requests.size() && end - start < static_cast<std::size_t>(std::max(1, options_.batch_size)) &&
           requests[end].candidates.size() == requests[start].candidates.size())
      ++end;
    const auto batch = requests.subspan(start, end - start);
    const auto began = std::chrono::steady_clock::now();
    const auto scores = score(encode(batch)).to(torch::kCPU).contiguous();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count();
    const auto k = scores.size(1);
    const float* data = scores.data_ptr<float>();
    for (std::size_t r = 0; r < batch.size(); ++r) {
      auto& response = out[start + r];
      response.request_id = batch[r].id;
      std::vector<float> s(data + static_cast<std::int64_t>(r) * k, data + static_cast<std::int64_t>(r + 1) * k);
      response.ranking = top_k_by_score(s, batch[r].candidates, batch[r].k);
      response.scores = std::move(s);
      response.usage.calls = 1;
      response.usage.latency_ms = ms / static_cast<double>(batch.size());
      if (on_response) on_response(start + r, response);
    }
    start = end;
  }
  return out;
}

std::unique_ptr<Recommender> make_torchscript_recommender(std::shared_ptr<const Catalog> catalog, TorchScriptOptions options) {
  return std::make_unique<TorchScriptRecommender>(std::move(catalog), std::move(options));
}

void install_torchscript_adapter() { set_torchscript_maker(&make_torchscript_recommender); }

}  // namespace recbias
