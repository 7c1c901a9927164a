#include "audits/audit_runner.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include <fmt/format.h>

#include "core/bootstrap.h"
#include "core/errors.h"
#include "core/rng.h"

namespace recbias {
namespace {

// Bootstrap weights use their own stream family so they never correlate with permutations.
constexpr std::uint64_t kBootstrapSalt = 0x626f6f7473747261ULL;  // "bootstra"

}  // namespace

bool in_shard(const std::string& request_id, const ShardSpec& shard) {
  return shard.count <= 1 || stable_hash(request_id) % static_cast<std::uint64_t>(shard.count) == static_cast<std::uint64_t>(shard.index);
}

AuditState::AuditState(const AuditOptions& options, std::shared_ptr<const PopularityContext> popularity)
    : options_(options) {
  check_audit_names(options.audits);
  const AuditContext context{options_, std::move(popularity)};
  for (const auto& info : audit_registry())
    if (info.always || audit_enabled(options, info.name)) audits_.push_back({&info, info.factory(context)});
}

void AuditState::add(const BaseOutcome& o) {
  ++base_requests;
  if (usable(o.response(o.plan->identity))) ++usable_identity;
  for (auto& [info, audit] : audits_) audit->add(o);
}

void AuditState::merge(const AuditState& other) {
  base_requests += other.base_requests;
  variants += other.variants;
  calls += other.calls;
  failed_calls += other.failed_calls;
  usable_identity += other.usable_identity;
  RECBIAS_CHECK(audits_.size() == other.audits_.size(), "merging audit states of different configurations");
  for (std::size_t i = 0; i < audits_.size(); ++i) audits_[i].second->merge(*other.audits_[i].second);
}

bool AuditState::operator==(const AuditState& o) const {
  if (base_requests != o.base_requests || variants != o.variants || calls != o.calls || failed_calls != o.failed_calls ||
      usable_identity != o.usable_identity || audits_.size() != o.audits_.size())
    return false;
  for (std::size_t i = 0; i < audits_.size(); ++i)
    if (audits_[i].first != o.audits_[i].first || !audits_[i].second->equals(*o.audits_[i].second)) return false;
  return true;
}

nlohmann::ordered_json AuditState::metrics(nlohmann::ordered_json& tests) const {
  // One family of tests per audit, each corrected on its own (Holm, or BH):
  // a verdict never depends on which other audits ran (DESIGN.md, Statistics).
  std::map<std::string, double> adjusted_by_name;
  std::map<std::string, int> family_size;
  tests = nlohmann::ordered_json::array();
  for (const auto& [info, audit] : audits_) {
    if (!audit_enabled(options_, info->name)) continue;
    const auto family = audit->tests();
    if (family.empty()) continue;
    std::vector<double> ps;
    for (const auto& t : family) ps.push_back(t.result.p_value);
    const auto adjusted = options_.correction == "bh" ? benjamini_hochberg_adjust(ps) : holm_adjust(ps);
    for (std::size_t i = 0; i < family.size(); ++i) {
      adjusted_by_name[family[i].name] = adjusted[i];
      family_size[family[i].name] = static_cast<int>(family.size());
      tests.push_back({{"name", family[i].name}, {"family", info->name}, {"family_size", family.size()}, {"test", family[i].result.test},
                       {"p_value", family[i].result.p_value}, {"p_adjusted", adjusted[i]}, {"significant", adjusted[i] < options_.alpha}});
    }
  }
  const ResultContext context{options_, adjusted_by_name, family_size};
  nlohmann::ordered_json m;
  for (const auto& [info, audit] : audits_) audit->result(context, m);
  return m;
}

nlohmann::json AuditState::state() const {
  nlohmann::json j = {{"base_requests", base_requests}, {"variants", variants}, {"calls", calls},
                      {"failed_calls", failed_calls}, {"usable_identity", usable_identity}};
  // Headline metrics per bootstrap replicate, for paired comparisons of runs
  // that share plan and seed (gate --baseline, the trade-off table).
  // Recomputed from the sums on every load, never read back.
  std::map<std::string, ReplicatedValue> replicated;
  for (const auto& [info, audit] : audits_) {
    j[info->state_key] = audit->state();
    audit->replicated(replicated);
  }
  nlohmann::json values = nlohmann::json::object();
  for (const auto& [name, v] : replicated) values[name] = to_json(v);
  j["replicates"] = values;
  return j;
}

void AuditState::load_state(const nlohmann::json& j) {
  try {
    base_requests = j.at("base_requests");
    variants = j.at("variants");
    calls = j.at("calls");
    failed_calls = j.at("failed_calls");
    usable_identity = j.at("usable_identity");
    for (auto& [info, audit] : audits_) audit->load_state(j.at(info->state_key));
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("report state: {}", e.what()));
  }
}

