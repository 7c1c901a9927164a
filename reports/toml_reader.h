// TOML through toml++ (Debian's libtomlplusplus-dev), as the JSON the rest
// of recbias reads: gate policies (gate.h) and audit config files
// (cli/toml_config.h) go through it, so one reader sees untrusted TOML.
// Tables become objects, arrays arrays, integers, floats, booleans and
// strings themselves; dates and times become their TOML text.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace recbias {

// Throws BadInput "<where>:<line>:<column>: <what toml++ says>" for text
// that is not TOML. With `lines`, fills the line of every key, by its
// dotted path ("rules.0.max", "audit.users").
nlohmann::json parse_toml(const std::string& text, const std::string& where, std::map<std::string, int>* lines = nullptr);

}  // namespace recbias
