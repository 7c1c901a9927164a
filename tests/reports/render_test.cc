#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "datasets/loader.h"
#include "reports/gate.h"
#include "reports/render.h"
#include "reports/render_common.h"
#include "tests/reports/report_fixtures.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

const char* kEvil[] = {"<script>alert(1)</script>", "\"><img src=x onerror=alert(2)>", "</svg><script>alert(3)</script>"};

// A report whose model, dataset and attribute strings are hostile.
nlohmann::json evil_report() {
  auto report = make_test_report();
  report["provenance"]["adapter"] = std::string("exec:command=") + kEvil[0];
  report["provenance"]["dataset"]["name"] = kEvil[1];
  auto& attributes = report["metrics"]["fairness"]["attributes"];
  attributes[kEvil[2]] = attributes["gender"];
  attributes[kEvil[2]]["values"][kEvil[0]] = attributes["gender"]["values"]["F"];
  auto examples = nlohmann::json::array();
  for (int i = 0; i < 3; ++i) examples.push_back(nlohmann::json::array({std::to_string(i), kEvil[i]}));
  report["state"]["grounding"]["examples"] = examples;
  return report;
}

}  // namespace

TEST_CASE("HTML escapes every string from models and datasets", "[render][xss]") {
  const auto html = render_html(evil_report(), nullptr, nullptr);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("onerror=alert(2)>") == std::string::npos);
  CHECK_THAT(html, Contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK_THAT(html, Contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
  CHECK_THAT(html, Contains("&lt;/svg&gt;&lt;script&gt;alert(3)&lt;/script&gt;"));
  // Self-contained: nothing is loaded from anywhere.
  CHECK(html.find("src=\"http") == std::string::npos);
  CHECK(html.find("href=\"http") == std::string::npos);
  CHECK_THAT(html, Contains("Content-Security-Policy"));
}

TEST_CASE("Markdown and JUnit escape hostile strings too", "[render][xss]") {
  const auto report = evil_report();
  const auto md = render_markdown(report, nullptr, nullptr);
  // The adapter id appears only inside a code span, where Markdown shows it as text.
  const auto first_script = md.find("<script>");
  CHECK((first_script == std::string::npos || md.find("`exec:command=<script>") + 14 == first_script));
  CHECK(md.find("<script>", first_script == std::string::npos ? 0 : first_script + 1) == std::string::npos);
  CHECK(md.find("\"><img") == std::string::npos);
  const auto policy = parse_policy(nlohmann::json::parse(R"({"rules": [{"name": "<script>x</script>", "metric": "position.tvd", "max": 0.01}]})"), "p");
  const auto gate = evaluate_gate(policy, report, nullptr);
  const auto xml = render_junit(gate, report);
  CHECK(xml.find("<script>") == std::string::npos);
  CHECK_THAT(xml, Contains("name=\"&lt;script&gt;x&lt;/script&gt;\""));
  CHECK_THAT(xml, Contains("<failure message="));
  CHECK_THAT(xml, Contains("tests=\"1\" failures=\"1\""));
}

TEST_CASE("the HTML report has every chart, and Markdown has the verdict, findings and before/after", "[render]") {
  const auto report = make_test_report();
  const auto html = render_html(report, &report, nullptr);
  for (const char* id : {"position-selection", "position-transition", "position-positive", "popularity-by-rank", "popularity-lorenz",
                         "fairness-0", "utility-0"})
    CHECK_THAT(html, Contains(std::string("id=\"") + id + "\""));
  CHECK_THAT(html, Contains("<th>baseline</th>"));
  const auto md = render_markdown(report, &report, nullptr);
  CHECK_THAT(md, Contains("## recbias audit: "));
  CHECK_THAT(md, Contains("### Findings"));
  CHECK_THAT(md, Contains("| metric | value | 95% interval | baseline | change |"));
  CHECK_THAT(md, Contains("+0.000"));
}

TEST_CASE("headless Chromium renders the HTML report with its charts", "[render][browser]") {
  const char* chromium = "/usr/bin/chromium";
  if (!std::filesystem::exists(chromium)) {
    skip_missing("chromium is not installed (apt-get install chromium)");
    return;
  }
  TempDir dir;
  write_file(dir / "report.html", render_html(make_test_report(), nullptr, nullptr));
  write_file(dir / "blank.html", "<!DOCTYPE html><html><body></body></html>");
  const std::string flags = std::string(chromium) +
                            " --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
                            " --disable-sync --no-first-run --window-size=1000,2400 --user-data-dir=" + (dir / "profile");
  REQUIRE(std::system((flags + " --dump-dom file://" + (dir / "report.html") + " > " + (dir / "dom.html") + " 2>/dev/null").c_str()) == 0);
  const auto dom = read_file(dir / "dom.html");
  CHECK_THAT(dom, Contains("<svg id=\"position-selection\""));
  CHECK_THAT(dom, Contains("<svg id=\"popularity-lorenz\""));
  CHECK_THAT(dom, Contains("<svg id=\"fairness-0\""));
  REQUIRE(std::system((flags + " --screenshot=" + (dir / "report.png") + " file://" + (dir / "report.html") + " >/dev/null 2>&1").c_str()) == 0);
  REQUIRE(std::system((flags + " --screenshot=" + (dir / "blank.png") + " file://" + (dir / "blank.html") + " >/dev/null 2>&1").c_str()) == 0);
  // A blank page compresses to almost nothing; the report's charts and tables do not.
  const auto report_png = std::filesystem::file_size(dir / "report.png");
  const auto blank_png = std::filesystem::file_size(dir / "blank.png");
  INFO("report.png " << report_png << " bytes, blank.png " << blank_png << " bytes");
  CHECK(report_png > 10 * blank_png);
}

TEST_CASE("a report whose fields have unexpected types or are missing is bad input, not undefined behaviour", "[render][bad-input]") {
  // Found by fuzzing: reading a missing key through const access was a
  // use-after-free; a null where a number belongs escaped as a library error.
  const auto report = nlohmann::json::parse(R"({"provenance": {}, "counts": {},
      "metrics": {"position": {"selection_rate": [], "positive_by_input_position": [{}]}}, "tests": []})");
  CHECK_THROWS_AS(render_html(report, nullptr, nullptr), BadInput);
  CHECK_THROWS_WITH(render_html(report, nullptr, nullptr), Contains("report: a field has an unexpected type or value"));
}

