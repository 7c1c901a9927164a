// The one table of mitigations, like adapters/registry.h: name ->
// description, accepted keys (with their defaults: the one source of them)
// and factory. `recbias mitigations`, --help and the error messages for
// unknown names and keys read it.
//
// Mitigations are Recommenders that wrap a Recommender (like faiss's
// IndexIDMap wraps an Index), so `recbias audit --mitigate ...` measures a
// mitigated model with the very audits that found the bias. Each decorator
// (one file per class in this folder) builds the extra requests, calls the
// wrapped model once per batch, and hands the scores to an operator in
// operators.h. Ids compose: "permutation(m=8,agg=mean)<-simulated:...".
// Answers of mitigated models count every model call they cost in
// usage.calls.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/adapter_spec.h"
#include "adapters/recommender.h"
#include "adapters/registry.h"
#include "datasets/dataset.h"

namespace recbias {

struct MitigationContext {
  std::shared_ptr<const Catalog> catalog;
  std::vector<AttributeSet> attributes;  // the dataset's attributes (counterfactual, neutralize)
  double short_head_share = 0.8;         // the short head (--short-head): FA*IR's protected long tail lies outside it
  // Resolves calibrate-position's prior=FILE with from=WHAT (auto,
  // mean_probability, selection_rate: reports/report_io.h) to values and
  // what was read; the decorators read no files. Null: only prior=b0;b1;...
  // is accepted.
  struct Prior {
    std::vector<double> values;
    std::string from;
  };
  std::function<Prior(const std::string& source, const std::string& from)> read_prior = nullptr;
};

struct MitigationInfo {
  std::string name;
  std::string description;
  std::vector<AdapterKey> keys;  // name, default (as text), help
  std::function<std::unique_ptr<Recommender>(const AdapterSpec&, std::unique_ptr<Recommender>, const MitigationContext&)> factory;
};

// The registered mitigations, built once on first use.
const std::vector<MitigationInfo>& mitigation_registry();

// "permutation, calibrate-position, calibrate, fair, counterfactual, neutralize"
std::string mitigation_names();

// Wraps `inner` with the mitigation a spec names. BadInput for unknown
// mitigations or keys (listing the known ones) and for values out of range.
std::unique_ptr<Recommender> make_mitigation(const AdapterSpec& spec, std::unique_ptr<Recommender> inner,
                                             const MitigationContext& context);

}  // namespace recbias
