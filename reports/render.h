// Renderers of a report: Markdown for pull-request comments, one
// self-contained HTML page with inline SVG charts for reviewers, and JUnit
// XML (one test case per gate rule) for CI systems.
//
// Every string that comes from a model, a dataset or the user (adapter ids,
// dataset names, attribute values, hallucinated titles) is escaped for the
// output format; the HTML loads nothing and runs no script.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "reports/gate.h"

namespace recbias {

// GitHub's limit on a comment's characters; render_markdown's pages stay within it.
constexpr std::size_t kMarkdownLimit = 65536;

// `gate` (optional) adds the rule table and decides the verdict line;
// `baseline` (optional) adds before/after columns. The verdict card opens
// the page; tables and lists longer than 8 rows are folded in <details>; a
// page that would exceed kMarkdownLimit (a PR comment) drops rows from its
// longest folded tables, saying how many.
std::string render_markdown(const nlohmann::json& report, const nlohmann::json* baseline, const GateResult* gate);
std::string render_html(const nlohmann::json& report, const nlohmann::json* baseline, const GateResult* gate);
std::string render_junit(const GateResult& gate, const nlohmann::json& report);

std::string html_escape(std::string_view text);
std::string xml_escape(std::string_view text);
// Escapes Markdown table and inline syntax (| ` * _ < > [ ]) and newlines.
std::string markdown_escape(std::string_view text);

}  // namespace recbias
