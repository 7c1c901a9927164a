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
#include "adapters/phrases.h"
#include "adapters/response_cache.h"
#include "audits/audit.h"
#include "cli/build_info.h"
#include "audits/audit_runner.h"
#include "audits/plan.h"
#include "audits/comparison.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "cli/toml_config.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "core/metric.h"
#include "core/sha256.h"
#include "core/text.h"
#include "datasets/attributes.h"
#include "datasets/fairllm_protocol.h"
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
  std::string probe = "candidates";  // candidates | open
  std::string protocol;              // fairllm-movie | fairllm-music (datasets/fairllm_protocol.h)
  bool k_given = false;              // --k was on the command line or in --config
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
  bool dry_run = false;
  bool out_given = false;  // --out was on the command line (a dry run writes its JSON only then)
  Budget budget;           // --max-calls, --max-tokens, --max-cost
  std::string price;       // --price in=USD,out=USD (per million tokens)
  std::string export_batch, import_batch;  // --export-batch FILE, --import-batch FILE
  std::int64_t tokenize = 0;               // --tokenize N (dry runs)
  bool print_config = false;               // --print-config
  bool sequential = false;                 // --sequential (with --policy and/or --target-width)
  std::vector<std::string> target_widths;  // --target-width METRIC=W
  nlohmann::ordered_json resolved;         // every option's value after the command line and --config
};

// --price in=3,out=15: USD per million prompt (in) and completion (out) tokens.
Price parse_price(const std::string& text) {
  Price price;
  bool any = false;
  for (const auto& part : split(text, ",")) {
    const auto eq = part.find('=');
    const auto key = trim(part.substr(0, eq == std::string::npos ? part.size() : eq));
    double value = -1;  // missing or unparseable: rejected below
    if (eq != std::string::npos) value = parse_double(trim(part.substr(eq + 1))).value_or(-1.0);
    if ((key != "in" && key != "out") || !(value >= 0))
      throw BadInput(fmt::format("--price {}: found \"{}\", expected in=USD,out=USD per million prompt and completion tokens "
                                 "(e.g. in=0.15,out=0.6)", text, part));
    (key == "in" ? price.input_per_million : price.output_per_million) = value;
    any = true;
  }
  if (!any) throw BadInput(fmt::format("--price {}: expected in=USD,out=USD per million tokens", text));
  return price;
}

// One audited model's share of a dry run (the meter's totals before and after it).
struct DryRunRow {
  std::string model, role;
  std::int64_t users = 0, variants = 0, plan_calls = 0;
  MeterTotals totals;
};

MeterTotals minus(const MeterTotals& a, const MeterTotals& b) {
  MeterTotals d;
  d.hits = a.hits - b.hits;
  d.repeats = a.repeats - b.repeats;
  d.sent = a.sent - b.sent;
  d.refused = a.refused - b.refused;
  d.http_calls = a.http_calls - b.http_calls;
  d.estimated_prompt_tokens = a.estimated_prompt_tokens - b.estimated_prompt_tokens;
  d.prompt_tokens_exact = a.prompt_tokens_exact;
  d.max_completion_tokens = a.max_completion_tokens - b.max_completion_tokens;
  d.hit_answers_with_usage = a.hit_answers_with_usage - b.hit_answers_with_usage;
  d.hit_completion_tokens = a.hit_completion_tokens - b.hit_completion_tokens;
  d.tokenizer_samples = a.tokenizer_samples;  // one calibration for the whole run
  d.tokenizer_ratio_sum = a.tokenizer_ratio_sum;
  d.tokenizer_error = a.tokenizer_error;
  return d;
}

// Prompt tokens of a dry run: the estimate, scaled by the server's tokenizer where it was asked.
std::int64_t prompt_tokens(const MeterTotals& t) {
  if (t.tokenizer_samples == 0) return t.estimated_prompt_tokens;
  return std::llround(static_cast<double>(t.estimated_prompt_tokens) * t.tokenizer_ratio_sum / static_cast<double>(t.tokenizer_samples));
}

std::string prompt_tokens_method(const MeterTotals& t) {
  if (t.tokenizer_samples > 0)
    return fmt::format("the server's tokenizer on {} prompts: the estimate x {:.3f}", t.tokenizer_samples,
                       t.tokenizer_ratio_sum / static_cast<double>(t.tokenizer_samples));
  std::string out = "estimate: UTF-8 characters / 4 + 4 per message";
  if (!t.tokenizer_error.empty()) out += " (the server's tokenizer could not be asked: " + t.tokenizer_error + ")";
  return out;
}

