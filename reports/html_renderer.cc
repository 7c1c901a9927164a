// One self-contained HTML page: inline CSS, inline SVG, no script, no
// external resource. Every string from the report is escaped.
#include <algorithm>
#include <cstdint>
#include <numeric>

#include <fmt/format.h>

#include "core/json_errors.h"
#include "reports/render.h"
#include "reports/render_common.h"
#include "reports/verdict_card.h"

namespace recbias {

using namespace render;

// XML's five entities (&apos; is valid HTML5) and no control characters.
std::string html_escape(std::string_view text) { return xml_escape(text); }

namespace {

struct Bar {
  std::string label;
  Value v;
};

constexpr double kCharWidth = 6.0;       // px per character of the 10 px axis font, a safe upper estimate for Latin text
constexpr double kTitleCharWidth = 8.5;  // the same for the 14 px bold title font

std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The first `n` code points of `s`.
std::string utf8_prefix(const std::string& s, std::size_t n) {
  std::size_t i = 0, seen = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (seen == n) break;
      ++seen;
    }
  }
  return s.substr(0, i);
}

// A shaded band of values a null hypothesis produces, with its label.
struct NullBand {
  double lo = std::nan(""), hi = std::nan("");
  std::string label;
};

// Horizontal dot-and-whisker rows, one per category: labels sit in their own
// row and never collide however many categories there are (names longer than
// 40 characters are cut, in full in the tooltip). The x axis is scaled to the
// data in round 1-2-5 steps, so a small effect and a large one look
// different; the null band (shaded) and the reference line say what no
// effect looks like.
std::string dot_chart(const std::string& id, const std::string& title, const std::string& axis_label, const std::vector<Bar>& rows,
                      const NullBand& band, double reference, const std::string& reference_label) {
  double lo = std::isfinite(reference) ? reference : 0, hi = lo;
  auto widen = [&](double v) {
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  };
  for (const auto& r : rows) widen(r.v.value), widen(r.v.lo), widen(r.v.hi);
  widen(band.lo), widen(band.hi);
  if (lo >= 0 && lo <= 0.5 * hi) lo = 0;  // start at 0 when the data are not far from it
  const auto ticks = nice_range(lo, hi);
  const double x_lo = ticks.front(), x_hi = ticks.back();
  std::size_t longest = 0;
  for (const auto& r : rows) longest = std::max(longest, std::min<std::size_t>(utf8_length(r.label), 40));
  const double width = 640, right = 28, row_h = 18, top = 60;  // right: room for half the last tick's text
  const double left = std::clamp(static_cast<double>(longest) * kCharWidth + 12, 60.0, 260.0);
  const double plot_w = width - left - right, plot_h = row_h * static_cast<double>(std::max<std::size_t>(1, rows.size()));
  const double height = top + plot_h + 30;
  auto x = [&](double v) { return left + plot_w * (std::clamp(v, x_lo, x_hi) - x_lo) / (x_hi - x_lo); };
  std::string svg = fmt::format(
      "<svg id=\"{}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {:.0f}\" role=\"img\" aria-label=\"{}\">"
      "<title>{}</title><text x=\"8\" y=\"18\" class=\"t\">{}</text><text x=\"8\" y=\"34\" class=\"ax\">{}</text>",
      id, width, height, html_escape(title), html_escape(title), html_escape(title), html_escape(axis_label));
  // The legend: what the dashed line and the shaded band are.
  std::string legend;
  if (std::isfinite(reference)) legend = "dashed line: " + reference_label;
  if (std::isfinite(band.lo) && std::isfinite(band.hi)) legend += (legend.empty() ? "" : "; ") + std::string("shaded: ") + band.label;
  if (!legend.empty()) svg += fmt::format("<text x=\"8\" y=\"50\" class=\"ax legend-text\">{}</text>", html_escape(legend));
  if (std::isfinite(band.lo) && std::isfinite(band.hi))
    svg += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.1f}\" class=\"band\"><title>{}: [{}, {}]</title></rect>",
                       x(band.lo), top, std::max(1.5, x(band.hi) - x(band.lo)), plot_h, html_escape(band.label), fmt_num(band.lo, 4),
                       fmt_num(band.hi, 4));
  const double step = ticks[1] - ticks[0];
  for (double t : ticks)
    svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2:.1f}\" class=\"grid\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3:.1f}\" class=\"ax tick\" text-anchor=\"middle\">{4}</text>",
                       x(t), top, top + plot_h, top + plot_h + 14, tick_text(t, step));
  if (std::isfinite(reference))
    svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2:.1f}\" class=\"ref\"><title>{3}: {4}</title></line>",
                       x(reference), top - 4, top + plot_h, html_escape(reference_label), fmt_num(reference, 4));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const double cy = top + row_h * (static_cast<double>(i) + 0.5);
    const auto label = utf8_length(r.label) > 40 ? utf8_prefix(r.label, 39) + "\u2026" : r.label;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"ax label\" text-anchor=\"end\">{}<title>{}</title></text>", left - 6, cy + 3.5,
                       html_escape(label), html_escape(r.label));
    if (std::isfinite(r.v.lo) && std::isfinite(r.v.hi))
      svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{1:.1f}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" class=\"whisker\"/>", x(r.v.lo), x(r.v.hi), cy);
    if (std::isfinite(r.v.value))
      svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" class=\"dot\"><title>{}: {} {}</title></circle>", x(r.v.value), cy,
                         html_escape(r.label), fmt_num(r.v.value, 4), fmt_interval(r.v, 4));
  }
  return svg + "</svg>";
}

