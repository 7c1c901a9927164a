#include "reports/trend.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "core/errors.h"
#include "reports/render.h"
#include "reports/render_common.h"

namespace recbias {

using namespace render;

namespace {

std::string finished_of(const nlohmann::json& report) {
  const auto* f = json_at_path(report, "provenance.finished");
  return f && f->is_string() ? f->get<std::string>() : "";
}

std::string cell(const std::optional<Metric>& m, int precision) {
  if (!m || !std::isfinite(m->value)) return "n/a";
  return fmt_num(m->value, precision) + " " + fmt_interval(to_value(m), precision);
}

// "▲ +0.012 [0.004, 0.020]" (changed) or "+0.001 [−0.006, 0.008]".
std::string step_text(const TrendStep& s, int precision, bool markdown) {
  if (!s.comparable) return "n/a";
  const auto& c = s.change;
  std::string text = fmt::format("{}{} [{}, {}] {}", c.value >= 0 ? "+" : "", fmt_num(c.value, precision), fmt_num(c.ci.lo, precision),
                                 fmt_num(c.ci.hi, precision), c.paired ? "paired" : "unpaired");
  if (s.changed) text = std::string(c.value > 0 ? "▲ " : "▼ ") + (markdown ? "**" + text + "**" : text);
  return text;
}

}  // namespace

void order_by_provenance(std::vector<TrendReport>& reports) {
  std::stable_sort(reports.begin(), reports.end(), [](const TrendReport& a, const TrendReport& b) {
    const auto fa = finished_of(a.report), fb = finished_of(b.report);
    if (fa.empty() || fb.empty()) return !fa.empty() && fb.empty();
    return fa < fb;
  });
}

const std::vector<TrendMetric>& trend_metrics() {
  static const std::vector<TrendMetric> metrics = {
      {"position: TVD from uniform (bias-corrected)", "position.tvd", 3, false},
      {"position: top-1 consistency", "position.consistency", 3, true},
      {"popularity: top-1 minus held-out popularity percentile", "popularity.top1_minus_positive_percentile", 3, false},
      {"popularity: ARP", "popularity.arp", 1, false},
      {"grounding: hallucination rate", "grounding.hallucination_rate", 4, false},
      {"accuracy: HR@k", "accuracy.hit_rate", 3, true},
      {"accuracy: NDCG@k", "accuracy.ndcg", 3, true},
      {"cost: calls per recommendation", "cost.calls_per_delivered", 2, false},
  };
  return metrics;
}

Trend build_trend(const std::vector<TrendReport>& reports) {
  if (reports.size() < 2) throw BadInput(fmt::format("--trend: give at least two reports (found {})", reports.size()));
  Trend t;
  for (const auto& r : reports) {
    t.labels.push_back(r.label);
    t.finished.push_back(finished_of(r.report));
  }
  for (const auto& m : trend_metrics()) {
    TrendRow row;
    row.metric = &m;
    bool any = false;
    for (const auto& r : reports) {
      const auto* metrics = json_at_path(r.report, "metrics");
      auto value = metrics ? metric_at(*metrics, m.path) : std::nullopt;
      if (value && !std::isfinite(value->value)) value.reset();
      any = any || value.has_value();
      row.values.push_back(value);
    }
    if (!any) continue;
    for (std::size_t i = 1; i < reports.size(); ++i) {
      TrendStep s;
      if (row.values[i] && row.values[i - 1]) {
        s.comparable = true;
        s.change = metric_change(reports[i].report, reports[i - 1].report, m.path);
        s.changed = std::isfinite(s.change.ci.lo) && std::isfinite(s.change.ci.hi) && (s.change.ci.lo > 0 || s.change.ci.hi < 0);
      }
      row.steps.push_back(s);
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string render_trend_markdown(const Trend& t) {
  std::string out = fmt::format("# recbias trend over {} reports\n\n", t.labels.size());
  out += "Each headline metric per report, oldest first, with its 95% interval; below each, the change from the report before "
         "(paired when both come from the same plan and seed, else unpaired). ▲/▼ in bold: the interval of the change excludes 0.\n\n";
  out += "| report | finished |\n| --- | --- |\n";
  for (std::size_t i = 0; i < t.labels.size(); ++i)
    out += fmt::format("| {} | {} |\n", markdown_escape(t.labels[i]), t.finished[i].empty() ? "n/a" : markdown_escape(t.finished[i]));
  for (const auto& row : t.rows) {
    out += fmt::format("\n### {}\n\n| report | value [95% interval] | change from the one before |\n| --- | --- | --- |\n",
                       markdown_escape(row.metric->label));
    for (std::size_t i = 0; i < t.labels.size(); ++i)
      out += fmt::format("| {} | {} | {} |\n", markdown_escape(t.labels[i]), cell(row.values[i], row.metric->precision),
                         i == 0 ? "—" : step_text(row.steps[i - 1], row.metric->precision, true));
  }
  std::size_t changed = 0;
  for (const auto& row : t.rows)
    for (const auto& s : row.steps) changed += s.changed;
  out += fmt::format("\n{} change{} beyond the interval of the difference.\n", changed, changed == 1 ? "" : "s");
  return out;
}

std::string render_trend_html(const Trend& t) {
  std::string body = fmt::format("<h1>recbias trend over {} reports</h1><p>Each headline metric per report, oldest first, with its 95% "
                                 "interval; the change from the report before is paired when both come from the same plan and seed. "
                                 "Changes whose interval excludes 0 are marked ▲/▼ and drawn in red.</p>",
                                 t.labels.size());
  body += "<table><thead><tr><th>#</th><th>report</th><th>finished</th></tr></thead><tbody>";
  for (std::size_t i = 0; i < t.labels.size(); ++i)
    body += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>", i + 1, html_escape(t.labels[i]),
                        t.finished[i].empty() ? "n/a" : html_escape(t.finished[i]));
  body += "</tbody></table>";
  for (const auto& row : t.rows) {
    const int p = row.metric->precision;
    // The chart: one point per report with its interval, x = the report's place.
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto& v : row.values)
      if (v) {
        lo = std::min({lo, v->value, std::isfinite(v->ci.lo) ? v->ci.lo : v->value});
        hi = std::max({hi, v->value, std::isfinite(v->ci.hi) ? v->ci.hi : v->value});
      }
    const auto ticks = nice_range(lo, hi);
    const double y0 = ticks.front(), y1 = ticks.back();
    const double width = 640, height = 200, left = 70, right = 20, top = 30, bottom = 40;
    const std::size_t n = t.labels.size();
    auto x_of = [&](std::size_t i) { return left + (width - left - right) * (n == 1 ? 0.5 : static_cast<double>(i) / static_cast<double>(n - 1)); };
    auto y_of = [&](double v) { return top + (height - top - bottom) * (1 - (v - y0) / (y1 - y0)); };
    std::string svg = fmt::format("<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\"><text class=\"t\" x=\"{}\" y=\"18\">{}</text>", width,
                                  height, left, html_escape(row.metric->label));
    const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
    for (double v : ticks)
      svg += fmt::format("<line class=\"grid\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/><text class=\"ax\" x=\"{:.1f}\" y=\"{:.1f}\" "
                         "text-anchor=\"end\">{}</text>",
                         left, width - right, y_of(v), y_of(v), left - 6, y_of(v) + 3, tick_text(v, step));
    std::string path;
    for (std::size_t i = 0; i < n; ++i) {
      svg += fmt::format("<text class=\"ax\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>", x_of(i), height - bottom + 16, i + 1);
      const auto& v = row.values[i];
      if (!v) continue;
      const bool changed = i > 0 && row.steps[i - 1].changed;
      if (std::isfinite(v->ci.lo) && std::isfinite(v->ci.hi))
        svg += fmt::format("<line class=\"whisker\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\"/>", x_of(i), y_of(v->ci.lo),
                           y_of(v->ci.hi));
      svg += fmt::format("<circle class=\"{}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\"><title>{}: {}</title></circle>", changed ? "dot changed" : "dot",
                         x_of(i), y_of(v->value), html_escape(t.labels[i]), cell(v, p));
      path += fmt::format("{}{:.1f},{:.1f}", path.empty() ? "M" : " L", x_of(i), y_of(v->value));
    }
    if (!path.empty()) svg += "<path class=\"curve\" d=\"" + path + "\"/>";
    svg += fmt::format("<text class=\"ax\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">report (oldest first)</text></svg>",
                       (left + width - right) / 2, height - 6);
    body += svg + "<table><thead><tr><th>report</th><th>value [95% interval]</th><th>change from the one before</th></tr></thead><tbody>";
    for (std::size_t i = 0; i < n; ++i) {
      const bool changed = i > 0 && row.steps[i - 1].changed;
      body += fmt::format("<tr{}><td>{}</td><td>{}</td><td>{}</td></tr>", changed ? " class=\"fail\"" : "", html_escape(t.labels[i]),
                          cell(row.values[i], p), i == 0 ? "—" : html_escape(step_text(row.steps[i - 1], p, false)));
    }
    body += "</tbody></table>";
  }
  const std::string css =
      "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}"
      "tr.fail td{background:#fde2e2}.chart{width:100%;max-width:680px;display:block;margin:1em 0}"
      ".t{font-size:14px;font-weight:600}.ax{font-size:10px;fill:#555}.grid{stroke:#eee}.whisker{stroke:#111;stroke-width:1.2}"
      ".dot{fill:#4a78c2;stroke:#123}.dot.changed{fill:#d33}.curve{fill:none;stroke:#4a78c2;stroke-width:1.5;stroke-opacity:.6}";
  return fmt::format("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>recbias trend</title>"
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
                     "<style>{}</style></head><body>{}</body></html>\n",
                     css, body);
}

}  // namespace recbias
