// `recbias report --trend r1.json r2.json ...`: each headline metric over a
// series of reports (releases), with intervals, and a flag where two
// consecutive reports differ beyond the interval of their difference
// (paired when they come from the same plan and seed, else unpaired:
// gate.h's metric_change). Rendered as Markdown (a PR comment or a release
// note) or one self-contained HTML page (a table and one SVG chart per
// metric). The gate's drift rule reads the same series (gate.h).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/metric.h"
#include "reports/gate.h"

namespace recbias {

struct TrendReport {
  std::string label;      // shown as the column head (file name, or given)
  nlohmann::json report;  // schema-checked
};

// Oldest first by provenance.finished (ISO 8601 UTC times sort as text);
// reports without it keep their given place relative to each other and go
// after those with it. Stable.
void order_by_provenance(std::vector<TrendReport>& reports);

struct TrendMetric {
  const char* label;
  const char* path;  // below "metrics"
  int precision;
  bool higher_is_better;
};
// The headline metrics a trend shows (those with an interval that the
// audits report for every model: position, popularity, grounding, accuracy,
// cost).
const std::vector<TrendMetric>& trend_metrics();

struct TrendStep {
  bool comparable = false;  // both reports have the metric
  MetricChange change;      // later - earlier
  bool changed = false;     // the interval of the change excludes 0
};

struct TrendRow {
  const TrendMetric* metric = nullptr;
  std::vector<std::optional<Metric>> values;  // one per report
  std::vector<TrendStep> steps;               // one per consecutive pair
};

struct Trend {
  std::vector<std::string> labels;
  std::vector<std::string> finished;  // provenance.finished, "" when absent
  std::vector<TrendRow> rows;         // metrics present in at least one report
};

// BadInput when fewer than two reports are given.
Trend build_trend(const std::vector<TrendReport>& reports);

std::string render_trend_markdown(const Trend& trend);
std::string render_trend_html(const Trend& trend);

}  // namespace recbias