nlohmann::ordered_json config_json(const AuditOptions& o) {
  nlohmann::ordered_json attributes = nlohmann::ordered_json::array();
  for (const auto& set : o.attributes) attributes.push_back({{"name", set.name}, {"values", set.values}});
  return {{"audits", o.audits}, {"permutations", o.permutations}, {"design", permutation_design_name(o.design)}, {"seed", o.seed},
          {"bootstrap_replicates", o.bootstrap_replicates}, {"confidence", o.confidence}, {"alpha", o.alpha},
          {"correction", o.correction}, {"tvd_interval", tvd_interval_name(o.tvd_interval)},
          {"attributes", attributes}, {"intersections", o.intersections},
          {"fairllm_compat", o.fairllm_compat}, {"fairness_test_metric", o.fairness_test_metric},
          {"short_head_share", o.short_head_share}, {"practical_thresholds", o.practical}};
}

AuditOptions options_from_config(const nlohmann::json& c) {
  try {
    AuditOptions o;
    o.audits = c.at("audits").get<std::vector<std::string>>();
    o.permutations = c.at("permutations");
    const auto design = c.at("design").get<std::string>();
    const auto known = permutation_design_names().find(design);
    if (known == permutation_design_names().end())
      throw BadInput(fmt::format("report config: design \"{}\": expected cyclic, latin or random", design));
    o.design = known->second;
    o.seed = c.at("seed");
    o.bootstrap_replicates = c.at("bootstrap_replicates");
    o.confidence = c.at("confidence");
    o.alpha = c.at("alpha");
    o.correction = c.at("correction");
    o.tvd_interval = TvdInterval::kMoment;  // absent in reports before it existed: the moment method
    if (c.contains("tvd_interval")) {
      const auto method = c.at("tvd_interval").get<std::string>();
      const auto named = tvd_interval_names().find(method);
      if (named == tvd_interval_names().end())
        throw BadInput(fmt::format("report config: tvd_interval \"{}\": expected moment or inversion", method));
      o.tvd_interval = named->second;
    }
    o.attributes.clear();
    for (const auto& a : c.at("attributes")) o.attributes.push_back({a.at("name"), a.at("values").get<std::vector<std::string>>()});
    o.intersections = c.at("intersections");
    o.fairllm_compat = c.at("fairllm_compat");
    o.fairness_test_metric = c.at("fairness_test_metric");
    o.short_head_share = c.at("short_head_share");
    if (c.contains("practical_thresholds")) o.practical = c.at("practical_thresholds").get<std::map<std::string, double>>();
    // The ranges the CLI accepts (every audit sizes its sums by these).
    if (o.bootstrap_replicates < 0 || o.bootstrap_replicates > 100000)
      throw BadInput(fmt::format("report config: bootstrap_replicates {}: expected 0 to 100000", o.bootstrap_replicates));
    if (o.permutations < 0) throw BadInput(fmt::format("report config: permutations {}: expected a number >= 0", o.permutations));
    if (!(o.confidence > 0 && o.confidence < 1) || !(o.alpha > 0 && o.alpha < 1))
      throw BadInput(fmt::format("report config: confidence {} and alpha {}: expected numbers between 0 and 1", o.confidence, o.alpha));
    if (!(o.short_head_share > 0 && o.short_head_share < 1))
      throw BadInput(fmt::format("report config: short_head_share {}: expected a number between 0 and 1", o.short_head_share));
    return o;
  } catch (const nlohmann::json::exception& e) {
    throw BadInput(fmt::format("report config: {}", e.what()));
  }
}

