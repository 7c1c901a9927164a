// `recbias audit --adapter SPEC --dataset PATH [...] --out report.json`
// `recbias merge part*.json -o all.json`
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/grounding.h"
#include "adapters/response_cache.h"
#include "audits/audit.h"
#include "cli/build_info.h"
#include "audits/audit_runner.h"
#include "audits/comparison.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "core/metric.h"
#include "core/sha256.h"
#include "core/text.h"
#include "datasets/attributes.h"
#include "reports/gate.h"
#include "reports/render.h"
#include "reports/schema.h"

namespace recbias::cli {
namespace {

// The library's option structs are bound to the flags directly (their
// defaults are the defaults); only what has no library field lives here.
struct AuditCliOptions {
  DataOptions data;
  AdapterOptions adapter;
  std::string audits;  // empty: every registered audit
  AuditOptions audit;
  CandidateOptions candidates;
  int candidate_count = 20;  // --candidates: negatives + 1
  std::string attributes = "dataset";
  std::string fairllm_path;
  std::vector<std::string> practical;  // NAME=VALUE overrides of AuditOptions::practical
  std::string shard = "0/1";
  std::string out = "report.json";
  std::string html, md, junit, policy;
  std::vector<std::string> compare;  // mitigations to audit on the same plan, one run each
  std::vector<std::string> compare_adapters;  // other adapters audited on the same plan (baselines)
  bool force = false;
};

const std::map<std::string, NegativeSampling> kSamplings = {{"uniform", NegativeSampling::kUniform},
                                                            {"popularity", NegativeSampling::kPopularity}};

// A --flag NAME bound to an enum through its name table: the value is
// rewritten to the enum's number, and an unknown name is an error that
// names the value and what is expected ("--design: zigzag: expected cyclic, latin or random").
template <class Enum>
CLI::Validator enum_names(const std::map<std::string, Enum>& names, const std::string& expected) {
  return CLI::Validator(
      [names, expected](std::string& value) -> std::string {
        const auto it = names.find(value);
        if (it == names.end()) return fmt::format("{}: expected {}", value, expected);
        value = std::to_string(static_cast<int>(it->second));
        return "";
      },
      "", "enum names");
}

template <class Enum>
std::string name_of(const std::map<std::string, Enum>& names, Enum value) {
  for (const auto& [name, v] : names)
    if (v == value) return name;
  return "?";
}

// A model id short enough for the summary's trade-off table: without the
// server URL, default sampling settings and template hashes, then its head
// and tail (where the openai adapter's scoring mode and extras are).
std::string short_label(std::string id, std::size_t width) {
  static const std::regex noise("base_url=[^,]*,|temperature=0,top_p=1,seed=0,|@[0-9a-f]{12}");
  id = std::regex_replace(id, noise, "");
  if (id.size() <= width) return id;
  const std::size_t head = (width - 3) / 2, tail = width - 3 - head;
  return id.substr(0, head) + "..." + id.substr(id.size() - tail);
}

ShardSpec parse_shard(const std::string& text) {
  std::string spec = text;
  if (spec.starts_with("auto")) {
    const char* index = std::getenv("JOB_COMPLETION_INDEX");
    if (!index || !*index) index = std::getenv("SLURM_ARRAY_TASK_ID");
    if (!index || !*index)
      throw BadInput("--shard auto: neither JOB_COMPLETION_INDEX (Kubernetes indexed Job) nor SLURM_ARRAY_TASK_ID is set");
    std::string count;
    if (spec.size() > 5 && spec[4] == '/') count = spec.substr(5);
    else if (const char* c = std::getenv("SLURM_ARRAY_TASK_COUNT"); c && *c) count = c;
    else if (const char* c2 = std::getenv("RECBIAS_SHARD_COUNT"); c2 && *c2) count = c2;
    else throw BadInput("--shard auto: give the shard count as --shard auto/N (or set SLURM_ARRAY_TASK_COUNT or RECBIAS_SHARD_COUNT)");
    spec = std::string(index) + "/" + count;
  }
  const auto parts = split(spec, "/");
  auto i = parts.size() == 2 ? parse_int(parts[0]) : std::nullopt;
  auto n = parts.size() == 2 ? parse_int(parts[1]) : std::nullopt;
  if (!i || !n || *n < 1 || *i < 0 || *i >= *n)
    throw BadInput(fmt::format("--shard {}: expected i/n with 0 <= i < n (e.g. 0/4), or auto", text));
  return {static_cast<int>(*i), static_cast<int>(*n)};
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

// "v [lo, hi]" through the one checked reader (core/metric.h); the writer turns NaN into null.
std::string fmt_metric(const nlohmann::ordered_json& node, int precision = 3) {
  const auto m = node.is_object() ? metric_from_json(node) : std::nullopt;
  if (!m || !std::isfinite(m->value)) return "n/a";
  auto f = [precision](double x) { return std::isfinite(x) ? fmt::format("{:.{}f}", x, precision) : std::string("?"); };
  return fmt::format("{} [{}, {}]", f(m->value), f(m->ci.lo), f(m->ci.hi));
}

void print_summary(const nlohmann::ordered_json& report) {
  const auto& m = report["metrics"];
  const auto& c = report["counts"];
  fmt::print("recbias audit of {}\n", report["provenance"]["adapter"].get<std::string>());
  fmt::print("  {} users, {} variants, {} model calls, {} failed\n", c["base_requests"].get<std::int64_t>(),
             c["variants"].get<std::int64_t>(), c["calls"].get<std::int64_t>(), c["failed_calls"].get<std::int64_t>());
  fmt::print("  {:<34} {}\n", "metric", "value [95% interval]");
  auto row = [](const std::string& name, const std::string& value) { fmt::print("  {:<34} {}\n", name, value); };
  if (m.contains("position") && m["position"].contains("tvd")) {
    const auto& p = m["position"];
    row("position: TVD from uniform", fmt_metric(p["tvd"]));
    row("position: top-1 at first position", fmt_metric(p["selection_rate"][0]));
    row("position: top-1 consistency", fmt_metric(p["consistency"]));
    row("position: Kendall tau across perms", fmt_metric(p["kendall_tau"]));
    row("position: verdict", p["verdict"].get<std::string>());
  }
  if (m.contains("popularity") && m["popularity"].contains("arp")) {
    const auto& p = m["popularity"];
    row("popularity: ARP", fmt_metric(p["arp"], 1));
    row("popularity: APLT", fmt_metric(p["aplt"]));
    row("popularity: Gini of exposure", fmt_metric(p["gini_exposure"]));
    row("popularity: Spearman(pop, model)", fmt_metric(p["spearman_popularity_model"]));
    row("popularity: Spearman(pop, truth)", fmt_metric(p["spearman_popularity_truth"]));
  }
  if (m.contains("fairness")) {
    const auto& f = m["fairness"];
    const std::string metric = f["test_metric"];
    row("fairness: noise floor " + metric, fmt_metric(f["noise_floor"][metric]));
    for (const auto& [name, a] : f["attributes"].items()) row("fairness: SNSR " + metric + " " + name, fmt_metric(a["snsr"][metric]));
  }
  if (m.contains("grounding")) {
    row("grounding: hallucination rate", fmt_metric(m["grounding"]["hallucination_rate"]));
    row("grounding: parse failure rate", fmt_metric(m["grounding"]["parse_failure_rate"]));
    if (m["grounding"].contains("constraint_ignored_rate"))
      row("grounding: constraint ignored rate", fmt_metric(m["grounding"]["constraint_ignored_rate"]));
  }
  if (m.contains("accuracy")) {
    row("accuracy: HR@k", fmt_metric(m["accuracy"]["hit_rate"]));
    row("accuracy: NDCG@k", fmt_metric(m["accuracy"]["ndcg"]));
  }
  row("cost: calls per recommendation", fmt_metric(m["cost"]["calls_per_delivered"], 2));
  if (report.contains("comparison")) {
    fmt::print("  trade-off (same plan):\n  {:<56} {:<12} {:>22} {:>22} {:>8}\n", "model", "role", "position TVD", "NDCG@k", "calls x");
    for (const auto& r : report["comparison"]["tradeoff"]) {
      const std::string model = short_label(r.value("model", ""), 56);
      const auto& calls = r["calls_multiplier"];
      fmt::print("  {:<56} {:<12} {:>22} {:>22} {:>8}\n", model, r.value("role", ""), fmt_metric(r["position_tvd"]), fmt_metric(r["ndcg"]),
                 calls.is_object() && calls["value"].is_number() ? fmt::format("{:.2f}", calls["value"].get<double>()) : "n/a");
    }
  }
}

void run(const AuditCliOptions& o) {
  const auto data = load_data(o.data);
  auto recommender = build_adapter(o.adapter, data.context, data.dataset.attributes, o.audit.short_head_share);
  AuditOptions options = o.audit;
  if (!o.audits.empty()) {  // else AuditOptions' default: every registered audit
    options.audits.clear();
    for (auto a : split(o.audits, ","))
      if (!trim(a).empty()) options.audits.emplace_back(trim(a));
  }
  for (const auto& entry : o.practical) {
    const auto eq = entry.find('=');
    const auto name = entry.substr(0, eq == std::string::npos ? 0 : eq);
    std::optional<double> value;
    if (eq != std::string::npos) value = parse_double(entry.substr(eq + 1));
    if (!options.practical.count(name) || !value.has_value() || value.value() < 0)
      throw BadInput(fmt::format("--practical {}: expected NAME=VALUE with NAME one of position.tvd, fairness.similarity, "
                                 "fairness.utility_gap and VALUE >= 0", entry));
    options.practical[name] = value.value();
  }
  if (audit_enabled(options, "fairness")) {
    const auto fairllm = o.fairllm_path.empty() ? (std::filesystem::path(o.data.path).parent_path() / "FaiRLLM" / "sst_json.json").string()
                                                : o.fairllm_path;
    options.attributes = attribute_sets(o.attributes, data.dataset.attributes, fairllm);
  }
  CandidateOptions candidates = o.candidates;
  candidates.negatives = o.candidate_count - 1;
  candidates.seed = options.seed;  // one --seed for users, candidates, permutations and bootstrap
  const auto requests = build_requests(data.workload, candidates);
  if (requests.requests.empty()) throw BadInput("no user has a held-out item and enough unseen items to build a request");
  const auto shard = parse_shard(o.shard);
  for (const auto* path : {&o.out, &o.html, &o.md, &o.junit})
    if (!path->empty() && !o.force && std::filesystem::exists(*path))
      throw BadInput(fmt::format("{} already exists; refusing to overwrite it (pass --force to replace it)", *path));

  nlohmann::ordered_json fingerprint = nlohmann::ordered_json::object();
  for (const auto& file : data.dataset.files) fingerprint[std::filesystem::path(file).filename().string()] = sha256_file(file);
  nlohmann::ordered_json provenance = {
      {"tool", "recbias"}, {"version", kVersion}, {"git_sha", kGitSha},
      {"adapter", recommender->id()},
      {"grounder", kGrounderVersion},
      {"adapter_capabilities", {{"scores", recommender->capabilities().scores}, {"deterministic", recommender->capabilities().deterministic}}},
      {"dataset", {{"name", data.dataset.name}, {"format", data.dataset.format}, {"path", data.dataset.path}, {"sha256", fingerprint}}},
      {"workload", {{"users_requested", candidates.max_users}, {"candidates", o.candidate_count}, {"k", candidates.k},
                    {"sampling", name_of(kSamplings, candidates.sampling)}, {"seed", options.seed}, {"requests", requests.requests.size()}, {"skipped_users", requests.skipped_users}}},
      {"shard", {{"index", shard.index}, {"count", shard.count}}},
      {"started", utc_now()}};
  ProgressBar bar;
  auto result = run_audit(*recommender, data.workload, requests, options, shard, provenance, [&](const AuditProgress& p) { bar(p); });
  bar.finish();
  auto& report = result.report;
  report["provenance"]["finished"] = utc_now();
  if (auto* cached = dynamic_cast<CachedRecommender*>(recommender.get())) {
    const auto s = cached->stats();
    report["provenance"]["cache"] = {{"hits", s.hits}, {"sent", s.misses}, {"deduplicated", s.deduplicated}};
  }
  if (!o.compare.empty() || !o.compare_adapters.empty()) {
    // Each mitigation wraps the same model, each other adapter stands beside
    // it; all are audited on the same requests.
    std::vector<TradeoffRun> runs = {{recommender->id(), "audited", report["metrics"], report["state"]}};
    nlohmann::ordered_json variants = nlohmann::ordered_json::array();
    auto audit_variant = [&](std::unique_ptr<Recommender> variant_model, const char* role) {
      fmt::print(stderr, "== comparing {} ({})\n", variant_model->id(), role);
      auto variant = run_audit(*variant_model, data.workload, requests, options, shard, provenance, [&](const AuditProgress& p) { bar(p); });
      bar.finish();
      runs.push_back({variant_model->id(), role, variant.report["metrics"], variant.report["state"]});
      variants.push_back({{"adapter", variant_model->id()}, {"role", role}, {"metrics", variant.report["metrics"]},
                          {"counts", variant.report["counts"]}, {"tests", variant.report["tests"]}});
    };
    for (const auto& spec : o.compare) {
      auto adapter = o.adapter;
      adapter.mitigate.push_back(spec);
      audit_variant(build_adapter(adapter, data.context, data.dataset.attributes, o.audit.short_head_share), "mitigation");
    }
    for (const auto& spec : o.compare_adapters) {
      auto adapter = o.adapter;
      adapter.spec = spec;
      adapter.mitigate.clear();
      audit_variant(build_adapter(adapter, data.context, data.dataset.attributes, o.audit.short_head_share), "other model");
    }
    report["comparison"] = {{"runs", variants}, {"tradeoff", tradeoff_table(runs, options.confidence)}};
  }
  write_output_file(o.out, report_to_text(report), o.force);
  // Renderings read the report as written (the schema is checked first).
  const auto written = nlohmann::json::parse(report_to_text(report));
  check_report(written, o.out);
  std::optional<GateResult> gate;
  if (!o.policy.empty()) gate = evaluate_gate(load_policy(o.policy), written, nullptr);
  if (!o.html.empty()) write_output_file(o.html, render_html(written, nullptr, gate ? &*gate : nullptr), o.force);
  if (!o.md.empty()) write_output_file(o.md, render_markdown(written, nullptr, gate ? &*gate : nullptr), o.force);
  if (!o.junit.empty()) {
    if (!gate) throw BadInput("--junit needs --policy: JUnit test cases are the policy's rules");
    write_output_file(o.junit, render_junit(*gate, written), o.force);
  }
  print_summary(report);
  fmt::print("report written to {}\n", o.out);
  if (result.state.usable_identity == 0 && result.state.failed_calls > 0)
    throw BackendFailure(fmt::format("every request failed ({} failed calls); see the adapter's errors", result.state.failed_calls));
}

struct MergeOptions {
  std::vector<std::string> inputs;
  std::string out;
  bool force = false;
};

void run_merge(const MergeOptions& o) {
  std::vector<nlohmann::json> reports;
  for (const auto& path : o.inputs) reports.push_back(load_report(path));
  auto merged = merge_reports(reports);
  write_output_file(o.out, report_to_text(merged), o.force);
  print_summary(merged);
  fmt::print("merged {} reports into {}\n", reports.size(), o.out);
}

}  // namespace

void setup_audit(CLI::App& app) {
  auto o = std::make_shared<AuditCliOptions>();
  auto* audit = app.add_subcommand("audit", "Audit a recommender for position, popularity and fairness bias, grounding, accuracy and cost");
  add_adapter_options(*audit, o->adapter);
  add_data_options(*audit, o->data, true);
  audit->add_option("--audits", o->audits, fmt::format("Comma-separated audits: {} (default: all)", audit_names()));
  audit->add_option("--users", o->candidates.max_users, "Users to sample; 0 = every user with a held-out item")->check(CLI::NonNegativeNumber);
  audit->add_option("--candidates", o->candidate_count, "Candidates per request: 1 held-out positive + negatives")->check(CLI::Range(2, 1000));
  audit->add_option("--k", o->candidates.k, "Length of the answer asked for, and the cut-off of HR/NDCG/similarities")->check(CLI::Range(1, 1000));
  audit->add_option("--sampling", o->candidates.sampling, "Negative sampling: uniform or popularity")
      ->transform(enum_names(kSamplings, "uniform or popularity"))
      ->default_str(name_of(kSamplings, o->candidates.sampling))
      ->type_name("NAME");
  audit->add_option("--permutations", o->audit.permutations, "Permutations per request for the position audit; 0 = K")->check(CLI::NonNegativeNumber);
  audit->add_option("--design", o->audit.design, "Permutation design: cyclic, latin or random")
      ->transform(enum_names(permutation_design_names(), "cyclic, latin or random"))
      ->default_str(name_of(permutation_design_names(), o->audit.design))
      ->type_name("NAME");
  audit->add_option("--seed", o->audit.seed, "Seed for users, candidates, permutations and bootstrap");
  audit->add_option("--attributes", o->attributes, "Fairness attributes: dataset or fairllm");
  audit->add_option("--fairllm", o->fairllm_path, "FaiRLLM's sst_json.json (default: ../FaiRLLM/sst_json.json next to the dataset)");
  audit->add_flag("--intersections", o->audit.intersections, "Fairness: also state pairs of attributes (default: off)");
  audit->add_flag("--fairllm-compat", o->audit.fairllm_compat, "Fairness: FaiRLLM's published SERP* (max 0.274 at K = 20) instead of the normalised one");
  audit->add_option("--fairness-metric", o->audit.fairness_test_metric, "Similarity tested against the noise floor: jaccard, serp, prag, rbo");
  audit->add_option("--short-head", o->audit.short_head_share, "Popularity: share of training interactions the short head makes up")
      ->check(CLI::Range(0.01, 0.99));
  audit->add_option("--bootstrap", o->audit.bootstrap_replicates, "Poisson bootstrap replicates")->check(CLI::Range(10, 100000));
  audit->add_option("--confidence", o->audit.confidence, "Interval level")->check(CLI::Range(0.5, 0.9999));
  audit->add_option("--alpha", o->audit.alpha, "Test level after correction")->check(CLI::Range(0.0001, 0.5));
  audit->add_option("--correction", o->audit.correction, "Multiple-testing correction: holm or bh")->check(CLI::IsMember({"holm", "bh"}));
  audit->add_option("--practical", o->practical,
                    fmt::format("Smallest effect a finding raises, NAME=VALUE (repeatable); defaults: {}", [] {
                      std::string out;
                      for (const auto& [name, value] : AuditOptions{}.practical) out += fmt::format("{}{}={}", out.empty() ? "" : ", ", name, value);
                      return out;
                    }()));
  audit->add_option("--shard", o->shard, "Run shard i of n (i/n), or auto from JOB_COMPLETION_INDEX / SLURM_ARRAY_TASK_ID");
  audit->add_option("-o,--out", o->out, "Report file");
  audit->add_option("--chunk", o->audit.chunk_bases, "Users per batch sent to the adapter")->check(CLI::Range(1, 1000000));
  audit->add_option("--compare", o->compare,
                    "Also audit the model wrapped in this mitigation on the same plan (repeatable); the report gets a trade-off table")
      ->type_name("MITIGATION");
  audit->add_option("--compare-adapter", o->compare_adapters,
                    "Also audit this other adapter on the same plan (repeatable), e.g. popularity or itemknn; it joins the trade-off table")
      ->type_name("ADAPTER");
  audit->add_option("--html", o->html, "Also write the single-file HTML report here");
  audit->add_option("--md", o->md, "Also write the Markdown summary here");
  audit->add_option("--junit", o->junit, "Also write JUnit XML of the --policy rules here");
  audit->add_option("--policy", o->policy, "Gate policy (JSON) for --junit and the rule tables")->check(CLI::ExistingFile);
  audit->add_flag("--force", o->force, "Replace existing output files (default: refuse)");
  audit->callback([o] { run(*o); });

  auto m = std::make_shared<MergeOptions>();
  auto* merge = app.add_subcommand("merge", "Merge shard reports of one audit into the single-run report");
  merge->add_option("reports", m->inputs, "Shard reports (report.json files)")->required()->check(CLI::ExistingFile);
  merge->add_option("-o,--out", m->out, "Merged report file")->required();
  merge->add_flag("--force", m->force, "Replace an existing output (default: refuse)");
  merge->callback([m] { run_merge(*m); });
}

}  // namespace recbias::cli
