// A reader for the subset of TOML a gate policy needs, producing the same
// JSON a .json policy holds (recbias may use no TOML library):
//
//   # comments
//   min_n = 200                          # integers, floats, true/false, "strings"
//   [[rules]]                            # arrays of tables
//   name = "position bias"
//   metric = "position.tvd"
//   max = 0.05
//   ratio = { numerator = "a", denominator = "b", tau = 0.8 }   # inline tables
//   [section]                            # plain tables
//
// Not supported (a clear error names the line): multi-line strings, literal
// 'strings', dotted keys, arrays of values, dates.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace recbias {

// Throws BadInput "<where>:<line>: ..." on anything outside the subset.
nlohmann::json parse_toml_subset(const std::string& text, const std::string& where);

}  // namespace recbias