nlohmann::ordered_json dry_run_json(const DryRunRow& r, const std::optional<Price>& price) {
  const auto& t = r.totals;
  nlohmann::ordered_json j = {{"users", r.users},
                              {"variants", r.variants},
                              {"plan_calls", r.plan_calls},
                              {"cache_hits", t.hits},
                              {"repeats", t.repeats},
                              {"calls_to_send", t.sent},
                              {"http_requests", t.http_calls},
                              {"prompt_tokens", prompt_tokens(t)},
                              {"prompt_tokens_method", prompt_tokens_method(t)},
                              {"max_completion_tokens", t.max_completion_tokens}};
  std::optional<double> mean_completion;
  if (t.hit_answers_with_usage > 0) mean_completion = static_cast<double>(t.hit_completion_tokens) / static_cast<double>(t.hit_answers_with_usage);
  j["cached_mean_completion_tokens"] = mean_completion ? nlohmann::ordered_json(*mean_completion) : nlohmann::ordered_json(nullptr);
  if (price) {
    j["cost_bound_usd"] = price->of(static_cast<double>(prompt_tokens(t)), static_cast<double>(t.max_completion_tokens));
    j["cost_expected_usd"] = mean_completion ? nlohmann::ordered_json(price->of(static_cast<double>(prompt_tokens(t)),
                                                                               *mean_completion * static_cast<double>(t.sent)))
                                             : nlohmann::ordered_json(nullptr);
  }
  if (r.model.empty()) return j;
  nlohmann::ordered_json row = {{"model", r.model}, {"role", r.role}};
  row.update(j);
  return row;
}

const std::map<std::string, NegativeSampling> kSamplings = {{"uniform", NegativeSampling::kUniform},
                                                            {"popularity", NegativeSampling::kPopularity}};

template <class Enum>
std::string name_of(const std::map<std::string, Enum>& names, Enum value);

// A --flag NAME bound to an enum through its name table. The option keeps
// the name as given (so --print-config writes it back), the field gets the
// enum, and an unknown name is an error that names the value and what is
// expected ("--design: zigzag: expected cyclic, latin or random").
template <class Enum>
CLI::Option* add_enum_option(CLI::App& app, const std::string& flag, Enum& field, const std::map<std::string, Enum>& names,
                             const std::string& expected, const std::string& description) {
  return app.add_option_function<std::string>(flag, [&field, names](const std::string& value) { field = names.at(value); }, description)
      ->check(CLI::Validator(
          [names, expected](std::string& value) -> std::string {
            return names.count(value) ? "" : fmt::format("{}: expected {}", value, expected);
          },
          "", "enum names"))
      ->default_str(name_of(names, field))
      ->type_name("NAME");
}

