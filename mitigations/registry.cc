#include "mitigations/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"
#include "core/registry.h"
#include "core/text.h"
#include "mitigations/makers.h"

namespace recbias {
namespace {

// prior=b0;b1;... (positive numbers), or a file the context's reader resolves.
MitigationContext::Prior parse_prior(const std::string& text, const std::string& from, const MitigationContext& context) {
  if (text.ends_with(".json")) {
    if (!context.read_prior)
      throw BadInput(fmt::format("calibrate-position: prior={}: this program cannot read prior files; give the rates as b0;b1;...", text));
    return context.read_prior(text, from);
  }
  if (from != "auto") throw BadInput(fmt::format("calibrate-position: from={} applies to prior=report.json, not to given values", from));
  MitigationContext::Prior prior{{}, "values"};
  for (auto part : split(text, ";")) {
    auto v = parse_double(trim(part));
    if (!v || *v <= 0) throw BadInput(fmt::format("calibrate-position: prior={}: expected positive numbers separated by ';' or a report.json", text));
    prior.values.push_back(*v);
  }
  return prior;
}

const AttributeSet& find_attribute(const MitigationContext& context, const std::string& name, const std::string& mitigation) {
  for (const auto& set : context.attributes)
    if (set.name == name) return set;
  std::vector<std::string> names;
  for (const auto& set : context.attributes) names.push_back(set.name);
  throw BadInput(fmt::format("mitigation {}: attribute={}: the dataset has {}", mitigation, name,
                             names.empty() ? std::string("no attributes") : fmt::format("{}", fmt::join(names, ", "))));
}

std::vector<MitigationInfo> build_registry() {
  std::vector<MitigationInfo> r;
  r.push_back({"permutation", "permutation ensembling: each request in m presented orders, answers aggregated",
               {{"m", "0", "members (0: K, every candidate in every position once)"},
                {"agg", "mean", "aggregation: mean (standardised scores), borda, rrf or kemeny"},
                {"design", "cyclic", "presented orders: cyclic shifts, a random Latin square (m <= K) or random permutations"},
                {"seed", "0", "seed of the random design"}},
               nullptr});
  r.back().factory = [keys = r.back().keys](const AdapterSpec& spec, std::unique_ptr<Recommender> inner, const MitigationContext&) {
    const SpecWithDefaults s(spec, keys);
    return mitigation_makers().permutation(std::move(inner), static_cast<int>(s.get_int("m", 0, 1000)), s.get_string("agg"),
                                        s.get_string("design"), static_cast<std::uint64_t>(s.get_int("seed", 0, INT64_MAX)));
  };
  r.push_back({"calibrate-position", "contextual calibration: scores minus the log of a per-position prior",
               {{"prior", "", "b0;b1;... per presented position, or a report.json of a position audit (required)"},
                {"from", "auto", "what of the report is the prior: selection_rate (top-1 selection rates), mean_probability (the model's "
                                 "mean softmax probability per position; scoring models), auto (selection rates unless a position was "
                                 "never picked and mean probabilities exist)"}},
               nullptr});
  r.back().factory = [keys = r.back().keys](const AdapterSpec& spec, std::unique_ptr<Recommender> inner, const MitigationContext& context) {
    const SpecWithDefaults s(spec, keys);
    const auto source = s.get_string("prior");
    if (source.empty()) throw BadInput("mitigation calibrate-position: prior=... is required (b0;b1;... or a report.json)");
    auto prior = parse_prior(source, s.get_string("from"), context);
    // The id names what was read, so runs on different priors never share an id.
    const auto label = prior.from == "values" ? source : fmt::format("{}:{}", source, prior.from);
    return mitigation_makers().position_calibration(std::move(inner), std::move(prior.values), label);
  };
  r.push_back({"calibrate", "calibrated re-ranking (Steck 2018) toward the user's genre or popularity mix",
               {{"target", "genre", "genre, or popularity (head / mid / tail bins: calibrated popularity)"},
                {"lambda", "0.5", "weight of calibration against relevance, in [0, 1]"},
                {"alpha", "0.01", "smoothing of the recommended distribution"}},
               nullptr});
  r.back().factory = [keys = r.back().keys](const AdapterSpec& spec, std::unique_ptr<Recommender> inner, const MitigationContext& context) {
    const SpecWithDefaults s(spec, keys);
    return mitigation_makers().calibrated(std::move(inner), context.catalog, s.get_string("target"), s.get_double("lambda", 0, 1),
                                       s.get_double("alpha", 0, 1));
  };
  r.push_back({"fair", "FA*IR fair top-k with the long tail (outside the short head, --short-head) or an item group protected",
               {{"p", "0.5", "target share of protected items"},
                {"alpha", "0.1", "significance of the ranked group fairness test"},
                {"group", "", "protect an item group instead of the long tail: genre:VALUE or era:VALUE (e.g. genre:Drama, era:1990s)"}},
               nullptr});
  r.back().factory = [keys = r.back().keys](const AdapterSpec& spec, std::unique_ptr<Recommender> inner, const MitigationContext& context) {
    const SpecWithDefaults s(spec, keys);
    return mitigation_makers().fair_topk(std::move(inner), context.catalog, s.get_double("p", 0, 1), s.get_double("alpha", 0, 1),
                                      context.short_head_share, s.get_string("group"));
  };
  for (const bool neutralize : {false, true}) {
    const char* name = neutralize ? "neutralize" : "counterfactual";
    r.push_back({name,
                 neutralize ? "the attribute is removed from the profile before the model sees it"
                            : "every value of the attribute stated in turn, standardised scores averaged",
                 {{"attribute", "", "a dataset attribute, e.g. gender (required)"}},
                 [name, neutralize](const AdapterSpec& spec, std::unique_ptr<Recommender> inner, const MitigationContext& context) {
                   const auto attribute = spec.get_string("attribute", "");
                   if (attribute.empty()) throw BadInput(fmt::format("mitigation {}: attribute=... is required", name));
                   return mitigation_makers().counterfactual(std::move(inner), find_attribute(context, attribute, name), neutralize);
                 }});
  }
  return r;
}

}  // namespace

const std::vector<MitigationInfo>& mitigation_registry() {
  static const auto registry = build_registry();  // built once, thread-safe
  return registry;
}

std::string mitigation_names() { return registry_names(mitigation_registry()); }

std::unique_ptr<Recommender> make_mitigation(const AdapterSpec& spec, std::unique_ptr<Recommender> inner, const MitigationContext& context) {
  for (const auto& info : mitigation_registry()) {
    if (info.name != spec.name()) continue;
    check_spec_keys(spec, info.keys, "mitigation");
    return info.factory(spec, std::move(inner), context);
  }
  throw BadInput(fmt::format("unknown mitigation \"{}\"; known mitigations: {}", spec.name(), mitigation_names()));
}

}  // namespace recbias