nlohmann::ordered_json make_report(const AuditState& state, const AuditOptions& options, const nlohmann::ordered_json& provenance) {
  nlohmann::ordered_json report;
  report["schema"] = "recbias.report/1";
  report["provenance"] = provenance;
  report["config"] = config_json(options);
  report["counts"] = {{"base_requests", state.base_requests}, {"variants", state.variants}, {"calls", state.calls},
                      {"failed_calls", state.failed_calls}, {"usable_identity_responses", state.usable_identity}};
  nlohmann::ordered_json tests;
  report["metrics"] = state.metrics(tests);
  report["tests"] = tests;
  report["state"] = state.state();
  return report;
}

AuditRun run_audit(Recommender& recommender, const Workload& workload, const RequestSet& requests, const AuditOptions& options,
                   const ShardSpec& shard, const nlohmann::ordered_json& provenance, const ProgressFn& progress, const StopFn& stop,
                   SequentialMonitor* monitor) {
  check_audit_names(options.audits);
  auto popularity = std::make_shared<const PopularityContext>(make_popularity_context(workload, options.short_head_share));
  AuditRun run{AuditState(options, popularity), {}, {}, 0, 0, false};
  // Base requests: this shard's, with neutral profiles; real attributes kept aside.
  std::vector<EvalRequest> bases;
  std::vector<std::map<std::string, std::string>> real;
  for (const auto& r : requests.requests) {
    if (!in_shard(r.request.id, shard)) continue;
    bases.push_back(r);
    real.push_back(r.request.user.attributes);
    bases.back().request.user.attributes.clear();
  }
  const auto started = std::chrono::steady_clock::now();
  AuditProgress status;
  // Estimate the total from the first base's plan (every base has the same variants).
  const std::size_t chunk = std::max<std::size_t>(1, options.chunk_bases);
  for (std::size_t begin = 0; begin < bases.size(); begin += chunk) {
    const std::size_t end = std::min(bases.size(), begin + chunk);
    std::vector<EvalRequest> slice(bases.begin() + static_cast<std::ptrdiff_t>(begin), bases.begin() + static_cast<std::ptrdiff_t>(end));
    const Plan plan = build_plan(slice, options);
    // Every base has the same variants, so the first chunk tells the total.
    if (begin == 0) status.total = plan.calls.size() * bases.size() / slice.size();
    const auto responses = recommender.rank(plan.calls, [&](std::size_t, const RankResponse& r) {
      ++status.done;
      if (r.error) ++status.failed;
      status.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (progress) progress(status);
    });
    if (responses.size() != plan.calls.size()) throw InternalError("recommender returned a different number of responses");
    if (stop) {
      if (auto reason = stop(); !reason.empty()) {
        run.incomplete = std::move(reason);
        break;
      }
    }
    run.users_measured = end;
    run.state.variants += static_cast<std::int64_t>(plan.variants);
    run.state.calls += static_cast<std::int64_t>(plan.calls.size());
    for (const auto& r : responses) run.state.failed_calls += r.error.has_value();
    // The one cut to k (outcome.h): audits read these views; whole answers stay beside them.
    std::vector<RankResponse> top_k;
    top_k.reserve(responses.size());
    for (std::size_t i = 0; i < responses.size(); ++i) top_k.push_back(top_k_view(responses[i], plan.calls[i].k));
    for (std::size_t b = 0; b < slice.size(); ++b) {
      const auto weights = poisson_weights(options.seed ^ kBootstrapSalt, stable_hash(slice[b].request.id), options.bootstrap_replicates);
      BaseOutcome outcome;
      outcome.base = &slice[b];
      outcome.plan = &plan.bases[b];
      outcome.responses = &top_k;
      outcome.full = &responses;
      outcome.call_offset = 0;
      outcome.weights = &weights;
      outcome.real_attributes = &real[begin + b];
      run.state.add(outcome);
      if (monitor) monitor->add(outcome);
    }
    status.users_done = end;
    status.users_total = bases.size();
    status.chunk_done = true;
    if (progress) progress(status);
    status.chunk_done = false;
    if (monitor && monitor->decided() && end < bases.size()) {
      run.decided_early = true;
      break;
    }
  }
  run.users_planned = bases.size();
  run.report = make_report(run.state, options, provenance);
  if (!run.incomplete.empty())
    run.report["incomplete"] = {{"reason", run.incomplete}, {"users_measured", run.users_measured}, {"users_planned", run.users_planned}};
  return run;
}

