// `recbias report REPORT.json --format html|md|junit -o FILE [--policy P] [--baseline B]`
// `recbias gate --policy P REPORT.json [--baseline B] [--junit FILE] [--md FILE]`
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

namespace recbias::cli {

nlohmann::json load_report(const std::string& path) { return read_report_file(path); }

namespace {

struct ReportOptions {
  std::string report;
  std::string format = "html";
  std::string out;
  std::string policy;
  std::string baseline;
  bool force = false;
};

struct GateOptions {
  std::string report;
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

}  // namespace

void setup_report(CLI::App& app) {
  auto r = std::make_shared<ReportOptions>();
  auto* report = app.add_subcommand("report", "Render a report as HTML, Markdown or JUnit XML");
  report->add_option("report", r->report, "report.json written by recbias audit")->required()->check(CLI::ExistingFile);
  report->add_option("--format", r->format, "html, md or junit")->check(CLI::IsMember({"html", "md", "junit"}));
  report->add_option("-o,--out", r->out, "Output file (default: stdout)");
  report->add_option("--policy", r->policy, "Gate policy (JSON): adds the rule table; required for junit")->check(CLI::ExistingFile);
  report->add_option("--baseline", r->baseline, "Baseline report: adds before/after columns")->check(CLI::ExistingFile);
  report->add_flag("--force", r->force, "Replace an existing output file (default: refuse)");
  report->callback([r] {
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
  gate->add_option("--junit", g->junit, "Also write JUnit XML (one test case per rule)");
  gate->add_option("--md", g->md, "Also write a Markdown summary with the rule table");
  gate->add_flag("--force", g->force, "Replace existing output files (default: refuse)");
  gate->callback([g] {
    const auto current = load_report(g->report);
    const auto baseline = g->baseline.empty() ? nlohmann::json() : load_report(g->baseline);
    const auto policy = load_policy(g->policy);
    const auto result = evaluate_gate(policy, current, g->baseline.empty() ? nullptr : &baseline);
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