TEST_CASE("the transition heatmap's colours stay within 0-255 whatever counts a report holds", "[render][bad-input]") {
  // Found by fuzzing (fuzz/regressions/report/heatmap-negative-count.json):
  // a negative count made the cell's colour 255 - 200 * shade overflow int.
  auto report = make_test_report();
  auto& counts = report["metrics"]["position"]["transition_counts"];
  REQUIRE(counts.size() >= 2);
  counts[0][0] = -1000000000;
  const auto html = render_html(report, nullptr, nullptr);
  CHECK_THAT(html, Contains("fill=\"rgb(255,255,255)\"><title>position 1 -> rank 1: -1000000000</title>"));
  counts[1][0] = 1e300;  // the largest: full colour, and every other cell next to none
  const auto huge = render_html(report, nullptr, nullptr);
  CHECK_THAT(huge, Contains("fill=\"rgb(55,135,255)\"><title>position 2 -> rank 1: 1e+300</title>"));
  CHECK_THAT(huge, Contains("fill=\"rgb(255,255,255)\"><title>position 1 -> rank 1: -1000000000</title>"));
}

TEST_CASE("numbers a report holds as floats are never cast to int: positions and counts of any size render", "[render][bad-input]") {
  // Found by fuzzing (fuzz/regressions/report/position-1e300.json): a
  // position of 1e300 was read with get<int>() (undefined behaviour; -2147483647
  // on x86), and counts read as int overflow beyond 2^31.
  auto report = make_test_report();
  auto& positions = report["metrics"]["position"]["positive_by_input_position"];
  REQUIRE(positions.size() >= 2);
  positions[0]["position"] = 1e300;
  positions[1]["position"] = 4.0;  // a whole float is its integer
  report["counts"]["calls"] = 9.0e18;
  const auto html = render_html(report, nullptr, nullptr);
  CHECK_THAT(html, !Contains("-2147483647"));
  CHECK_THAT(html, Contains(">5<"));
  CHECK_THAT(html, Contains("9000000000000000000"));
  CHECK_THAT(render_markdown(report, nullptr, nullptr), Contains("9000000000000000000"));
}