// Vertical bars with interval whiskers and an optional horizontal reference line.
// Readable by construction: the axis runs to a round number in 1-2-5 steps,
// and labels too long for their slot are turned 45 degrees (with room made
// below) instead of overprinting each other; each bar's full label is in its
// tooltip.
std::string bar_chart(const std::string& id, const std::string& title, const std::vector<Bar>& bars, double reference,
                      const std::string& reference_label, const NullBand& band = {}) {
  double data_max = std::isfinite(reference) ? reference : 0;
  if (std::isfinite(band.hi)) data_max = std::max(data_max, band.hi);
  for (auto& b : bars) {
    if (std::isfinite(b.v.hi)) data_max = std::max(data_max, b.v.hi);
    if (std::isfinite(b.v.value)) data_max = std::max(data_max, b.v.value);
  }
  const auto ticks = nice_ticks(data_max);
  const double y_max = ticks.back();
  const double width = 640, left = 48, right = 12, top = 28;
  const double slot_estimate = (width - left - right) / static_cast<double>(std::max<std::size_t>(1, bars.size()));
  std::size_t longest = 0;
  for (auto& b : bars) longest = std::max(longest, utf8_length(b.label));
  const bool rotate = static_cast<double>(longest) * kCharWidth > slot_estimate * 0.9;
  const std::size_t shown = std::min<std::size_t>(longest, 28);
  const double bottom = rotate ? 24 + static_cast<double>(shown) * kCharWidth * 0.71 : 46;
  const double height = 214 + bottom;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto y = [&](double v) { return top + plot_h * (1 - std::clamp(v, 0.0, y_max) / y_max); };
  std::string svg = fmt::format(
      "<svg id=\"{}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">"
      "<title>{}</title><text x=\"{}\" y=\"18\" class=\"t\">{}</text>",
      id, width, height, html_escape(title), html_escape(title), left, html_escape(title));
  if (std::isfinite(band.lo) && std::isfinite(band.hi))
    svg += fmt::format("<rect x=\"{}\" y=\"{:.1f}\" width=\"{}\" height=\"{:.1f}\" class=\"band\"><title>{}: [{}, {}]</title></rect>", left,
                       y(band.hi), width - right - left, std::max(1.5, y(band.lo) - y(band.hi)), html_escape(band.label), fmt_num(band.lo, 4),
                       fmt_num(band.hi, 4));
  for (double v : ticks)
    svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/><text x=\"{}\" y=\"{:.1f}\" class=\"ax tick\" text-anchor=\"end\">{}</text>",
                       left, width - right, y(v), y(v), left - 4, y(v) + 4, tick_text(v, ticks[1] - ticks[0]));
  const double slot = bars.empty() ? plot_w : plot_w / static_cast<double>(bars.size());
  for (std::size_t i = 0; i < bars.size(); ++i) {
    auto& b = bars[i];
    const double x = left + slot * static_cast<double>(i);
    const double bw = std::max(1.0, slot * 0.7);
    if (std::isfinite(b.v.value))
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" class=\"bar\"><title>{}: {} {}</title></rect>",
                         x + slot * 0.15, y(b.v.value), bw, top + plot_h - y(b.v.value), html_escape(b.label), fmt_num(b.v.value, 4),
                         fmt_interval(b.v, 4));
    if (std::isfinite(b.v.lo) && std::isfinite(b.v.hi)) {
      const double cx = x + slot / 2;
      svg += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" class=\"whisker\"/>"
                         "<line x1=\"{3:.1f}\" x2=\"{4:.1f}\" y1=\"{1:.1f}\" y2=\"{1:.1f}\" class=\"whisker\"/>"
                         "<line x1=\"{3:.1f}\" x2=\"{4:.1f}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" class=\"whisker\"/>",
                         cx, y(b.v.lo), y(b.v.hi), cx - bw / 4, cx + bw / 4);
    }
    if (bars.size() <= 30 || i % 5 == 0) {
      const auto label = utf8_length(b.label) > shown ? utf8_prefix(b.label, shown - 1) + "\u2026" : b.label;
      if (rotate)
        svg += fmt::format("<text x=\"{0:.1f}\" y=\"{1:.1f}\" class=\"ax label\" text-anchor=\"end\" transform=\"rotate(-45 {0:.1f} {1:.1f})\">{2}"
                           "<title>{3}</title></text>",
                           x + slot / 2, height - bottom + 10, html_escape(label), html_escape(b.label));
      else
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"ax label\" text-anchor=\"middle\">{}</text>", x + slot / 2,
                           height - bottom + 14, html_escape(label));
    }
  }
  if (std::isfinite(reference))
    svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"ref\"/><text x=\"{}\" y=\"{:.1f}\" class=\"ax ref-label\" text-anchor=\"end\">{}</text>",
                       left, width - right, y(reference), y(reference), width - right, y(reference) - 4, html_escape(reference_label));
  return svg + "</svg>";
}

