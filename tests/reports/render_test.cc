#include <cstdlib>
#include <filesystem>

#include <catch2/catch.hpp>
#include <fmt/format.h>

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
  const auto html = render_html(report, nullptr, nullptr);
  // Every tick label is a multiple of a 1-2-5 step.
  const std::string needle = "class=\"ax tick\" text-anchor=\"end\">";
  std::size_t at = 0;
  int ticks = 0;
  while ((at = html.find(needle, at)) != std::string::npos) {
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
  CHECK(ticks > 10);
  for (const char* raw : {"0.978", "0.733", "144.437", "192.582"}) CHECK(html.find(std::string(">") + raw + "<") == std::string::npos);
  CHECK_THAT(html, Contains("transform=\"rotate(-45"));
  CHECK_THAT(html, Contains("<title>00 a very long occupation name that runs on and on and on .</title>"));
  CHECK_THAT(html, Contains("id=\"position-transition-legend\""));
  // Trade-off rows: short labels, the full id in the title attribute.
  CHECK(render::short_model_label("permutation(m=4,agg=mean,design=cyclic,seed=0)<-openai:base_url=http://h:8000/v1,model=qwen2.5-7b,"
                                  "temperature=0,top_p=1") == "permutation(m=4,agg=mea\u2026) <- openai model=qwen2.5-7b");
  CHECK(render::short_model_label("torchscript:path=/work/results/models/abc/reference.pt,sha256=61,device=cpu") ==
        "torchscript path=reference.pt");
  CHECK(render::short_model_label("popularity") == "popularity");
}
