#include <cstdint>

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

// A block of the page: a heading and intro, rows (table rows or list
// items), and a tail. Blocks with more rows than kFoldAfter are folded into
// <details> so the page opens on the verdict; when the page would exceed
// GitHub's comment limit, the longest folded blocks lose rows (and say how
// many) until it fits.
struct Block {
  std::string title;  // the summary line of a folded block; "" for blocks never folded
  std::string head;   // heading, intro and table header
  std::vector<std::string> rows;
  std::string tail;
  std::size_t omitted = 0;
};

constexpr std::size_t kFoldAfter = 8;

std::string assemble(const std::vector<Block>& blocks) {
  std::string md;
  for (const auto& b : blocks) {
    const bool fold = !b.title.empty() && b.rows.size() + b.omitted > kFoldAfter;
    if (fold) md += fmt::format("<details><summary>{} ({} rows)</summary>\n\n", b.title, b.rows.size() + b.omitted);
    md += b.head;
    for (const auto& r : b.rows) md += r;
    if (b.omitted)
      md += fmt::format("\n*{} more row{} omitted to keep this page within GitHub's {}-character comment limit; the HTML and JSON reports have them all.*\n",
                        b.omitted, b.omitted == 1 ? "" : "s", kMarkdownLimit);
    md += b.tail;
    if (fold) md += "\n</details>\n\n";
  }
  return md;
}

// Drops rows from the longest foldable blocks until the page fits the limit.
std::string fit(std::vector<Block> blocks) {
  auto md = assemble(blocks);
  while (md.size() > kMarkdownLimit) {
    Block* longest = nullptr;
    for (auto& b : blocks)
      if (!b.title.empty() && b.rows.size() > 1 && (!longest || b.rows.size() > longest->rows.size())) longest = &b;
    if (!longest) break;
    const std::size_t drop = std::max<std::size_t>(1, longest->rows.size() / 4);
    longest->rows.resize(longest->rows.size() - drop);
    longest->omitted += drop;
    md = assemble(blocks);
  }
  if (md.size() > kMarkdownLimit) {  // still too long (e.g. a huge adapter id): cut at a line boundary
    const std::string note = "\n\n*Cut to keep this page within GitHub's comment limit; the HTML and JSON reports are complete.*\n";
    md.resize(md.rfind('\n', kMarkdownLimit - note.size()));
    md += note;
  }
  return md;
}

}  // namespace