// The colour scale of a heatmap: white (0) to blue (max), with round ticks.
std::string heat_legend(const std::string& id, double max_value) {
  auto ticks = nice_ticks(max_value);
  while (ticks.size() > 2 && ticks.back() > max_value * (1 + 1e-9)) ticks.pop_back();  // the gradient ends at the largest count
  const double left = 60, width = 300, range = std::max(max_value, ticks.back()), scale = range > 0 ? width / range : 0;
  std::string svg = fmt::format(
      "<svg id=\"{}\" class=\"legend\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 400 44\" role=\"img\" aria-label=\"colour scale: answers\">"
      "<title>colour scale: answers</title><defs><linearGradient id=\"{}-g\"><stop offset=\"0\" stop-color=\"rgb(255,255,255)\"/>"
      "<stop offset=\"1\" stop-color=\"rgb(55,135,255)\"/></linearGradient></defs>"
      "<rect x=\"{}\" y=\"6\" width=\"{:.1f}\" height=\"12\" fill=\"url(#{}-g)\" stroke=\"#999\"/>",
      id, id, left, max_value * scale, id);
  for (double t : ticks)
    svg += fmt::format("<text x=\"{:.1f}\" y=\"32\" class=\"ax tick\" text-anchor=\"middle\">{}</text>", left + t * scale,
                       tick_text(t, ticks.size() > 1 ? ticks[1] - ticks[0] : 1));
  return svg + fmt::format("<text x=\"{}\" y=\"16\" class=\"ax\" text-anchor=\"end\">answers</text></svg>", left - 6);
}

