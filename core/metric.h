// A metric as reports carry it — {"value": v, "ci": [lo, hi], "n": n}, or a
// bare number — and the one checked reader of it and of dotted metric paths
// ("position.selection_rate.0"), used by the gate, the renderers, the
// trade-off table and the CLI summary. Reports are untrusted: every access
// is checked (nlohmann's const operator[] on a missing key or index is
// undefined behaviour), and anything of the wrong shape reads as absent or
// NaN, never as a crash.
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/stats.h"

namespace recbias {

struct Metric {
  double value = std::nan("");
  Interval ci{std::nan(""), std::nan("")};
  double n = std::nan("");  // units behind the value (users, picks); NaN when not given
};

namespace metric_detail {
template <class Json>
double number(const Json& j) {
  return j.is_number() ? j.template get<double>() : std::nan("");
}
}  // namespace metric_detail

// The metric in `node`: an object with "value" (and optionally "ci" as two
// numbers and "n"), or a bare number (ci = [v, v]). nullopt for anything else.
template <class Json>
std::optional<Metric> metric_from_json(const Json& node) {
  Metric m;
  if (node.is_number()) {
    m.value = node.template get<double>();
    m.ci = {m.value, m.value};
    return m;
  }
  if (!node.is_object()) return std::nullopt;
  const auto value = node.find("value");
  if (value == node.end()) return std::nullopt;
  m.value = metric_detail::number(*value);
  if (const auto ci = node.find("ci"); ci != node.end() && ci->is_array() && ci->size() == 2)
    m.ci = {metric_detail::number((*ci)[0]), metric_detail::number((*ci)[1])};
  if (const auto n = node.find("n"); n != node.end()) m.n = metric_detail::number(*n);
  return m;
}

// The node at a dotted path below `root` (object keys; array indices as
// decimal numbers), or null when any step is missing or of another type.
template <class Json>
const Json* json_at_path(const Json& root, std::string_view dotted) {
  const Json* node = &root;
  while (true) {
    const auto dot = dotted.find('.');
    const std::string key(dotted.substr(0, dot));
    if (node->is_object()) {
      const auto it = node->find(key);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      if (key.empty() || key.size() > 9 || key.find_first_not_of("0123456789") != std::string::npos) return nullptr;
      const auto index = static_cast<std::size_t>(std::stoul(key));
      if (index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
    if (dot == std::string_view::npos) return node;
    dotted.remove_prefix(dot + 1);
  }
}

// metric_from_json of the node at a dotted path; nullopt when absent or not a metric.
template <class Json>
std::optional<Metric> metric_at(const Json& root, std::string_view dotted) {
  const Json* node = json_at_path(root, dotted);
  return node ? metric_from_json(*node) : std::nullopt;
}

}  // namespace recbias