// Counts and amounts: "found -3, expected a number >= 0" (CLI11's own
// NonNegativeNumber prints its range up to 1.8e308 in full).
const CLI::Validator kNonNegative(
    [](std::string& value) -> std::string {
      const auto x = parse_double(value);
      return x && *x >= 0 ? "" : fmt::format("found {}, expected a number >= 0", value);
    },
    "", "non-negative");

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
  static const std::regex noise("base_url=[^,]*,|temperature=0,top_p=1,seed=0,|,phrases=@[0-9a-f]{12}|@[0-9a-f]{12}");
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
  if (m.contains("exposure")) {
    const auto& e = m["exposure"];
    for (const auto& [attribute, a] : e["attributes"].items())
      if (a.contains("disparity") && a["disparity"].is_number())
        row(fmt::format("exposure: {} disparity (descr.)", attribute), fmt::format("{:.3f}", a["disparity"].get<double>()));
    row("exposure: years newer than shown", fmt_metric(e["recency"]["difference_vs_candidates"], 2));
  }
  if (m.contains("history")) {
    const auto& h = m["history"];
    for (const char* variant : {"resample", "shuffled", "reversed", "truncated", "top_rated", "sampled"})
      row(fmt::format("history: tau, {}", std::string_view(variant) == "resample" ? "asked again" : variant), fmt_metric(h[variant]["kendall_tau"]));
    row("history: verdict", h["verdict"].get<std::string>());
  }
  if (m.contains("open") && m["open"].contains("fairllm")) {
    const auto& f = m["open"]["fairllm"];
    for (const auto& [attribute, by_metric] : f["snsr"].items())
      row(fmt::format("FaiRLLM SNSR {} (Jaccard@k)", attribute), fmt_metric(by_metric["jaccard"]));
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

void print_dry_run(const std::vector<DryRunRow>& rows, const DryRunRow& total, const std::optional<Price>& price) {
  fmt::print("dry run: nothing was sent to any model\n");
  for (const auto* r : [&] {
         std::vector<const DryRunRow*> all;
         for (const auto& row : rows) all.push_back(&row);
         if (rows.size() > 1) all.push_back(&total);
         return all;
       }()) {
    const auto& t = r->totals;
    fmt::print("{} ({})\n", short_label(r->model, 100), r->role);
    fmt::print("  {:<26} {}\n", "users", r->users);
    fmt::print("  {:<26} {} variants, {} distinct calls\n", "plan", r->variants, r->plan_calls);
    fmt::print("  {:<26} {} answered by the cache, {} repeats of a call to send\n", "model requests", t.hits, t.repeats);
    fmt::print("  {:<26} {} ({} HTTP requests)\n", "calls to send", t.sent, t.http_calls);
    fmt::print("  {:<26} {} ({})\n", "prompt tokens", prompt_tokens(t), prompt_tokens_method(t));
    std::string completion = fmt::format("at most {} (max_tokens)", t.max_completion_tokens);
    if (t.hit_answers_with_usage > 0)
      completion += fmt::format("; cached answers used {:.1f} per call on average", static_cast<double>(t.hit_completion_tokens) /
                                                                                       static_cast<double>(t.hit_answers_with_usage));
    fmt::print("  {:<26} {}\n", "completion tokens", completion);
    if (price) {
      const auto j = dry_run_json(*r, price);
      fmt::print("  {:<26} at most ${:.4f}{}\n", "cost", j["cost_bound_usd"].get<double>(),
                 j["cost_expected_usd"].is_number() ? fmt::format(", about ${:.4f} at the cached answers' length", j["cost_expected_usd"].get<double>())
                                                    : std::string());
    }
  }
}

// FaiRLLM's sst_json.json: --fairllm, else FaiRLLM/ beside the dataset's folder.
std::string fairllm_file(const AuditCliOptions& o) {
  if (!o.fairllm_path.empty()) return o.fairllm_path;
  if (o.data.path.empty())
    throw BadInput(fmt::format("--protocol {} without --dataset: give FaiRLLM's sst_json.json with --fairllm PATH (its seed lists are read "
                               "from the same folder)",
                               o.protocol));
  return (std::filesystem::path(o.data.path).parent_path() / "FaiRLLM" / "sst_json.json").string();
}

// --protocol fairllm-movie | fairllm-music: FaiRLLM's setup over the options
// (datasets/fairllm_protocol.h). What the command line says otherwise wins
// where FaiRLLM's setup leaves a choice (--k, --users, the adapter's keys).
void apply_protocol(AuditCliOptions& o) {
  if (o.protocol.empty()) {
    if (o.data.path.empty())
      throw BadInput("--dataset is required (a MovieLens or JSON Lines folder), unless --protocol fairllm-movie or fairllm-music runs "
                     "FaiRLLM's benchmark");
    return;
  }
  const auto& protocol = fairllm_protocol(o.protocol);
  if (o.probe != "candidates" && o.probe != "open") throw BadInput(fmt::format("--protocol {}: --probe {} is not candidate-free", o.protocol, o.probe));
  if (o.audit.intersections) throw BadInput(fmt::format("--protocol {}: FaiRLLM states one attribute at a time; drop --intersections", o.protocol));
  if (o.attributes != "dataset" && o.attributes != "fairllm")
    throw BadInput(fmt::format("--protocol {}: the attributes are FaiRLLM's (sst_json.json); drop --attributes {}", o.protocol, o.attributes));
  o.probe = "open";
  if (!o.k_given) o.candidates.k = 20;  // its recommend_num
  o.audit.fairllm_compat = true;        // its SERP* and its clean()/simplified_list() strings
  // Its prompt, word for word, and music/run.py's max_tokens (movie/run.py sets none: the server's default).
  o.adapter.openai_defaults = {{"open_template", protocol.name}, {"max_tokens", "2000"}};
}

void run(AuditCliOptions o) {
  apply_protocol(o);
  std::optional<Price> price;
  if (!o.price.empty()) price = parse_price(o.price);
  if (o.budget.max_cost && !price) throw BadInput("--max-cost needs --price in=USD,out=USD (per million prompt and completion tokens)");
  // --export-batch is a dry run that also writes the calls to send.
  const bool dry_run = o.dry_run || !o.export_batch.empty();
  const char* what = o.dry_run ? "--dry-run" : "--export-batch";
  if (dry_run && (!o.html.empty() || !o.md.empty() || !o.junit.empty() || !o.policy.empty()))
    throw BadInput(fmt::format("{} writes no report: drop --html, --md, --junit and --policy (--out names the dry run's JSON)", what));
  if (dry_run && !o.import_batch.empty()) throw BadInput(fmt::format("{} and --import-batch exclude each other: import first", what));
  if (!o.export_batch.empty() && !o.force && std::filesystem::exists(o.export_batch))
    throw BadInput(fmt::format("{} already exists; refusing to overwrite it (pass --force to replace it)", o.export_batch));
  const bool budgeted = o.budget.max_calls || o.budget.max_tokens || o.budget.max_cost;
  CallControl control;
  if (dry_run || budgeted || price) control.meter = std::make_shared<CallMeter>(dry_run, o.budget, price);
  if (o.tokenize > 0 && !dry_run) throw BadInput("--tokenize calibrates a dry run's token estimate: add --dry-run (or --export-batch)");
  if (control.meter) control.meter->want_tokenizer_samples(o.tokenize);
  if (!o.export_batch.empty()) control.export_to = std::make_shared<BatchExport>();
  if (!o.import_batch.empty()) control.import_from = BatchImport::read(o.import_batch);
  const auto& meter = control.meter;
  auto data = load_data(o.data);
  auto recommender = build_adapter(o.adapter, data.context, data.dataset.attributes, o.audit.short_head_share, control);
  AuditOptions options = o.audit;
  if (!o.audits.empty()) {  // else AuditOptions' default: every registered audit but the opt-in ones
    options.audits.clear();
    for (auto a : split(o.audits, ","))
      if (!trim(a).empty()) options.audits.emplace_back(trim(a));
  }
  options.open = o.probe == "open";
  if (!o.protocol.empty()) {
    // FaiRLLM's seeds have no held-out item (no accuracy); without a catalog
    // nothing grounds, so only the strings are compared (the open audit).
    const std::vector<std::string> applicable = {"fairness", "grounding", "open"};
    if (o.audits.empty()) {
      options.audits = o.data.path.empty() ? std::vector<std::string>{"open"} : applicable;
    } else {
      for (const auto& a : options.audits)
        if (std::find(applicable.begin(), applicable.end(), a) == applicable.end())
          throw BadInput(fmt::format("--protocol {}: the {} audit does not apply: FaiRLLM's requests show no candidates and have no held-out "
                                     "item; its audits are fairness, grounding and open",
                                     o.protocol, a));
      if (o.data.path.empty() && (audit_enabled(options, "fairness") || audit_enabled(options, "grounding")))
        throw BadInput(fmt::format("--protocol {}: the fairness and grounding audits compare catalog items: give a catalog with --dataset "
                                   "(e.g. MovieLens for fairllm-movie), or run --audits open",
                                   o.protocol));
    }
    if (!audit_enabled(options, "open")) options.audits.push_back("open");  // FaiRLLM's own metrics
  } else if (options.open) {
    // Candidate-free requests: the audits that read presented candidates do not apply.
    static const std::vector<std::string> applicable = {"fairness", "grounding", "accuracy", "open"};
    if (o.audits.empty()) {
      options.audits = applicable;
    } else {
      for (const auto& a : options.audits)
        if (std::find(applicable.begin(), applicable.end(), a) == applicable.end())
          throw BadInput(fmt::format("--probe open: the {} audit needs presented candidates; candidate-free requests are audited by "
                                     "fairness, grounding, accuracy and open",
                                     a));
    }
  } else if (std::find(options.audits.begin(), options.audits.end(), "open") != options.audits.end()) {
    throw BadInput("--audits open reads candidate-free requests: add --probe open");
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
  const bool wants_attributes = !o.protocol.empty() || audit_enabled(options, "fairness") ||
                                (audit_enabled(options, "open") && !(o.attributes == "dataset" && data.dataset.attributes.empty()));
  const auto fairllm = wants_attributes && (o.attributes == "fairllm" || !o.protocol.empty()) ? fairllm_file(o) : std::string();
  if (!o.protocol.empty()) {
    options.attributes = attribute_sets("fairllm", {}, fairllm);
  } else if (audit_enabled(options, "fairness")) {
    options.attributes = attribute_sets(o.attributes, data.dataset.attributes, fairllm);
  } else if (audit_enabled(options, "open") && !(o.attributes == "dataset" && data.dataset.attributes.empty())) {
    options.attributes = attribute_sets(o.attributes, data.dataset.attributes, fairllm);  // FaiRLLM's comparison per stated value
  }
  CandidateOptions candidates = o.candidates;
  candidates.negatives = o.candidate_count - 1;
  candidates.seed = options.seed;  // one --seed for users, candidates, permutations and bootstrap
  RequestSet requests;
  if (!o.protocol.empty()) {
    const auto& protocol = fairllm_protocol(o.protocol);
    const int seeds = candidates.max_users > 0 ? candidates.max_users : kFairllmSeeds;
    requests = fairllm_requests(data.workload, protocol, read_fairllm_seeds(protocol, std::filesystem::path(fairllm).parent_path().string(), seeds),
                                candidates.k);
  } else {
    requests = build_requests(data.workload, candidates);
    if (requests.requests.empty()) throw BadInput("no user has a held-out item and enough unseen items to build a request");
    if (options.open) make_open(requests.requests);
  }
  const auto shard = parse_shard(o.shard);
  for (const auto* path : {&o.out, &o.html, &o.md, &o.junit})
    if (!path->empty() && !o.force && std::filesystem::exists(*path) && (!dry_run || o.out_given))
      throw BadInput(fmt::format("{} already exists; refusing to overwrite it (pass --force to replace it)", *path));

  nlohmann::ordered_json fingerprint = nlohmann::ordered_json::object();
  for (const auto& file : data.dataset.files) fingerprint[std::filesystem::path(file).filename().string()] = sha256_file(file);
  nlohmann::ordered_json provenance = {
      {"tool", "recbias"}, {"version", kVersion}, {"git_sha", kGitSha},
      {"adapter", recommender->id()},
      {"grounder", kGrounderVersion},
      {"phrases", {{"source", o.adapter.phrases.empty() ? std::string("built-in") : o.adapter.phrases},
                   {"sha256", (o.adapter.phrases.empty() ? PhraseTable::builtin() : PhraseTable::load(o.adapter.phrases))->sha256()}}},
      {"adapter_capabilities", {{"scores", recommender->capabilities().scores}, {"deterministic", recommender->capabilities().deterministic}}},
      {"dataset", {{"name", data.dataset.name}, {"format", data.dataset.format}, {"path", data.dataset.path}, {"sha256", fingerprint}}},
      {"workload", {{"users_requested", candidates.max_users}, {"probe", o.probe}, {"protocol", o.protocol.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o.protocol)}, {"candidates", options.open ? 0 : o.candidate_count}, {"k", candidates.k},
                    {"sampling", name_of(kSamplings, candidates.sampling)}, {"seed", options.seed}, {"requests", requests.requests.size()}, {"skipped_users", requests.skipped_users}}},
      {"shard", {{"index", shard.index}, {"count", shard.count}}},
      {"started", utc_now()}};
  ProgressBar bar(dry_run ? nullptr : meter);
  const ProgressFn show = [&](const AuditProgress& p) { bar(p); };
  if (dry_run) {
    std::vector<DryRunRow> rows;
    auto measure = [&](Recommender& model, const char* role) {
      const auto before = meter->totals();
      const auto r = run_audit(model, data.workload, requests, options, shard, provenance);  // no progress: every call "fails"
      rows.push_back({model.id(), role, r.state.base_requests, r.state.variants, r.state.calls, minus(meter->totals(), before)});
    };
    measure(*recommender, "audited");
    for (const auto& spec : o.compare) {
      auto adapter = o.adapter;
      adapter.mitigate.push_back(spec);
      measure(*build_adapter(adapter, data.context, data.dataset.attributes, o.audit.short_head_share, control), "mitigation");
    }
    for (const auto& spec : o.compare_adapters) {
      auto adapter = o.adapter;
      adapter.spec = spec;
      adapter.mitigate.clear();
      measure(*build_adapter(adapter, data.context, data.dataset.attributes, o.audit.short_head_share, control), "other model");
    }
    DryRunRow total{"all models", "total", rows[0].users, 0, 0, meter->totals()};
    for (const auto& r : rows) {
      total.variants += r.variants;
      total.plan_calls += r.plan_calls;
    }
    print_dry_run(rows, total, price);
    if (o.out_given) {
      nlohmann::ordered_json out = {{"schema", "recbias.dry-run/1"}, {"runs", nlohmann::ordered_json::array()}};
      for (const auto& r : rows) out["runs"].push_back(dry_run_json(r, price));
      out["total"] = dry_run_json(total, price);
      if (price) out["price"] = {{"input_usd_per_million", price->input_per_million}, {"output_usd_per_million", price->output_per_million}};
      write_output_file(o.out, out.dump(2) + "\n", o.force);
      fmt::print("dry run written to {}\n", o.out);
    }
    if (control.export_to) {
      write_output_file(o.export_batch, control.export_to->text(), o.force);
      fmt::print("batch of {} calls ({} requests) written to {}: answer it with a Batch API (OpenAI: /v1/batches) or "
                 "`vllm run-batch -i {} -o OUT.jsonl`, then run this command with --import-batch OUT.jsonl instead of --export-batch\n",
                 control.export_to->calls(), control.export_to->requests(), o.export_batch, o.export_batch);
    }
    return;
  }
  std::optional<SequentialMonitor> monitor;
  if (o.sequential) {
    std::vector<SequentialRule> rules;
    for (const auto& entry : o.target_widths) {
      const auto eq = entry.find('=');
      const auto width = eq == std::string::npos ? std::nullopt : parse_double(entry.substr(eq + 1));
      if (eq == std::string::npos || !width)
        throw BadInput(fmt::format("--target-width {}: expected METRIC=WIDTH, e.g. position.tvd=0.03", entry));
      const auto metric = entry.substr(0, eq);
      rules.push_back({"width of " + metric, metric, std::nullopt, std::nullopt, *width});
    }
    for (const auto& r : o.policy.empty() ? std::vector<GateRule>{} : load_policy(o.policy).rules) {
      if (r.tau > 0 || r.regression_delta)
        throw BadInput(fmt::format("--sequential: rule \"{}\" is a {} rule; sequential rules are max / min bounds on a metric", r.name,
                                   r.tau > 0 ? "ratio" : "regression"));
      rules.push_back({r.name.empty() ? r.metric : r.name, r.metric, r.max, r.min, std::nullopt});
    }
    monitor.emplace(std::move(rules), options.alpha);
  }
  const StopFn budget_spent = [&] { return meter && meter->spent() ? meter->spent_reason() : std::string(); };
  provenance["options"] = o.resolved;  // the resolved command line and config file (no secrets: keys are env var names)
  auto result = run_audit(*recommender, data.workload, requests, options, shard, provenance, show, budget_spent, monitor ? &*monitor : nullptr);
  bar.finish();
  auto& report = result.report;
  report["provenance"]["finished"] = utc_now();
  if (auto* cached = dynamic_cast<CachedRecommender*>(recommender.get())) {
    const auto s = cached->stats();
    report["provenance"]["cache"] = {{"hits", s.hits}, {"sent", s.misses}, {"deduplicated", s.deduplicated}};
    if (control.import_from) report["provenance"]["cache"]["imported"] = s.imported;
  }
  if (control.import_from) {
    const auto b = control.import_from->stats();
    const auto unused = control.import_from->unused();
    report["provenance"]["batch_import"] = {{"file", o.import_batch}, {"lines", b.lines}, {"imported", b.imported}, {"failed", b.failed},
                                            {"not_in_file", b.not_in_file}, {"unused_lines", unused.size()}};
    fmt::print(stderr, "--import-batch {}: {} lines; {} requests answered from it, {} failed in the batch{}, {} not in the file (sent to the model "
               "or, under --max-calls, left for later); {} lines answer no request of this audit{}\n",
               o.import_batch, b.lines, b.imported, b.failed, b.first_failure.empty() ? "" : " (first: " + b.first_failure + ")",
               b.not_in_file, unused.size(), unused.empty() ? "" : " (first: " + unused.front() + "; another audit's or model's batch?)");
  }
  std::string incomplete = result.incomplete;
  if (!incomplete.empty()) {
    incomplete = fmt::format("the budget is spent ({}): the report covers {} of {} users", incomplete, result.users_measured,
                             result.users_planned);
    if (!o.compare.empty() || !o.compare_adapters.empty()) incomplete += "; the comparisons were not run";
  }
  if (incomplete.empty() && (!o.compare.empty() || !o.compare_adapters.empty())) {
    // Each mitigation wraps the same model, each other adapter stands beside
    // it; all are audited on the same requests.
    std::vector<TradeoffRun> runs = {{recommender->id(), "audited", report["metrics"], report["state"]}};
    nlohmann::ordered_json variants = nlohmann::ordered_json::array();
    auto audit_variant = [&](std::unique_ptr<Recommender> variant_model, const char* role) {
      if (!incomplete.empty()) return;
      fmt::print(stderr, "== comparing {} ({})\n", variant_model->id(), role);
      auto variant = run_audit(*variant_model, data.workload, requests, options, shard, provenance, show, budget_spent);
      bar.finish();
      if (!variant.incomplete.empty()) {  // a partial run would skew the trade-off table: left out
        incomplete = fmt::format("the budget is spent ({}) while comparing {}: that comparison and the ones after it are left out",
                                 variant.incomplete, variant_model->id());
        report["incomplete"] = {{"reason", incomplete}, {"users_measured", result.users_planned}, {"users_planned", result.users_planned}};
        return;
      }
      runs.push_back({variant_model->id(), role, variant.report["metrics"], variant.report["state"]});
      variants.push_back({{"adapter", variant_model->id()}, {"role", role}, {"metrics", variant.report["metrics"]},
                          {"counts", variant.report["counts"]}, {"tests", variant.report["tests"]}});
    };
    for (const auto& spec : o.compare) {
      auto adapter = o.adapter;
      adapter.mitigate.push_back(spec);
      audit_variant(build_adapter(adapter, data.context, data.dataset.attributes, o.audit.short_head_share, control), "mitigation");
    }
    for (const auto& spec : o.compare_adapters) {
      auto adapter = o.adapter;
      adapter.spec = spec;
      adapter.mitigate.clear();
      audit_variant(build_adapter(adapter, data.context, data.dataset.attributes, o.audit.short_head_share, control), "other model");
    }
    report["comparison"] = {{"runs", variants}, {"tradeoff", tradeoff_table(runs, options.confidence)}};
  }
  if (!result.incomplete.empty()) report["incomplete"]["reason"] = incomplete;
  if (monitor) {
    auto seq = monitor->result();
    // What a fixed design would have sent: every user's distinct calls (the plan has the same calls per user).
    const auto per_user = result.users_measured > 0 ? static_cast<double>(result.state.calls) / static_cast<double>(result.users_measured) : 0.0;
    seq["stopped"] = result.decided_early ? "every rule decided" : !result.incomplete.empty() ? "budget spent" : "all users audited";
    seq["users_planned"] = result.users_planned;
    seq["calls_used"] = result.state.calls;
    seq["calls_fixed_design"] = static_cast<std::int64_t>(std::llround(per_user * static_cast<double>(result.users_planned)));
    report["sequential"] = seq;
  }
  if (meter) {
    const auto t = meter->totals();
    report["provenance"]["spent"] = {{"calls_sent", t.sent}, {"calls_refused", t.refused}, {"prompt_tokens", t.used_prompt_tokens},
                                     {"completion_tokens", t.used_completion_tokens}};
    if (price) report["provenance"]["spent"]["cost_usd"] = meter->cost();
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
  if (monitor) {
    fmt::print("sequential: {} after {} of {} users, {} of {} calls\n", report["sequential"]["stopped"].get<std::string>(),
               result.users_measured, result.users_planned, result.state.calls, report["sequential"]["calls_fixed_design"].get<std::int64_t>());
    for (const auto& r : report["sequential"]["rules"])
      fmt::print("  {:<40} {:<14} [{:.4f}, {:.4f}]  {}\n", r["name"].get<std::string>(), r["bound"].get<std::string>(),
                 r["interval"][0].get<double>(), r["interval"][1].get<double>(), r["decision"].get<std::string>());
  }
  if (!incomplete.empty())
    throw Inconclusive(fmt::format("{}; the report is marked incomplete. Every answer received is in the response cache: the same "
                                   "command with a larger budget resends none of them",
                                   incomplete));
  if (result.state.usable_identity == 0 && result.state.failed_calls > 0)
    throw BackendFailure(fmt::format("every request failed ({} failed calls); see the adapter's errors", result.state.failed_calls));
  if (monitor && monitor->exit_code() != 0) throw GateExit(monitor->exit_code() == 1 ? ExitCode::kGateFailed : ExitCode::kInconclusive);
}

struct MergeOptions {
  std::vector<std::string> inputs;
  std::string out;
  bool force = false;
};

void run_merge(const MergeOptions& o) {
  std::vector<nlohmann::json> reports;
  for (const auto& path : o.inputs) reports.push_back(load_report(path));
  auto merged = merge_reports(reports, o.inputs);
  write_output_file(o.out, report_to_text(merged), o.force);
  print_summary(merged);
  fmt::print("merged {} reports into {}\n", reports.size(), o.out);
}

}  // namespace

void setup_audit(CLI::App& app) {
  auto o = std::make_shared<AuditCliOptions>();
  auto* audit = app.add_subcommand("audit", "Audit a recommender for position, popularity and fairness bias, grounding, accuracy and cost");
  add_adapter_options(*audit, o->adapter);
  add_data_options(*audit, o->data, false);  // required unless --protocol (checked in run)
  audit->add_option("--audits", o->audits,
                    fmt::format("Comma-separated audits: {} (default: all but history, which runs when named, and open, which --probe open selects)", audit_names()));
  audit->add_option("--users", o->candidates.max_users, "Users to sample; 0 = every user with a held-out item")->check(kNonNegative);
  audit->add_option("--candidates", o->candidate_count, "Candidates per request: 1 held-out positive + negatives")->check(CLI::Range(2, 1000));
  audit->add_option("--probe", o->probe,
                    "candidates: rank presented candidates; open: candidate-free requests, the model names --k items of the whole "
                    "catalog (fairness, grounding against the catalog, accuracy)")
      ->check(CLI::IsMember({"candidates", "open"}))
      ->capture_default_str();
  audit->add_option("--protocol", o->protocol,
                    "Run FaiRLLM's benchmark (Zhang et al. 2023): fairllm-movie or fairllm-music -- its seed names (--users, default 500), "
                    "prompt, top-20, 8 attributes / 31 values and metrics; --dataset is optional (a catalog to ground against)")
      ->check(CLI::IsMember(fairllm_protocol_names()));
  audit->add_option("--k", o->candidates.k, "Length of the answer asked for, and the cut-off of HR/NDCG/similarities")->check(CLI::Range(1, 1000));
  add_enum_option(*audit, "--sampling", o->candidates.sampling, kSamplings, "uniform or popularity", "Negative sampling: uniform or popularity");
  audit->add_option("--permutations", o->audit.permutations, "Permutations per request for the position audit; 0 = K")->check(kNonNegative);
  add_enum_option(*audit, "--design", o->audit.design, permutation_design_names(), "cyclic, latin or random",
                  "Permutation design: cyclic, latin or random");
  audit->add_option("--seed", o->audit.seed, "Seed for users, candidates, permutations and bootstrap");
  audit->add_option("--attributes", o->attributes, "Fairness attributes: dataset or fairllm");
  audit->add_option("--fairllm", o->fairllm_path, "FaiRLLM's sst_json.json (default: ../FaiRLLM/sst_json.json next to the dataset)");
  audit->add_flag("--intersections", o->audit.intersections, "Fairness: also state pairs of attributes (default: off)");
  audit->add_flag("--fairllm-compat", o->audit.fairllm_compat, "Fairness: FaiRLLM's published SERP* (max 0.274 at K = 20) instead of the normalised one");
  audit->add_option("--fairness-metric", o->audit.fairness_test_metric, "Similarity tested against the noise floor: jaccard, serp, prag, rbo");
  audit->add_option("--history-window", o->audit.history_window,
                    "History: the last W history items the probe shuffles, reverses and truncates (at most what the adapter shows)")
      ->check(CLI::Range(2, 100000));
  audit->add_option("--short-head", o->audit.short_head_share, "Popularity: share of training interactions the short head makes up")
      ->check(CLI::Range(0.01, 0.99));
  audit->add_option("--bootstrap", o->audit.bootstrap_replicates, "Poisson bootstrap replicates")->check(CLI::Range(10, 100000));
  audit->add_option("--confidence", o->audit.confidence, "Interval level")->check(CLI::Range(0.5, 0.9999));
  audit->add_option("--alpha", o->audit.alpha, "Test level after correction")->check(CLI::Range(0.0001, 0.5));
  audit->add_option("--correction", o->audit.correction, "Multiple-testing correction: holm or bh")->check(CLI::IsMember({"holm", "bh"}));
  add_enum_option(*audit, "--tvd-interval", o->audit.tvd_interval, tvd_interval_names(), "moment or inversion",
                  "Position: the TVD estimate and interval, inversion (default; test inversion: 93.4-97.0% coverage in the "
                  "validated regimes, see the README) or moment (moment-matched, bootstrap SD: 89.2% in one of them)");
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
  audit->add_flag("--dry-run", o->dry_run,
                  "Plan the audit and check the cache, send nothing: print users, variants, calls to send, tokens and cost "
                  "(written as JSON with --out)");
  audit->add_option("--max-calls", o->budget.max_calls, "Budget: model calls to send at most (cache hits are free)")
      ->check(kNonNegative)->type_name("N");
  audit->add_option("--max-tokens", o->budget.max_tokens, "Budget: prompt + completion tokens at most")
      ->check(kNonNegative)->type_name("N");
  audit->add_option("--max-cost", o->budget.max_cost, "Budget: USD at most (needs --price)")->check(kNonNegative)->type_name("USD");
  audit->add_option("--export-batch", o->export_batch,
                    "Send nothing: write the calls the audit still needs as an OpenAI Batch API input file (also read by vllm run-batch)")
      ->type_name("FILE");
  audit->add_option("--import-batch", o->import_batch,
                    "Answer calls from a batch output file (OpenAI Batch API or vllm run-batch) before sending any; with --max-calls 0 "
                    "nothing is sent")
      ->check(CLI::ExistingFile)->type_name("FILE");
  audit->add_option("--tokenize", o->tokenize,
                    "Dry run: ask the server's tokenizer endpoint (/tokenize: vLLM, llama.cpp) to count N prompts, and scale the estimate by it")
      ->check(kNonNegative)->type_name("N");
  audit->add_option("--price", o->price, "USD per million prompt and completion tokens, for --dry-run, --max-cost and the progress line")
      ->type_name("in=USD,out=USD");
  audit->add_flag("--sequential", o->sequential,
                  "Decide the --policy rules with anytime-valid confidence sequences after each chunk of users (--chunk, 25 by default "
                  "here) and stop when all are decided; exit 0 pass, 1 fail, 3 undecided");
  audit->add_option("--target-width", o->target_widths,
                    "With --sequential: stop once this metric's confidence sequence is at most W wide (repeatable), METRIC=W")
      ->type_name("METRIC=W");
  audit->add_flag("--print-config", o->print_config, "Print the resolved configuration (command line over --config over defaults) as TOML and exit");
  // CLI11 reads config files on the root app only: --config lives there and
  // `recbias audit --config FILE` reaches it by fallthrough.
  auto formatter = std::make_shared<TomlConfig>(&app, audit, "--config");
  app.set_config("--config", "", "recbias audit: read its options from a TOML file (keys are the flags without dashes; flags override it)")
      ->type_name("FILE");
  app.config_formatter(formatter);
  audit->config_formatter(formatter);
  audit->fallthrough();
  audit->callback([o, audit] {
    if (o->sequential && o->policy.empty() && o->target_widths.empty())
      throw BadInput("--sequential needs --policy (the rules it decides) or --target-width METRIC=W (how precise to get)");
    if (!o->target_widths.empty() && !o->sequential) throw BadInput("--target-width goes with --sequential");
    for (const auto& entry : o->target_widths)  // before any file is read or written
      if (entry.find('=') == std::string::npos || !parse_double(entry.substr(entry.find('=') + 1)))
        throw BadInput(fmt::format("--target-width {}: expected METRIC=WIDTH, e.g. position.tvd=0.03", entry));
    if (o->sequential && audit->count("--chunk") == 0) o->audit.chunk_bases = 25;  // --chunk from the line or a config file wins
    o->out_given = audit->count("--out") > 0 || !audit->get_option("--out")->empty();
    o->k_given = audit->count("--k") > 0;
    if (o->print_config) {
      fmt::print("{}", audit->config_to_str(true, false));
      return;
    }
    o->resolved = resolved_options(*audit);
    run(*o);
  });

  auto m = std::make_shared<MergeOptions>();
  auto* merge = app.add_subcommand("merge", "Merge shard reports of one audit into the single-run report");
  merge->add_option("reports", m->inputs, "Shard reports (report.json files)")->required()->check(CLI::ExistingFile);
  merge->add_option("-o,--out", m->out, "Merged report file")->required();
  merge->add_flag("--force", m->force, "Replace an existing output (default: refuse)");
  merge->callback([m] { run_merge(*m); });
}

}  // namespace recbias::cli
