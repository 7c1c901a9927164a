// `torchscript`: a TorchScript module that follows the contract in DESIGN.md,
// run in-process on CPU or CUDA.
//
//   forward(history: int64 [B, H], attributes: int64 [B, A], candidates: int64 [B, K]) -> float32 [B, K]
//
// with a side-car JSON naming the vocabularies (format "recbias.torchscript/1":
// items, attributes, max_history). Item index i + 1 is items[i]; 0 pads.
// Attribute slot j holds 0 when the profile does not state attributes[j],
// else 1 + the index of the value. History keeps the max_history most recent
// items, oldest first, left-padded with 0; history items the model does not
// know are dropped, while an unknown candidate is a BadInput error.
//
// Loading checks the forward signature (three tensor arguments) and the
// side-car; the first forward checks the output's dtype and shape. Every
// mismatch is a BadInput error saying which part does not match.
//
// It is a TensorScorer (adapters/tensor_scorer.h): encode() and score() are
// the tensor-level interface for mitigation operators; the scores stay on
// the module's device.
//
// Thread rules: rank(), encode() and score() may be called concurrently
// (TorchScript modules are thread-safe for inference); capabilities says so.
#pragma once

#include <algorithm>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include <torch/script.h>

#include "adapters/tensor_scorer.h"
#include "adapters/torchscript_factory.h"

namespace recbias {

class TorchScriptRecommender final : public Recommender, public TensorScorer {
 public:
  TorchScriptRecommender(std::shared_ptr<const Catalog> catalog, TorchScriptOptions options);

  std::string id() const override;
  Capabilities capabilities() const override;
  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override;
  const TensorScorer* tensor_scorer() const override { return this; }

  EncodedBatch encode(std::span<const RankRequest> requests) const override;
  torch::Tensor score(const EncodedBatch& batch) const override;
  torch::Tensor score(const torch::Tensor& history, const torch::Tensor& attributes, const torch::Tensor& candidates) const override;

  torch::Device device() const override { return device_; }
  // Requests per forward (the batch_size option).
  int batch_size() const override { return std::max(1, options_.batch_size); }
  int max_history() const { return max_history_; }

 private:
  std::shared_ptr<const Catalog> catalog_;
  TorchScriptOptions options_;
  torch::Device device_;
  mutable torch::jit::Module module_;
  std::string module_sha256_;
  int max_history_ = 50;
  std::vector<std::int64_t> model_index_;  // catalog index -> model item index (0 = unknown)
  struct AttributeSlot {
    std::string name;
    std::vector<std::string> values;
  };
  std::vector<AttributeSlot> attributes_;
};

}  // namespace recbias
