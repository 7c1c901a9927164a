// The optional tensor-scoring capability of a recommender (faiss-style
// optional capability): a model that can score candidate tensors on its
// device, so mitigations batch whole ensembles into one forward there
// instead of sending permuted requests through rank(). The TorchScript
// adapter provides it; a Recommender without it returns null from
// tensor_scorer() (adapters/recommender.h), and mitigations fall back to
// rank().
//
// Only the files that use tensors include this header (it pulls in torch's
// tensor types); recommender.h merely declares the class.
//
// Thread rules: encode() and score() may be called concurrently.
#pragma once

#include <span>

#include <torch/types.h>

#include "adapters/recommender.h"

namespace recbias {

struct EncodedBatch {
  torch::Tensor history;     // int64 [B, H] on the scorer's device
  torch::Tensor attributes;  // int64 [B, A]
  torch::Tensor candidates;  // int64 [B, K]
};

class TensorScorer {
 public:
  virtual ~TensorScorer() = default;
  // Encodes requests that all have the same number of candidates.
  virtual EncodedBatch encode(std::span<const RankRequest> requests) const = 0;
  // One forward; float32 [B, K] on device(). Checks dtype and shape.
  virtual torch::Tensor score(const EncodedBatch& batch) const = 0;
  // Scores arbitrary candidate tensors with the same history and attributes (for ensembles).
  virtual torch::Tensor score(const torch::Tensor& history, const torch::Tensor& attributes, const torch::Tensor& candidates) const = 0;
  virtual torch::Device device() const = 0;
  // Requests per forward: callers slice larger groups to bound memory.
  virtual int batch_size() const = 0;
};

}  // namespace recbias
