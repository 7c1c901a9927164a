#include <fmt/format.h>

#include "core/json_errors.h"
#include "reports/render.h"
#include "reports/render_common.h"
#include "reports/verdict_card.h"

namespace recbias {

using namespace render;

std::string markdown_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '|': case '`': case '*': case '_': case '[': case ']': case '\\': case '#':
        out.push_back('\\');
        out.push_back(c);
        break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '\n': case '\r': out.push_back(' '); break;
      default: out.push_back(c);
    }
  }
  return out;
}

namespace {

// Inline code: backslash escapes do not work inside code spans, so backticks
// and line breaks are replaced instead.
std::string code_span(std::string_view text) {
  std::string out = "`";
  for (char c : text) out.push_back(c == '`' ? '\'' : (c == '\n' || c == '\r') ? ' ' : c);
  return out + "`";
}

}  // namespace

static std::string render_markdown_impl(nlohmann::json& report, nlohmann::json* baseline, const GateResult* gate) {
  std::string md;
  auto& p = report["provenance"];
  auto& c = report["counts"];
  std::size_t significant = 0;
  for (auto& t : report["tests"]) significant += t.value("significant", false);
  std::string verdict;
  if (gate) {
    verdict = gate_summary(*gate);
  } else {
    verdict = significant ? fmt::format("{} significant finding{} (after {} correction)", significant, significant == 1 ? "" : "s",
                                        report["config"].value("correction", "holm"))
                          : "no significant bias found";
  }
  md += fmt::format("## recbias audit: {}\n\n", verdict);
  if (const auto note = incomplete_note(report); !note.empty()) md += "> **" + markdown_escape(note) + "**\n\n";
  md += fmt::format("**Adapter** {} · **dataset** {} · {} users · {} model calls ({} failed)\n\n",
                    code_span(p.value("adapter", "")), markdown_escape(p["dataset"].value("name", "")),
                    c.value("base_requests", 0), c.value("calls", 0), c.value("failed_calls", 0));
  // The verdict card: what was found, how sure, against which reference.
  if (const auto card = verdict_card(report); !card.empty()) {
    md += "### Verdict\n\n| audit | headline [95% interval] | reference | verdict |\n| --- | --- | --- | --- |\n";
    for (const auto& line : card)
      md += fmt::format("| {} | {} | {} | {}{}{} |\n", markdown_escape(line.audit), markdown_escape(line.headline), markdown_escape(line.reference),
                        line.status == CardStatus::kDetected ? "**" : "", markdown_escape(line.verdict),
                        line.status == CardStatus::kDetected ? "**" : "");
    if (gate) md += fmt::format("| gate | {} rules | the policy's bounds | **{}** |\n", gate->outcomes.size(), markdown_escape(gate_summary(*gate)));
    md += "\n";
  }
  const auto found = findings(report);
  if (!found.empty()) {
    md += "### Findings\n\n";
    for (auto& f : found) md += "- " + markdown_escape(f) + "\n";
    md += "\n";
  }
  if (gate) {
    md += "### Gate\n\n| rule | value | 95% interval | bound | verdict |\n| --- | --- | --- | --- | --- |\n";
    for (auto& o : gate->outcomes)
      md += fmt::format("| {} | {} | [{}, {}] | {} | **{}** {} |\n", markdown_escape(o.rule->name), fmt_num(o.value), fmt_num(o.ci.lo),
                        fmt_num(o.ci.hi), markdown_escape(o.bound), verdict_name(o.verdict), markdown_escape(o.message));
    md += "\n";
  }
  md += baseline ? "### Metrics\n\n| metric | value | 95% interval | baseline | change |\n| --- | --- | --- | --- | --- |\n"
                 : "### Metrics\n\n| metric | value | 95% interval |\n| --- | --- | --- |\n";
  for (auto& h : headlines()) {
    const auto v = headline_value(report["metrics"], h);
    if (!v.present) continue;
    md += fmt::format("| {} | {} | {} |", h.label, fmt_num(v.value, h.precision), fmt_interval(v, h.precision));
    if (baseline) {
      const auto b = headline_value((*baseline)["metrics"], h);
      md += b.present ? fmt::format(" {} | {:+.{}f} |", fmt_num(b.value, h.precision), v.value - b.value, std::max(h.precision, 1)) : " n/a | n/a |";
    }
    md += "\n";
  }
  if (report["metrics"].contains("fairness")) {
    auto& f = report["metrics"]["fairness"];
    const std::string metric = f.value("test_metric", "serp");
    md += fmt::format("\n### Fairness ({}, noise floor {})\n\n| attribute | SNSR | SNSV | utility gap (NDCG) |\n| --- | --- | --- | --- |\n",
                      metric, fmt_num(value_of(f["noise_floor"][metric]).value));
    for (auto& [name, a] : f["attributes"].items()) {
      const auto r = value_of(a["snsr"][metric]), v = value_of(a["snsv"][metric]), g = value_of(a["utility"]["gap"]);
      md += fmt::format("| {} | {} {} | {} {} | {} {} |\n", markdown_escape(name), fmt_num(r.value), fmt_interval(r), fmt_num(v.value),
                        fmt_interval(v), fmt_num(g.value), fmt_interval(g));
    }
  }
  if (report.contains("comparison") && report["comparison"].contains("tradeoff")) {
    md += "\n### Trade-off: mitigations and other models on the same plan\n\n| model | role |";
    for (auto& [label, field] : tradeoff_columns()) md += fmt::format(" {} |", label);
    md += "\n| --- | --- |";
    for (std::size_t i = 0; i < tradeoff_columns().size(); ++i) md += " --- |";
    md += "\n";
    for (auto& row : report["comparison"]["tradeoff"]) {
      md += "| " + code_span(row.value("model", "")) + " | " + markdown_escape(row.value("role", "")) + " |";
      for (auto& [label, field] : tradeoff_columns()) {
        const auto v = value_of(row[field]);
        md += v.present ? fmt::format(" {} {} |", fmt_num(v.value), fmt_interval(v)) : " n/a |";
      }
      md += "\n";
    }
  }
  md += fmt::format("\n<sub>recbias {} · report schema {} · {}</sub>\n", markdown_escape(p.value("version", "")),
                    markdown_escape(report.value("schema", "")), markdown_escape(p.value("finished", "")));
  return md;
}

std::string render_markdown(const nlohmann::json& report, const nlohmann::json* baseline, const GateResult* gate) {
  return render_copy(report, baseline, [&](nlohmann::json& doc, nlohmann::json* base) { return render_markdown_impl(doc, base, gate); });
}

}  // namespace recbias
