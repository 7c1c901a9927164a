#include <fmt/format.h>

#include "core/json_errors.h"
#include "reports/render.h"
#include "reports/render_common.h"

namespace recbias {

using namespace render;

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') out += "?";
        else out.push_back(c);
    }
  }
  return out;
}

static std::string render_junit_impl(const GateResult& gate, nlohmann::json& report) {
  std::size_t failures = 0, skipped = 0;
  for (auto& o : gate.outcomes) {
    failures += o.verdict == Verdict::kFail;
    skipped += o.verdict == Verdict::kInconclusive;
  }
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format("<testsuites name=\"recbias\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n", gate.outcomes.size(), failures, skipped);
  xml += fmt::format("  <testsuite name=\"recbias gate: {}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n",
                     xml_escape(report["provenance"].value("adapter", "")), gate.outcomes.size(), failures, skipped);
  for (auto& o : gate.outcomes) {
    xml += fmt::format("    <testcase classname=\"recbias.gate\" name=\"{}\">\n", xml_escape(o.rule->name));
    const auto detail = fmt::format("{} = {} [{}, {}]; bound: {}; {}", o.rule->metric, fmt_num(o.value), fmt_num(o.ci.lo), fmt_num(o.ci.hi),
                                    o.bound, o.message);
    if (o.verdict == Verdict::kFail)
      xml += fmt::format("      <failure message=\"{}\">{}</failure>\n", xml_escape(o.message), xml_escape(detail));
    else if (o.verdict == Verdict::kInconclusive)
      xml += fmt::format("      <skipped message=\"inconclusive: {}\"/>\n", xml_escape(o.message));
    xml += fmt::format("      <system-out>{}</system-out>\n    </testcase>\n", xml_escape(detail));
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

std::string render_junit(const GateResult& gate, const nlohmann::json& report) {
  return render_copy(report, nullptr, [&](nlohmann::json& doc, nlohmann::json*) { return render_junit_impl(gate, doc); });
}

}  // namespace recbias