std::string heatmap(const std::string& id, const std::string& title, nlohmann::json& matrix) {
  const std::size_t rows = matrix.size(), cols = rows ? matrix[0].size() : 0;
  const double cell = std::min(22.0, 520.0 / static_cast<double>(std::max<std::size_t>(1, cols)));
  const double left = 60, top = 40;
  double max_value = 0;
  for (auto& row : matrix)
    for (auto& v : row) max_value = std::max(max_value, v.get<double>());
  // As wide as the cells, or as the title and caption when they are wider (few positions).
  const auto caption = fmt::format("output rank 1 to {} (columns); input position 1 to {} (rows)", cols, rows);
  const double width = std::max({left + cell * static_cast<double>(cols) + 10, left + static_cast<double>(utf8_length(title)) * kTitleCharWidth + 10,
                                 left + static_cast<double>(caption.size()) * kCharWidth + 10});
  std::string svg = fmt::format(
      "<svg id=\"{}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {:.0f} {:.0f}\" role=\"img\" aria-label=\"{}\">"
      "<title>{}</title><text x=\"{}\" y=\"18\" class=\"t\">{}</text>"
      "<text x=\"{}\" y=\"34\" class=\"ax\">{}</text>",
      id, width, top + cell * static_cast<double>(rows) + 10, html_escape(title), html_escape(title), left, html_escape(title), left, caption);
  for (std::size_t r = 0; r < rows; ++r) {
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" class=\"ax\" text-anchor=\"end\">{}</text>", left - 4, top + cell * (static_cast<double>(r) + 0.7), r + 1);
    for (std::size_t c = 0; c < cols; ++c) {
      const double v = matrix[r][c].get<double>();
      // In [0, 1] whatever the report holds (a tampered negative count made the colour overflow int).
      const double shade = max_value > 0 && v > 0 ? std::min(1.0, v / max_value) : 0;
      svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"rgb({},{},{})\"><title>position {} -> rank {}: {}</title></rect>",
                         left + cell * static_cast<double>(c), top + cell * static_cast<double>(r), cell, cell,
                         static_cast<int>(255 - 200 * shade), static_cast<int>(255 - 120 * shade), 255, r + 1, c + 1, v);
    }
  }
  return svg + "</svg>" + heat_legend(id + "-legend", max_value);
}

std::string lorenz(const std::string& id, const std::vector<double>& exposure) {
  std::vector<double> sorted = exposure;
  std::sort(sorted.begin(), sorted.end());
  const double total = std::accumulate(sorted.begin(), sorted.end(), 0.0);
  const double size = 240, pad = 36;
  std::string points = fmt::format("{:.1f},{:.1f}", pad, pad + size);
  double running = 0;
  const std::size_t n = sorted.size();
  const std::size_t step = std::max<std::size_t>(1, n / 200);
  for (std::size_t i = 0; i < n; ++i) {
    running += sorted[i];
    if ((i + 1) % step == 0 || i + 1 == n)
      points += fmt::format(" {:.1f},{:.1f}", pad + size * static_cast<double>(i + 1) / static_cast<double>(n),
                            pad + size * (1 - (total > 0 ? running / total : 0)));
  }
  return fmt::format(
      "<svg id=\"{0}\" class=\"chart square\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {1:.0f} {1:.0f}\" role=\"img\" aria-label=\"Lorenz curve of exposure\">"
      "<title>Lorenz curve of exposure</title><text x=\"{2}\" y=\"18\" class=\"t\">Lorenz curve of exposure</text>"
      "<rect x=\"{2}\" y=\"{2}\" width=\"{3}\" height=\"{3}\" class=\"frame\"/>"
      "<line x1=\"{2}\" y1=\"{4}\" x2=\"{4}\" y2=\"{2}\" class=\"ref\"/>"
      "<polyline points=\"{5}\" class=\"curve\"/>"
      "<text x=\"{2}\" y=\"{6}\" class=\"ax\">share of catalog items (least exposed first)</text></svg>",
      id, size + 2 * pad, pad, size, pad + size, points, pad + size + 20);
}

std::string metric_table(nlohmann::json& report, nlohmann::json* baseline) {
  std::string html = "<table><thead><tr><th>metric</th><th>value</th><th>95% interval</th>";
  if (baseline) html += "<th>baseline</th><th>change</th>";
  html += "</tr></thead><tbody>";
  for (auto& h : headlines()) {
    const auto v = headline_value(report["metrics"], h);
    if (!v.present) continue;
    html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td>", html_escape(h.label), fmt_num(v.value, h.precision), fmt_interval(v, h.precision));
    if (baseline) {
      const auto b = headline_value((*baseline)["metrics"], h);
      html += b.present ? fmt::format("<td>{}</td><td>{:+.{}f}</td>", fmt_num(b.value, h.precision), v.value - b.value, std::max(h.precision, 1))
                        : "<td>n/a</td><td>n/a</td>";
    }
    html += "</tr>";
  }
  return html + "</tbody></table>";
}

}  // namespace

