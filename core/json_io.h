// JSON (de)serialisation of the vocabulary (nlohmann/json ADL hooks).
//
// Field names are snake_case and match the struct members. Deserialisation
// throws BadInput naming the field, the JSON type found and the type expected;
// callers that know the file and line wrap it with that context
// (see with_location()).
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/catalog.h"
#include "core/rank.h"

namespace recbias {

void to_json(nlohmann::json& j, const Item& v);
void from_json(const nlohmann::json& j, Item& v);
void to_json(nlohmann::json& j, const UserContext& v);
void from_json(const nlohmann::json& j, UserContext& v);
void to_json(nlohmann::json& j, const RankRequest& v);
void from_json(const nlohmann::json& j, RankRequest& v);
void to_json(nlohmann::json& j, const Usage& v);
void from_json(const nlohmann::json& j, Usage& v);
void to_json(nlohmann::json& j, const RankResponse& v);
void from_json(const nlohmann::json& j, RankResponse& v);

// A catalog is an array of items; from_json rebuilds the id index.
void to_json(nlohmann::json& j, const Catalog& v);
void from_json(const nlohmann::json& j, Catalog& v);

// Parses one JSON text; a syntax error becomes BadInput("<where>: invalid JSON
// at byte N: ..."). `where` is usually "file:line".
nlohmann::json parse_json(const std::string& text, const std::string& where);

// Name of a JSON value's type as a user reads it ("string", "number", ...).
std::string json_type_name(const nlohmann::json& j);

}  // namespace recbias
