// `recbias report REPORT.json --format html|md|junit -o FILE [--policy P] [--baseline B]`
// `recbias report --trend R1.json R2.json ... --format md|html [--order provenance|given] [--labels a,b,...]`
// `recbias gate --policy P REPORT.json [--baseline B] [--trend EARLIER.json ...] [--junit FILE] [--md FILE]`
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "reports/gate.h"
#include "reports/render.h"
#include "reports/report_io.h"
#include "reports/schema.h"
#include "reports/trend.h"

namespace recbias::cli {

nlohmann::json load_report(const std::string& path) { return read_report_file(path); }

namespace {

struct ReportOptions {
  std::string report;
  std::vector<std::string> trend;
  std::vector<std::string> labels;
  std::string order = "provenance";
  std::string format = "html";
  std::string out;
  std::string policy;
  std::string baseline;
  bool force = false;
};

struct GateOptions {
  std::string report;
  std::vector<std::string> trend;
  std::string policy;
  std::string baseline;
  std::string junit;
  std::string md;
  bool force = false;
};

void print_gate(const GateResult& result) {
  fmt::print("{:<44} {:>10} {:>24}  {:<40} {}\n", "rule", "value", "95% interval", "bound", "verdict");
  for (const auto& o : result.outcomes) {
    const auto interval = fmt::format("[{:.4g}, {:.4g}]", o.ci.lo, o.ci.hi);
    fmt::print("{:<44} {:>10.4g} {:>24}  {:<40} {} ({})\n", o.rule->name, o.value, interval, o.bound, verdict_name(o.verdict), o.message);
  }
}

// The reports of a trend, labelled by `labels` or their file names, in
// release order (provenance.finished) or as given.
std::vector<TrendReport> load_trend(const std::vector<std::string>& paths, const std::vector<std::string>& labels, const std::string& order) {
  if (!labels.empty() && labels.size() != paths.size())
    throw BadInput(fmt::format("--labels: {} labels for {} reports; give one per report", labels.size(), paths.size()));
  std::vector<TrendReport> reports;
  for (std::size_t i = 0; i < paths.size(); ++i)
    reports.push_back({labels.empty() ? std::filesystem::path(paths[i]).filename().string() : labels[i], load_report(paths[i])});
  if (order == "provenance") order_by_provenance(reports);
  return reports;
}

}  // namespace

void setup_report(CLI::App& app) {
  auto r = std::make_shared<ReportOptions>();
  auto* report = app.add_subcommand("report", "Render a report as HTML, Markdown or JUnit XML");
  report->add_option("report", r->report, "report.json written by recbias audit (not with --trend)")->check(CLI::ExistingFile);
  report->add_option("--format", r->format, "html, md or junit")->check(CLI::IsMember({"html", "md", "junit"}));
  report->add_option("--trend", r->trend, "Render the headline metrics over these reports (releases) instead: md or html")
      ->check(CLI::ExistingFile);
  report->add_option("--order", r->order, "--trend order: provenance (by provenance.finished, oldest first) or given")
      ->capture_default_str()
      ->check(CLI::IsMember({"provenance", "given"}));
  report->add_option("--labels", r->labels, "--trend column labels, one per report in the order given (default: file names)")->delimiter(',');
  report->add_option("-o,--out", r->out, "Output file (default: stdout)");
  report->add_option("--policy", r->policy, "Gate policy (JSON): adds the rule table; required for junit")->check(CLI::ExistingFile);
  report->add_option("--baseline", r->baseline, "Baseline report: adds before/after columns")->check(CLI::ExistingFile);
  report->add_flag("--force", r->force, "Replace an existing output file (default: refuse)");
  report->callback([r] {
    if (!r->trend.empty()) {
      if (!r->report.empty()) throw BadInput("recbias report: give either REPORT.json or --trend R1.json R2.json ..., not both");
      if (r->format == "junit") throw BadInput("--trend renders md or html, not junit");
      const auto trend = build_trend(load_trend(r->trend, r->labels, r->order));
      const auto text = r->format == "md" ? render_trend_markdown(trend) : render_trend_html(trend);
      if (r->out.empty() || r->out == "-") std::cout << text;
      else write_output_file(r->out, text, r->force);
      return;
    }
    if (r->report.empty()) throw BadInput("recbias report: give REPORT.json (or --trend R1.json R2.json ...)");
    const auto current = load_report(r->report);
    const auto baseline = r->baseline.empty() ? nlohmann::json() : load_report(r->baseline);
    std::optional<GateResult> gate;
    std::optional<GatePolicy> policy;
    if (!r->policy.empty()) {
      policy = load_policy(r->policy);
      gate = evaluate_gate(*policy, current, r->baseline.empty() ? nullptr : &baseline);
    }
    std::string text;
    if (r->format == "junit") {
      if (!gate) throw BadInput("--format junit needs --policy: JUnit test cases are the policy's rules");
      text = render_junit(*gate, current);
    } else if (r->format == "md") {
      text = render_markdown(current, r->baseline.empty() ? nullptr : &baseline, gate ? &*gate : nullptr);
    } else {
      text = render_html(current, r->baseline.empty() ? nullptr : &baseline, gate ? &*gate : nullptr);
    }
    if (r->out.empty() || r->out == "-") std::cout << text;
    else write_output_file(r->out, text, r->force);
  });

  auto g = std::make_shared<GateOptions>();
  auto* gate = app.add_subcommand("gate", "Check a report against a policy; exit 0 pass, 1 fail, 2 bad input, 3 inconclusive");
  gate->add_option("report", g->report, "report.json written by recbias audit")->required()->check(CLI::ExistingFile);
  gate->add_option("--policy", g->policy, "Policy file (JSON, see README)")->required()->check(CLI::ExistingFile);
  gate->add_option("--baseline", g->baseline, "Baseline report for regression rules")->check(CLI::ExistingFile);
  gate->add_option("--trend", g->trend, "Earlier reports for drift rules (ordered by provenance.finished, oldest first)")
      ->check(CLI::ExistingFile);
  gate->add_option("--junit", g->junit, "Also write JUnit XML (one test case per rule)");
  gate->add_option("--md", g->md, "Also write a Markdown summary with the rule table");
  gate->add_flag("--force", g->force, "Replace existing output files (default: refuse)");
  gate->callback([g] {
    const auto current = load_report(g->report);
    const auto baseline = g->baseline.empty() ? nlohmann::json() : load_report(g->baseline);
    const auto policy = load_policy(g->policy);
    std::vector<nlohmann::json> earlier;
    for (auto& t : load_trend(g->trend, {}, "provenance")) earlier.push_back(std::move(t.report));
    const auto result = evaluate_gate(policy, current, g->baseline.empty() ? nullptr : &baseline, &earlier);
    print_gate(result);
    if (!g->junit.empty()) write_output_file(g->junit, render_junit(result, current), g->force);
    if (!g->md.empty()) write_output_file(g->md, render_markdown(current, g->baseline.empty() ? nullptr : &baseline, &result), g->force);
    const auto code = result.exit_code();
    if (result.report_incomplete && code == ExitCode::kInconclusive)
      fmt::print("the report is marked incomplete (a budget stopped the audit): a gate does not pass on part of an audit\n");
    fmt::print("gate: {}\n", code == ExitCode::kOk ? "passed" : code == ExitCode::kGateFailed ? "FAILED" : "inconclusive");
    if (code != ExitCode::kOk) throw GateExit(code);
  });
}

}  // namespace recbias::cli