TEST_CASE("constrained answers that broke the schema are a finding, and none broken is none", "[render][structured]") {
  auto report = make_test_report();
  auto& grounding = report["metrics"]["grounding"];
  grounding["constrained_responses"] = 200;
  grounding["constraint_ignored_rate"] = {{"value", 0.25}, {"ci", {0.18, 0.33}}, {"n", 200}};
  auto md = render_markdown(report, nullptr, nullptr);
  CHECK_THAT(md, Contains("Structured outputs: 0.2500 of the constrained answers broke the JSON schema \\[0.1800, 0.3300\\]"));
  grounding["constraint_ignored_rate"]["value"] = 0.0;
  grounding["constraint_ignored_rate"]["ci"] = {0.0, 0.02};
  md = render_markdown(report, nullptr, nullptr);
  CHECK_THAT(md, !Contains("Structured outputs"));
}

TEST_CASE("the verdict card says per audit what was found, against which reference, and how sure", "[render][card]") {
  auto report = make_test_report();
  auto md = render_markdown(report, nullptr, nullptr);
  const auto at = md.find("### Verdict");
  REQUIRE(at != std::string::npos);
  CHECK(at < md.find("### Findings"));  // at the top, before everything else
  CHECK_THAT(md, Contains("| position | TVD from uniform "));
  CHECK_THAT(md, Contains("expected with no bias"));
  CHECK_THAT(md, Contains("| grounding | hallucination rate "));
  CHECK_THAT(md, Contains("| accuracy | NDCG@k "));
  // Each verdict follows its numbers: a clear position bias is detected ...
  auto& p = report["metrics"]["position"];
  p["chi_square"]["p_adjusted"] = 1e-9;
  CHECK_THAT(render_markdown(report, nullptr, nullptr), Contains("**detected (p\\_adj = 1e-09)**"));
  // ... unless it is below the practical threshold (position.tvd, 0.02 by default) ...
  const auto tvd = p["tvd"];
  p["tvd"] = {{"value", 0.01}, {"ci", {0.005, 0.015}}, {"n", 1000}};
  CHECK_THAT(render_markdown(report, nullptr, nullptr), Contains("detected but negligible: below the practical threshold 0.020"));
  p["tvd"] = tvd;
  // ... no rejection with power is "not detected", without power "inconclusive".
  p["chi_square"]["p_adjusted"] = 0.5;
  p["power_tvd_0_05"] = 0.93;
  CHECK_THAT(render_markdown(report, nullptr, nullptr), Contains("not detected (power 0.93 against any TVD-0.05 bias)"));
  p["power_tvd_0_05"] = 0.31;
  CHECK_THAT(render_markdown(report, nullptr, nullptr), Contains("inconclusive: power only 0.31 against TVD 0.05"));
  // Hallucinations: an exact zero whose lower end is rounding noise is none.
  report["metrics"]["grounding"]["hallucination_rate"] = {{"value", 0.0}, {"ci", {8.5e-22, 1.5e-5}}, {"n", 500}};
  CHECK_THAT(render_markdown(report, nullptr, nullptr), Contains("none observed"));
  report["metrics"]["grounding"]["hallucination_rate"] = {{"value", 0.05}, {"ci", {0.03, 0.07}}, {"n", 500}};
  CHECK_THAT(render_markdown(report, nullptr, nullptr), Contains("**detected: names items that are not candidates**"));
  // The gate's result joins the card; the HTML has the same card, coloured by verdict.
  const auto policy = parse_policy(nlohmann::json::parse(R"({"rules": [{"metric": "position.tvd", "max": 1.0}]})"), "p");
  const auto gate = evaluate_gate(policy, report, nullptr);
  CHECK_THAT(render_markdown(report, nullptr, &gate), Contains("| gate | 1 rules | the policy's bounds | **PASSED: all 1 gate rules** |"));
  const auto html = render_html(report, nullptr, &gate);
  CHECK_THAT(html, Contains("<h2>Verdict</h2><table class=\"card\">"));
  CHECK_THAT(html, Contains("<tr class=\"detected\"><td>grounding</td>"));
  CHECK_THAT(html, Contains("<td>gate</td>"));
  CHECK(html.find("<h2>Verdict</h2>") < html.find("<svg"));
}

