// The report reader: arbitrary JSON validated against the report schema and,
// when valid, rendered to Markdown and HTML (what `recbias report` does).
#include <cstdint>
#include <string>

#include "core/errors.h"
#include "core/json_io.h"
#include "fuzz/json_mutator.h"  // structure-aware mutations of the report
#include "reports/render.h"
#include "reports/schema.h"

using namespace recbias;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto report = parse_json(text, "report.json");
    check_report(report, "report.json");
    render_markdown(report, nullptr, nullptr);
    render_html(report, nullptr, nullptr);
  } catch (const Error&) {
  }
  return 0;
}