static std::string render_markdown_impl(nlohmann::json& report, nlohmann::json* baseline, const GateResult* gate) {
  std::vector<Block> blocks;
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
  Block top;
  top.head += fmt::format("## recbias audit: {}\n\n", verdict);
  if (const auto note = incomplete_note(report); !note.empty()) top.head += "> **" + markdown_escape(note) + "**\n\n";
  top.head += fmt::format("**Adapter** {} · **dataset** {} · {} users · {} model calls ({} failed)\n\n",
                          code_span(p.value("adapter", "")), markdown_escape(p["dataset"].value("name", "")),
                          c.value("base_requests", std::int64_t{0}), c.value("calls", std::int64_t{0}), c.value("failed_calls", std::int64_t{0}));
  blocks.push_back(std::move(top));
  // The verdict card: what was found, how sure, against which reference. Never folded.
  if (const auto card = verdict_card(report); !card.empty()) {
    Block b;
    b.head = "### Verdict\n\n| audit | headline [95% interval] | reference | verdict |\n| --- | --- | --- | --- |\n";
    for (const auto& line : card)
      b.rows.push_back(fmt::format("| {} | {} | {} | {}{}{} |\n", markdown_escape(line.audit), markdown_escape(line.headline),
                                   markdown_escape(line.reference), line.status == CardStatus::kDetected ? "**" : "",
                                   markdown_escape(line.verdict), line.status == CardStatus::kDetected ? "**" : ""));
    if (gate)
      b.rows.push_back(fmt::format("| gate | {} rules | the policy's bounds | **{}** |\n", gate->outcomes.size(), markdown_escape(gate_summary(*gate))));
    b.tail = "\n";
    blocks.push_back(std::move(b));
  }
  const auto found = findings(report);
  if (!found.empty()) {
    Block b{"Findings", "### Findings\n\n", {}, "\n"};
    for (auto& f : found) b.rows.push_back("- " + markdown_escape(f) + "\n");
    blocks.push_back(std::move(b));
  }
  if (gate) {
    Block b{"Gate rules", "### Gate\n\n| rule | value | 95% interval | bound | verdict |\n| --- | --- | --- | --- | --- |\n", {}, "\n"};
    for (auto& o : gate->outcomes)
      b.rows.push_back(fmt::format("| {} | {} | [{}, {}] | {} | **{}** {} |\n", markdown_escape(o.rule->name), fmt_num(o.value), fmt_num(o.ci.lo),
                                   fmt_num(o.ci.hi), markdown_escape(o.bound), verdict_name(o.verdict), markdown_escape(o.message)));
    blocks.push_back(std::move(b));
  }
  Block metrics{"Metrics",
                baseline ? "### Metrics\n\n| metric | value | 95% interval | baseline | change |\n| --- | --- | --- | --- | --- |\n"
                         : "### Metrics\n\n| metric | value | 95% interval |\n| --- | --- | --- |\n",
                {}, "\n"};
  for (auto& h : headlines()) {
    const auto v = headline_value(report["metrics"], h);
    if (!v.present) continue;
    std::string row = fmt::format("| {} | {} | {} |", h.label, fmt_num(v.value, h.precision), fmt_interval(v, h.precision));
    if (baseline) {
      const auto b = headline_value((*baseline)["metrics"], h);
      row += b.present ? fmt::format(" {} | {:+.{}f} |", fmt_num(b.value, h.precision), v.value - b.value, std::max(h.precision, 1)) : " n/a | n/a |";
    }
    metrics.rows.push_back(row + "\n");
  }
  blocks.push_back(std::move(metrics));
  if (report["metrics"].contains("fairness")) {
    auto& f = report["metrics"]["fairness"];
    const std::string metric = f.value("test_metric", "serp");
    Block b{"Fairness by attribute",
            fmt::format("### Fairness ({}, noise floor {})\n\n| attribute | SNSR | SNSV | utility gap (NDCG) |\n| --- | --- | --- | --- |\n", metric,
                        fmt_num(value_of(f["noise_floor"][metric]).value)),
            {}, "\n"};
    for (auto& [name, a] : f["attributes"].items()) {
      const auto r = value_of(a["snsr"][metric]), v = value_of(a["snsv"][metric]), g = value_of(a["utility"]["gap"]);
      b.rows.push_back(fmt::format("| {} | {} {} | {} {} | {} {} |\n", markdown_escape(name), fmt_num(r.value), fmt_interval(r), fmt_num(v.value),
                                   fmt_interval(v), fmt_num(g.value), fmt_interval(g)));
    }
    blocks.push_back(std::move(b));
  }
  if (report["metrics"].contains("open") && report["metrics"]["open"].contains("fairllm")) {
    // FaiRLLM's own numbers (candidate-free generation, --protocol fairllm-*): its metrics of the strings written.
    auto& f = report["metrics"]["open"]["fairllm"];
    Block b{"FaiRLLM", "### FaiRLLM's similarities to the neutral list (strings written, @k)\n\n| attribute | SNSR Jaccard | SNSR SERP* | SNSR PRAG* | SNSV Jaccard |\n| --- | --- | --- | --- | --- |\n", {}, "\n"};
    for (auto& [name, by_metric] : f["snsr"].items()) {
      const auto j = value_of(by_metric["jaccard"]), s = value_of(by_metric["serp"]), pr = value_of(by_metric["prag"]);
      const auto v = value_of(f["snsv"][name]["jaccard"]);
      b.rows.push_back(fmt::format("| {} | {} {} | {} {} | {} {} | {} {} |\n", markdown_escape(name), fmt_num(j.value), fmt_interval(j), fmt_num(s.value),
                                   fmt_interval(s), fmt_num(pr.value), fmt_interval(pr), fmt_num(v.value), fmt_interval(v)));
    }
    blocks.push_back(std::move(b));
  }
  if (report.contains("comparison") && report["comparison"].contains("tradeoff")) {
    Block b{"Trade-off", "### Trade-off: mitigations and other models on the same plan\n\n| model | role |", {}, "\n"};
    for (auto& [label, field] : tradeoff_columns()) b.head += fmt::format(" {} |", label);
    b.head += "\n| --- | --- |";
    for (std::size_t i = 0; i < tradeoff_columns().size(); ++i) b.head += " --- |";
    b.head += "\n";
    for (auto& row : report["comparison"]["tradeoff"]) {
      std::string line = "| " + code_span(row.value("model", "")) + " | " + markdown_escape(row.value("role", "")) + " |";
      for (auto& [label, field] : tradeoff_columns()) {
        const auto v = value_of(row[field]);
        line += v.present ? fmt::format(" {} {} |", fmt_num(v.value), fmt_interval(v)) : " n/a |";
      }
      b.rows.push_back(line + "\n");
    }
    blocks.push_back(std::move(b));
  }
  Block foot;
  foot.head = fmt::format("<sub>recbias {} · report schema {} · {}</sub>\n", markdown_escape(p.value("version", "")),
                          markdown_escape(report.value("schema", "")), markdown_escape(p.value("finished", "")));
  blocks.push_back(std::move(foot));
  return fit(std::move(blocks));
}

std::string render_markdown(const nlohmann::json& report, const nlohmann::json* baseline, const GateResult* gate) {
  return render_copy(report, baseline, [&](nlohmann::json& doc, nlohmann::json* base) { return render_markdown_impl(doc, base, gate); });
}

}  // namespace recbias