TEST_CASE("charts are readable by construction: round ticks, turned long labels, a colour legend, short model labels", "[render][readable]") {
  auto report = make_test_report();
  // 21 values of 60 characters under one attribute: the labels must turn, not overprint.
  auto& attributes = report["metrics"]["fairness"]["attributes"];
  auto gender = attributes["gender"];
  nlohmann::json values = nlohmann::json::object();
  for (int i = 0; i < 21; ++i) values[fmt::format("{:02} a very long occupation name that runs on and on and on .", i)] = gender["values"]["F"];
  gender["values"] = values;
  attributes["occupation"] = gender;
  // 60 input positions: their numbers no longer fit under the bars side by side.
  auto& rates = report["metrics"]["position"]["selection_rate"];
  while (rates.size() < 60) rates.push_back(rates[0]);
  const auto html = render_html(report, nullptr, nullptr);
  // Every tick label (vertical axes: anchored at the end; horizontal: in the middle) is a multiple of a 1-2-5 step.
  int ticks = 0;
  for (const std::string needle : {"class=\"ax tick\" text-anchor=\"end\">", "class=\"ax tick\" text-anchor=\"middle\">"})
  for (std::size_t at = 0; (at = html.find(needle, at)) != std::string::npos;) {
    at += needle.size();
    const auto text = html.substr(at, html.find('<', at) - at);
    const double v = std::stod(text);
    // i x (1, 2 or 5) x 10^k with i <= 5 has at most two significant
    // digits; a raw division (0.978, 144.437) has more.
    std::string digits;
    for (char c : text)
      if (c >= '0' && c <= '9') digits += c;
    digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size()));
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    INFO(text);
    CHECK(v >= 0);
    CHECK(digits.size() <= 2);
    ++ticks;
  }
  CHECK(ticks > 20);
  for (const char* raw : {"0.978", "0.733", "144.437", "192.582"}) CHECK(html.find(std::string(">") + raw + "<") == std::string::npos);
  CHECK_THAT(html, Contains("transform=\"rotate(-45"));  // the 60 position numbers turn
  // Many long category names: one row each, cut at 40 characters, the full name in the tooltip.
  CHECK_THAT(html, Contains(">00 a very long occupation name that run\u2026<title>00 a very long occupation name that runs on and on and on .</title>"));
  CHECK_THAT(html, Contains("id=\"position-transition-legend\""));
  // Trade-off rows: short labels, the full id in the title attribute.
  CHECK(render::short_model_label("permutation(m=4,agg=mean,design=cyclic,seed=0)<-openai:base_url=http://h:8000/v1,model=qwen2.5-7b,"
                                  "temperature=0,top_p=1") == "permutation(m=4,agg=mea\u2026) <- openai model=qwen2.5-7b");
  CHECK(render::short_model_label("torchscript:path=/work/results/models/abc/reference.pt,sha256=61,device=cpu") ==
        "torchscript path=reference.pt");
  CHECK(render::short_model_label("popularity") == "popularity");
}