std::string report_to_text(const nlohmann::ordered_json& report) {
  auto readable = report;
  readable.erase("state");
  // Model output is untrusted: invalid UTF-8 is replaced rather than failing the report.
  constexpr auto replace = nlohmann::ordered_json::error_handler_t::replace;
  std::string text = readable.dump(2, ' ', false, replace);
  if (report.contains("state")) {
    text.pop_back();  // the closing brace
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    text += ",\n  \"state\": " + report["state"].dump(-1, ' ', false, replace) + "\n}";
  }
  return text + "\n";
}

namespace {

// Counts and sizes in a report's config, shard and state are read as
// integers, and converting a double beyond an integer's range is undefined
// behaviour. Legitimate non-integer numbers there (similarities, taus,
// levels, metric replicates) are far below 2^31; counts written by recbias
// are JSON integers, which this leaves alone.
void check_float_ranges(const nlohmann::json& j, const std::string& at) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) check_float_ranges(value, at + "/" + key);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) check_float_ranges(j[i], at + "/" + std::to_string(i));
  } else if (j.is_number_float() && !(std::abs(j.get<double>()) < 2147483648.0)) {
    throw BadInput(fmt::format("{}: {} is beyond the range of a count (|x| < 2^31 for a non-integer number)", at, j.get<double>()));
  }
}

}  // namespace

nlohmann::ordered_json merge_reports(const std::vector<nlohmann::json>& reports, const std::vector<std::string>& names) {
  if (reports.empty()) throw BadInput("merge: no reports given");
  auto label = [&](std::size_t i) { return i < names.size() ? names[i] : fmt::format("report {}", i + 1); };
  for (const auto& r : reports)
    if (r.value("schema", std::string()) != "recbias.report/1")
      throw BadInput(fmt::format("merge: expected reports with \"schema\": \"recbias.report/1\", found {}", r.value("schema", std::string("(none)"))));
  for (std::size_t i = 0; i < reports.size(); ++i) {
    check_float_ranges(reports[i].at("config"), fmt::format("merge: {}: config", label(i)));
    check_float_ranges(reports[i].at("provenance").at("shard"), fmt::format("merge: {}: provenance/shard", label(i)));
    check_float_ranges(reports[i].at("state"), fmt::format("merge: {}: state", label(i)));
  }
  const auto& first = reports[0];
  const auto options = options_from_config(first.at("config"));
  std::set<int> shards_seen;
  int shard_count = 0;
  auto empty_context = std::make_shared<const PopularityContext>();
  AuditState merged(options, empty_context);
  bool initialised = false;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    const auto& r = reports[i];
    if (r.at("config") != first.at("config"))
      throw BadInput(fmt::format("merge: {} was made with a different configuration than {}", label(i), label(0)));
    const auto& p = r.at("provenance");
    if (p.value("adapter", std::string()) != first.at("provenance").value("adapter", std::string()))
      throw BadInput(fmt::format("merge: {} audited adapter \"{}\", {} \"{}\"", label(i), p.value("adapter", std::string()), label(0),
                                 first.at("provenance").value("adapter", std::string())));
    const int index = p.at("shard").at("index");
    shard_count = p.at("shard").at("count");
    if (!shards_seen.insert(index).second) throw BadInput(fmt::format("merge: shard {} appears twice", index));
    try {
      if (!initialised) {
        merged.load_state(r.at("state"));
        initialised = true;
        continue;
      }
      AuditState part(options, empty_context);
      part.load_state(r.at("state"));
      try {
        merged.merge(part);
      } catch (const InternalError& e) {
        // Both states came from files: sums of different shapes (e.g. a tampered
        // replicate count) are the input's fault, not recbias's.
        throw BadInput(fmt::format("its audit state does not match {}'s: {}", label(0), e.what()));
      }
    } catch (const BadInput& e) {
      throw BadInput(fmt::format("merge: {}: {}", label(i), e.what()));
    }
  }
  auto provenance = first.at("provenance").get<nlohmann::ordered_json>();
  provenance["shard"] = {{"index", 0}, {"count", 1}, {"merged_from", shard_count}};
  if (static_cast<int>(shards_seen.size()) != shard_count)
    provenance["warning"] = fmt::format("merged {} of {} shards", shards_seen.size(), shard_count);
  return make_report(merged, options, provenance);
}

}  // namespace recbias