static std::string render_html_impl(nlohmann::json& report, nlohmann::json* baseline, const GateResult* gate) {
  auto& p = report["provenance"];
  auto& m = report["metrics"];
  std::string body;
  body += fmt::format("<h1>recbias audit</h1><p class=\"meta\">adapter <code>{}</code><br>dataset {} ({}) · {} users · {} model calls ({} failed) · {}</p>",
                      html_escape(p.value("adapter", "")), html_escape(p["dataset"].value("name", "")),
                      html_escape(p["dataset"].value("format", "")), report["counts"].value("base_requests", std::int64_t{0}),
                      report["counts"].value("calls", std::int64_t{0}), report["counts"].value("failed_calls", std::int64_t{0}), html_escape(p.value("finished", "")));
  if (const auto note = incomplete_note(report); !note.empty()) body += "<p class=\"incomplete\"><strong>" + html_escape(note) + "</strong></p>";
  // The verdict card: one line per audit, what a reviewer reads first.
  if (const auto card = verdict_card(report); !card.empty()) {
    body += "<h2>Verdict</h2><table class=\"card\"><thead><tr><th>audit</th><th>headline [95% interval]</th><th>reference</th>"
            "<th>verdict</th></tr></thead><tbody>";
    for (const auto& line : card) {
      const char* css = line.status == CardStatus::kDetected       ? "detected"
                        : line.status == CardStatus::kNotDetected  ? "clear"
                        : line.status == CardStatus::kInconclusive ? "unsure"
                                                                   : "measured";
      body += fmt::format("<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", css, html_escape(line.audit),
                          html_escape(line.headline), html_escape(line.reference), html_escape(line.verdict));
    }
    if (gate) {
      const auto summary = gate_summary(*gate);
      body += fmt::format("<tr class=\"{}\"><td>gate</td><td>{} rules</td><td>the policy's bounds</td><td>{}</td></tr>",
                          summary.starts_with("PASSED") ? "clear" : summary.starts_with("FAILED") ? "detected" : "unsure",
                          gate->outcomes.size(), html_escape(summary));
    }
    body += "</tbody></table>";
  }
  if (gate) {
    body += "<h2>Gate</h2><table><thead><tr><th>rule</th><th>value</th><th>95% interval</th><th>bound</th><th>verdict</th></tr></thead><tbody>";
    for (auto& o : gate->outcomes)
      body += fmt::format("<tr class=\"{}\"><td>{}</td><td>{}</td><td>[{}, {}]</td><td>{}</td><td>{}: {}</td></tr>",
                          verdict_name(o.verdict) == "FAIL" ? "fail" : "ok", html_escape(o.rule->name), fmt_num(o.value), fmt_num(o.ci.lo),
                          fmt_num(o.ci.hi), html_escape(o.bound), verdict_name(o.verdict), html_escape(o.message));
    body += "</tbody></table>";
  }
  const auto found = findings(report);
  if (!found.empty()) {
    body += "<h2>Findings</h2><ul>";
    for (auto& f : found) body += "<li>" + html_escape(f) + "</li>";
    body += "</ul>";
  }
  body += "<h2>Metrics</h2>" + metric_table(report, baseline);
  if (m.contains("position") && m["position"].contains("selection_rate")) {
    std::vector<Bar> bars;
    for (std::size_t j = 0; j < m["position"]["selection_rate"].size(); ++j)
      bars.push_back({std::to_string(j + 1), value_of(m["position"]["selection_rate"][j])});
    body += "<h2>Position bias</h2><p>" + html_escape(m["position"].value("verdict", "")) + "</p>";
    // The null band: where a position's rate lies when its interval holds
    // the uniform rate (uniform +- the intervals' mean half-width).
    const double uniform = m["position"].value("uniform_rate", std::nan(""));
    double half = 0;
    int halves = 0;
    for (const auto& b : bars)
      if (std::isfinite(b.v.lo) && std::isfinite(b.v.hi)) half += (b.v.hi - b.v.lo) / 2, ++halves;
    const NullBand no_bias = halves && std::isfinite(uniform)
                                 ? NullBand{std::max(0.0, uniform - half / halves), uniform + half / halves, "no position bias (uniform +- 95% sampling error)"}
                                 : NullBand{};
    body += bar_chart("position-selection", "Top-1 selection rate by input position (95% intervals)", bars, uniform, "uniform", no_bias);
    body += heatmap("position-transition", "Input position x output rank", m["position"]["transition_counts"]);
    std::vector<Bar> positive;
    for (auto& q : m["position"]["positive_by_input_position"])
      positive.push_back({fmt::format("{:.0f}", q["position"].get<double>() + 1), value_of(q["ndcg"])});  // any number: never cast to int
    body += bar_chart("position-positive", "NDCG@k of the held-out item by the input position it was placed at", positive, std::nan(""), "");
  }
  if (m.contains("popularity") && m["popularity"].contains("popularity_by_rank")) {
    std::vector<Bar> bars;
    for (std::size_t r = 0; r < m["popularity"]["popularity_by_rank"].size(); ++r) {
      const auto v = value_of(m["popularity"]["popularity_by_rank"][r]);
      if (v.n > 0) bars.push_back({std::to_string(r + 1), v});  // ranks beyond the answers' length are empty
    }
    body += "<h2>Popularity bias</h2>";
    body += bar_chart("popularity-by-rank", "Mean training popularity by output rank", bars, std::nan(""), "");
    if (report.contains("state") && report["state"].contains("popularity"))
      body += lorenz("popularity-lorenz", report["state"]["popularity"]["exposure"].get<std::vector<double>>());
  }
  if (m.contains("fairness") && m["fairness"].contains("attributes")) {
    auto& f = m["fairness"];
    const std::string metric = f.value("test_metric", "serp");
    const auto noise = value_of(f["noise_floor"][metric]);
    body += fmt::format("<h2>Consumer fairness</h2><p>How far each stated value moves the list away from the neutral prompt's "
                        "(1 - {} similarity); the dashed line and the shaded band are what asking the neutral prompt again gives. A dot "
                        "right of the band is an attribute effect; its distance is its size.</p>",
                        html_escape(metric));
    body += "<table><thead><tr><th>attribute</th><th>SNSR</th><th>SNSV</th><th>utility gap (NDCG@k)</th></tr></thead><tbody>";
    for (auto& [name, a] : f["attributes"].items()) {
      const auto r = value_of(a["snsr"][metric]), v = value_of(a["snsv"][metric]), g = value_of(a["utility"]["gap"]);
      body += fmt::format("<tr><td>{}</td><td>{} {}</td><td>{} {}</td><td>{} {}</td></tr>", html_escape(name), fmt_num(r.value),
                          fmt_interval(r), fmt_num(v.value), fmt_interval(v), fmt_num(g.value), fmt_interval(g));
    }
    body += "</tbody></table>";
    // Effects as divergence from the neutral list (1 - similarity), so that
    // the axis is scaled to them; the noise floor (the neutral prompt asked
    // again) is what no attribute effect gives.
    const NullBand noise_band{1 - noise.hi, 1 - noise.lo, "the noise floor's 95% interval (the neutral prompt asked again)"};
    const double overall_ndcg = m.contains("accuracy") && m["accuracy"].contains("ndcg") ? value_of(m["accuracy"]["ndcg"]).value : std::nan("");
    int index = 0;
    for (auto& [name, a] : f["attributes"].items()) {
      std::vector<Bar> values, groups;
      for (auto& [value, entry] : a["values"].items()) {
        const auto v = value_of(entry[metric]);
        values.push_back({value, {1 - v.value, 1 - v.hi, 1 - v.lo, v.n, v.present}});
      }
      for (auto& [value, entry] : a["utility"]["ndcg_by_group"].items()) {
        const auto v = value_of(entry);
        groups.push_back({std::isfinite(v.n) ? fmt::format("{} (n={:.0f})", value, v.n) : value, v});
      }
      body += dot_chart(fmt::format("fairness-{}", index), "Divergence from the neutral list by stated " + name,
                        fmt::format("1 - {} similarity to the neutral prompt's list (0: the same list), with 95% intervals", metric), values,
                        noise_band, 1 - noise.value, "the noise floor");
      body += dot_chart(fmt::format("utility-{}", index), "NDCG@k by real " + name + " group (n = users)",
                        "NDCG@k of the held-out item, with 95% intervals", groups, {}, overall_ndcg, "all users");
      ++index;
    }
  }
  if (m.contains("open") && m["open"].contains("fairllm")) {
    auto& f = m["open"]["fairllm"];
    body += "<h2>FaiRLLM's similarities</h2><p>Candidate-free lists (FaiRLLM's protocol): per attribute, how far apart its values' mean "
            "similarity to the neutral list is (SNSR = max - min; SNSV = their standard deviation), on the strings the model wrote "
            "(" + html_escape(f.value("strings", "")) + "). SERP* in FaiRLLM's published form (at most 0.274 at k = 20).</p>";
    body += "<table><thead><tr><th>attribute</th><th>SNSR Jaccard</th><th>SNSR SERP*</th><th>SNSR PRAG*</th><th>SNSV Jaccard</th></tr></thead><tbody>";
    for (auto& [name, by_metric] : f["snsr"].items()) {
      const auto j = value_of(by_metric["jaccard"]), s = value_of(by_metric["serp"]), pr = value_of(by_metric["prag"]);
      const auto v = value_of(f["snsv"][name]["jaccard"]);
      body += fmt::format("<tr><td>{}</td><td>{} {}</td><td>{} {}</td><td>{} {}</td><td>{} {}</td></tr>", html_escape(name), fmt_num(j.value),
                          fmt_interval(j), fmt_num(s.value), fmt_interval(s), fmt_num(pr.value), fmt_interval(pr), fmt_num(v.value), fmt_interval(v));
    }
    body += "</tbody></table>";
  }
  if (m.contains("grounding") && report.contains("state") && report["state"].contains("grounding") &&
      report["state"]["grounding"].contains("examples") && !report["state"]["grounding"]["examples"].empty()) {
    body += "<h2>Examples of ungrounded output</h2><ul class=\"examples\">";
    for (auto& e : report["state"]["grounding"]["examples"]) body += "<li>" + html_escape(e.at(1).get<std::string>()) + "</li>";
    body += "</ul>";
  }
  if (report.contains("comparison") && report["comparison"].contains("tradeoff")) {
    body += "<h2>Trade-off</h2><p>Each mitigation wraps the audited model; other models stand beside it. All are audited on the same plan. "
            "Multipliers are against the first row.</p><table><thead><tr><th>model</th><th>role</th>";
    for (auto& [label, field] : tradeoff_columns()) body += "<th>" + html_escape(label) + "</th>";
    body += "</tr></thead><tbody>";
    for (auto& row : report["comparison"]["tradeoff"]) {
      const std::string model = row.value("model", "");
      body += "<tr><td><code title=\"" + html_escape(model) + "\">" + html_escape(short_model_label(model)) + "</code></td><td>" +
              html_escape(row.value("role", "")) + "</td>";
      for (auto& [label, field] : tradeoff_columns()) {
        const auto v = value_of(row[field]);
        body += "<td>" + (v.present ? fmt_num(v.value) + " " + fmt_interval(v) : std::string("n/a")) + "</td>";
      }
      body += "</tr>";
    }
    body += "</tbody></table>";
  }
  if (!report["tests"].empty()) {
    body += "<h2>Tests</h2><table><thead><tr><th>test</th><th>method</th><th>p</th><th>p adjusted</th><th>significant</th></tr></thead><tbody>";
    for (auto& t : report["tests"])
      body += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", html_escape(t.value("name", "")),
                          html_escape(t.value("test", "")), fmt_num(t.value("p_value", std::nan(""))), fmt_num(t.value("p_adjusted", std::nan(""))),
                          t.value("significant", false) ? "yes" : "no");
    body += "</tbody></table>";
  }
  const std::string css =
      "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222}"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}"
      "tr.fail td{background:#fde2e2}.incomplete{background:#fde2e2;padding:.5em}table.card tr.detected td{background:#fde2e2}table.card tr.clear td{background:#e3f4e1}table.card tr.unsure td{background:#fff4d6}.meta{color:#555}.chart{width:100%;max-width:680px;display:block;margin:1em 0}"
      ".t{font-size:14px;font-weight:600}.ax{font-size:10px;fill:#555}.grid{stroke:#eee}.bar{fill:#4a78c2}"
      ".whisker{stroke:#111;stroke-width:1.2}.dot{fill:#4a78c2;stroke:#123}.band{fill:#d33;fill-opacity:.12}.ref{stroke:#d33;stroke-dasharray:4 3;stroke-width:1.5}.ref-label{fill:#d33}"
      ".square{max-width:360px}.legend{width:100%;max-width:400px;display:block}.frame{fill:none;stroke:#aaa}.curve{fill:none;stroke:#4a78c2;stroke-width:2}code{font-size:12px;word-break:break-all}";
  return fmt::format("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>recbias audit report</title>"
                     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
                     "<style>{}</style></head><body>{}</body></html>\n",
                     css, body);
}

std::string render_html(const nlohmann::json& report, const nlohmann::json* baseline, const GateResult* gate) {
  return render_copy(report, baseline, [&](nlohmann::json& doc, nlohmann::json* base) { return render_html_impl(doc, base, gate); });
}

}  // namespace recbias