namespace {

// A report whose attribute has 24 values with 60-character names (and so 24
// utility groups of such names), with an effect on some of them.
nlohmann::json long_label_report() {
  auto s = synthetic_setup(240, 60, 8, 11);
  std::vector<std::string> values;
  for (int i = 0; i < 24; ++i) {
    auto name = fmt::format("occupation number {:02d} of a very long and descriptive kind", i);
    name.resize(60, '.');
    values.push_back(name);
  }
  s.workload.attributes = {{"occupation", values}};
  for (auto& q : s.requests.requests) q.request.user.attributes = {{"occupation", values[std::stoul(q.request.user.id) % values.size()]}};
  AuditOptions options;
  options.attributes = s.workload.attributes;
  options.bootstrap_replicates = 30;
  auto model = simulated("position=llmrank,popularity_tilt=0.5,shift.occupation." + values[3] + "=2,shift.occupation." + values[17] + "=0.7",
                         s.context);
  nlohmann::ordered_json provenance = {{"adapter", model->id()}, {"dataset", {{"name", "synthetic"}, {"format", "memory"}}},
                                       {"finished", "2026-11-29T00:00:00Z"}};
  auto run = run_audit(*model, s.workload, s.requests, options, {}, provenance);
  return nlohmann::json::parse(report_to_text(run.report));
}

// Measures every SVG text box of `html` as Chromium lays it out at 1280 px:
// a copy of the page gets a script (the report itself runs none: its CSP
// forbids scripts) that writes, per chart, the chart's box and each text's
// four corners in page coordinates (getBBox through getScreenCTM, so rotated
// labels are measured as rotated rectangles) into the document, which
// --dump-dom prints. A screenshot of the page is kept in
// browser-artifacts/<name>.png under the test's working folder.
nlohmann::json rendered_boxes(const std::string& chromium, const TempDir& dir, const std::string& name, std::string html) {
  const auto csp = html.find("<meta http-equiv=\"Content-Security-Policy\"");
  REQUIRE(csp != std::string::npos);
  html.erase(csp, html.find('>', csp) + 1 - csp);
  const std::string script = R"JS(<script>
const charts = [];
for (const svg of document.querySelectorAll('svg')) {
  const r = svg.getBoundingClientRect();
  const texts = [];
  for (const t of svg.querySelectorAll('text')) {
    const b = t.getBBox();
    if (b.width === 0 || b.height === 0) continue;
    const m = t.getScreenCTM();
    const quad = [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]].map(([x, y]) => {
      const p = new DOMPoint(x, y).matrixTransform(m);
      return [p.x, p.y];
    });
    texts.push({text: t.firstChild ? t.firstChild.nodeValue : '', quad: quad});
  }
  charts.push({id: svg.id, box: [r.left, r.top, r.right, r.bottom], texts: texts});
}
const pre = document.createElement('pre');
pre.id = 'recbias-boxes';
pre.textContent = JSON.stringify(charts);
document.body.appendChild(pre);
</script>)JS";
  html.insert(html.rfind("</body>"), script);
  const auto page = dir / (name + ".html");
  write_file(page, html);
  const std::string flags = chromium + " --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
                                       " --disable-sync --no-first-run --hide-scrollbars --user-data-dir=" + (dir / "profile");
  const auto dom = dir / (name + ".dom");
  REQUIRE(std::system((flags + " --window-size=1280,900 --dump-dom file://" + page + " > " + dom + " 2>/dev/null").c_str()) == 0);
  std::filesystem::create_directories("browser-artifacts");
  const auto shot = (std::filesystem::current_path() / "browser-artifacts" / (name + ".png")).string();
  std::filesystem::remove(shot);
  std::system((flags + " --window-size=1280,7000 --screenshot=" + shot + " file://" + page + " >/dev/null 2>&1").c_str());
  CHECK(std::filesystem::exists(shot));
  WARN("screenshot: " << shot);
  auto text = read_file(dom);
  const auto open = text.find("<pre id=\"recbias-boxes\">");
  REQUIRE(open != std::string::npos);
  const auto start = open + std::string("<pre id=\"recbias-boxes\">").size();
  std::string json = text.substr(start, text.find("</pre>", start) - start);
  for (auto [from, to] : {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}})
    for (std::size_t at = 0; (at = json.find(from, at)) != std::string::npos; at += std::string(to).size()) json.replace(at, std::string(from).size(), to);
  return nlohmann::json::parse(json);
}

using Quad = std::vector<std::pair<double, double>>;

Quad quad_of(const nlohmann::json& q) {
  Quad out;
  for (const auto& p : q) out.push_back({p[0].get<double>(), p[1].get<double>()});
  return out;
}

// Separating-axis test for two convex quadrilaterals: true when they
// overlap by more than `slack` px along every edge normal of both.
bool overlap(const Quad& a, const Quad& b, double slack) {
  for (const Quad* shape : {&a, &b})
    for (std::size_t i = 0; i < shape->size(); ++i) {
      const auto [x1, y1] = (*shape)[i];
      const auto [x2, y2] = (*shape)[(i + 1) % shape->size()];
      const double nx = y1 - y2, ny = x2 - x1, norm = std::hypot(nx, ny);
      if (norm == 0) continue;
      auto project = [&](const Quad& s) {
        double lo = 1e300, hi = -1e300;
        for (auto [x, y] : s) lo = std::min(lo, (x * nx + y * ny) / norm), hi = std::max(hi, (x * nx + y * ny) / norm);
        return std::pair{lo, hi};
      };
      const auto [alo, ahi] = project(a);
      const auto [blo, bhi] = project(b);
      if (ahi - slack <= blo || bhi - slack <= alo) return false;
    }
  return true;
}

