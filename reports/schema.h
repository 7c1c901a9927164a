// Validation of reports against reports/report.schema.json.
//
// recbias may use no JSON Schema library, so this is a small validator for
// the subset the report schema uses: type (one or several), const, enum,
// required, properties, additionalProperties (schema), items, minItems,
// maxItems and local $ref ("#/$defs/name"). Unknown keywords are ignored.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace recbias {

// Every violation as "<JSON pointer>: <what is wrong>", in document order;
// empty when `document` is valid.
std::vector<std::string> validate_json(const nlohmann::json& document, const nlohmann::json& schema);

// The report schema (embedded at build time from reports/report.schema.json).
const nlohmann::json& report_schema();

// Throws BadInput "<where>: not a recbias report: <first violations>" unless
// `report` validates.
void check_report(const nlohmann::json& report, const std::string& where);

}  // namespace recbias