// Every pair of texts in one chart that overlap, and every text that runs
// outside its chart, as readable lines.
std::vector<std::string> layout_problems(const nlohmann::json& charts) {
  std::vector<std::string> problems;
  for (const auto& chart : charts) {
    const auto& box = chart["box"];
    const auto& texts = chart["texts"];
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const auto qi = quad_of(texts[i]["quad"]);
      for (auto [x, y] : qi)
        if (x < box[0].get<double>() - 1 || x > box[2].get<double>() + 1 || y < box[1].get<double>() - 1 || y > box[3].get<double>() + 1) {
          problems.push_back(fmt::format("{}: \"{}\" runs outside the chart", chart["id"].get<std::string>(), texts[i]["text"].get<std::string>()));
          break;
        }
      for (std::size_t j = i + 1; j < texts.size(); ++j)
        if (overlap(qi, quad_of(texts[j]["quad"]), 0.5))
          problems.push_back(fmt::format("{}: \"{}\" overlaps \"{}\"", chart["id"].get<std::string>(), texts[i]["text"].get<std::string>(),
                                         texts[j]["text"].get<std::string>()));
    }
  }
  return problems;
}

}  // namespace

TEST_CASE("the overlap check sees overlapping and separate boxes, rotated or not", "[render][browser]") {
  const Quad a = {{0, 0}, {10, 0}, {10, 5}, {0, 5}};
  CHECK(overlap(a, {{5, 2}, {15, 2}, {15, 7}, {5, 7}}, 0.5));
  CHECK_FALSE(overlap(a, {{10.2, 0}, {20, 0}, {20, 5}, {10.2, 5}}, 0.5));  // touching within the slack
  // Two 45-degree labels side by side: their axis-aligned boxes overlap, the labels do not.
  const Quad r1 = {{0, 10}, {10, 0}, {12, 2}, {2, 12}}, r2 = {{4, 10}, {14, 0}, {16, 2}, {6, 12}};
  CHECK_FALSE(overlap(r1, r2, 0.5));
  CHECK(overlap(r1, {{1, 10}, {11, 0}, {13, 2}, {3, 12}}, 0.5));
  const auto problems = layout_problems(nlohmann::json::parse(
      R"([{"id": "c", "box": [0, 0, 100, 50], "texts": [{"text": "a", "quad": [[0,0],[10,0],[10,5],[0,5]]},
                                                       {"text": "b", "quad": [[5,2],[15,2],[15,7],[5,7]]},
                                                       {"text": "c", "quad": [[95,40],[120,40],[120,45],[95,45]]}]}])"));
  REQUIRE(problems.size() == 2);
  CHECK(problems[0] == "c: \"a\" overlaps \"b\"");
  CHECK(problems[1] == "c: \"c\" runs outside the chart");
}

namespace {

const std::string kChromium = "/usr/bin/chromium";

// Renders `report` in Chromium and checks that no label overlaps another or
// leaves its chart.
void check_layout(const TempDir& dir, const std::string& name, const nlohmann::json& report, std::size_t min_charts = 8) {
  const auto charts = rendered_boxes(kChromium, dir, name, render_html(report, nullptr, nullptr));
  std::size_t texts = 0;
  for (const auto& c : charts) texts += c["texts"].size();
  INFO(name << ": " << charts.size() << " charts, " << texts << " text boxes");
  WARN(name << ": " << charts.size() << " charts, " << texts << " text boxes measured");
  CHECK(charts.size() >= min_charts);  // the page was measured, not empty
  CHECK(texts >= 7 * min_charts);
  const auto problems = layout_problems(charts);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
}

}  // namespace

TEST_CASE("in Chromium at 1280 px no chart label overlaps another or leaves its chart, with 24 values of 60-character names",
          "[render][browser]") {
  if (!std::filesystem::exists(kChromium)) {
    skip_missing("chromium is not installed (apt-get install chromium)");
    return;
  }
  TempDir dir;
  check_layout(dir, "report-test", make_test_report());
  const auto long_labels = long_label_report();
  check_layout(dir, "report-long-labels", long_labels);
  // The fairness charts show the effect on a scale that separates it from no effect.
  const auto html = render_html(long_labels, nullptr, nullptr);
  CHECK_THAT(html, Contains("Divergence from the neutral list by stated occupation"));
  CHECK_THAT(html, Contains("shaded: the noise floor"));
  CHECK_THAT(html, Contains("(n=10)"));  // utility groups show their sizes
  // Any report, e.g. the main job's: RECBIAS_LAYOUT_REPORT=results/run-.../report.json.
  if (const char* extra = std::getenv("RECBIAS_LAYOUT_REPORT"); extra && *extra)
    check_layout(dir, "report-extra", nlohmann::json::parse(read_file(extra)), 1);
}

TEST_CASE("in Chromium, a MovieLens 100K audit's report (21 occupations, 7 ages) has no overlapping or escaping label", "[render][browser]") {
  if (!std::filesystem::exists(kChromium)) {
    skip_missing("chromium is not installed (apt-get install chromium)");
    return;
  }
  RECBIAS_REQUIRE_DATASET(path, "ml-100k", "u.data");
  const auto workload = split_leave_one_out(load_dataset(path));
  CandidateOptions candidates;
  candidates.max_users = 150;
  candidates.seed = 3;
  const auto requests = build_requests(workload, candidates);
  auto training = std::make_shared<std::vector<std::vector<ItemIndex>>>();
  for (const auto& u : workload.users) training->push_back(u.history);
  const AdapterContext context{workload.catalog, training, nullptr};
  AuditOptions options;
  options.attributes = workload.attributes;
  options.bootstrap_replicates = 30;
  options.permutations = 4;
  auto model = simulated("relevance=popularity,position=llmrank,shift.occupation.doctor=1.5,shift.age.56+=0.8", context);
  nlohmann::ordered_json provenance = {{"adapter", model->id()}, {"dataset", {{"name", "ml-100k"}, {"format", "movielens-100k"}}},
                                       {"finished", "2026-11-29T00:00:00Z"}};
  const auto run = run_audit(*model, workload, requests, options, {}, provenance);
  TempDir dir;
  check_layout(dir, "report-movielens", nlohmann::json::parse(report_to_text(run.report)));
}

TEST_CASE("the Markdown page opens on the verdict, folds long tables, and stays within GitHub's comment limit", "[render][markdown]") {
  auto report = make_test_report();
  const auto small = render_markdown(report, nullptr, nullptr);
  CHECK(small.size() < kMarkdownLimit);
  CHECK(small.find("### Verdict") < small.find("### Metrics"));
  CHECK_THAT(small, Contains("<details><summary>Metrics ("));  // more than 8 headline rows: folded
  CHECK_THAT(small, !Contains("omitted"));
  // 3,000 attributes with long names and a 400-row trade-off: far beyond the limit unfolded.
  auto& attributes = report["metrics"]["fairness"]["attributes"];
  const auto gender = attributes["gender"];
  for (int i = 0; i < 3000; ++i) attributes[fmt::format("attribute {:04d} with a long descriptive name", i)] = gender;
  auto rows = nlohmann::json::array();
  for (int i = 0; i < 400; ++i) {
    nlohmann::json row = {{"model", fmt::format("permutation(m={})<-simulated:{}", i, std::string(80, 'x'))}, {"role", "mitigation"}};
    rows.push_back(row);
  }
  report["comparison"]["tradeoff"] = rows;
  const auto big = render_markdown(report, nullptr, nullptr);
  INFO("page of " << big.size() << " characters");
  CHECK(big.size() <= kMarkdownLimit);
  CHECK(big.size() > kMarkdownLimit * 3 / 4);  // it filled the page rather than dropping everything
  CHECK(big.starts_with("## recbias audit: "));
  CHECK_THAT(big, Contains("### Verdict"));
  CHECK_THAT(big, Contains("<details><summary>Fairness by attribute (3001 rows)</summary>"));
  CHECK_THAT(big, Contains("<details><summary>Trade-off (400 rows)</summary>"));
  CHECK_THAT(big, Contains("more rows omitted to keep this page within GitHub's 65536-character comment limit"));
  CHECK_THAT(big, Contains("<sub>recbias "));  // the footer survives
  // Every <details> is closed.
  std::size_t open = 0, close = 0;
  for (std::size_t at = 0; (at = big.find("<details>", at)) != std::string::npos; ++at) ++open;
  for (std::size_t at = 0; (at = big.find("</details>", at)) != std::string::npos; ++at) ++close;
  CHECK(open == close);
  CHECK(open >= 3);
}
