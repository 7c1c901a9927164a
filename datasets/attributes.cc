#include "datasets/attributes.h"


#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/errors.h"
#include "core/json_io.h"

namespace recbias {

const std::vector<std::string>& movielens_age_bands() {
  static const std::vector<std::string> bands = {"<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"};
  return bands;
}

std::optional<std::string> age_band(int age) {
  if (age < 1 || age > 120) return std::nullopt;
  const auto& b = movielens_age_bands();
  if (age < 18) return b[0];
  if (age <= 24) return b[1];
  if (age <= 34) return b[2];
  if (age <= 44) return b[3];
  if (age <= 49) return b[4];
  if (age <= 55) return b[5];
  return b[6];
}

std::optional<std::string> movielens_1m_age_band(int code) {
  const auto& b = movielens_age_bands();
  switch (code) {
    case 1: return b[0];
    case 18: return b[1];
    case 25: return b[2];
    case 35: return b[3];
    case 45: return b[4];
    case 50: return b[5];
    case 56: return b[6];
    default: return std::nullopt;
  }
}

const std::vector<std::string>& movielens_1m_occupations() {
  static const std::vector<std::string> names = {
      "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
      "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
      "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
      "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer"};
  return names;
}

std::vector<AttributeSet> load_fairllm_attributes(const std::string& path) {
  const auto text = read_whole_file(path);
  if (!text) throw BadInput(fmt::format("cannot open FaiRLLM attribute file {}: expected FaiRLLM's sst_json.json", path));
  // ordered_json keeps the file's key order, which fixes the report order.
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    throw BadInput(fmt::format("{}: invalid JSON at byte {}: {}", path, e.byte, e.what()));
  } catch (const nlohmann::json::exception& e) {  // a number beyond double's range
    throw BadInput(fmt::format("{}: invalid JSON: {}", path, e.what()));
  }
  if (!j.is_object())
    throw BadInput(fmt::format("{}: expected an object mapping attribute names to value lists", path));
  std::vector<AttributeSet> sets;
  for (const auto& [name, values] : j.items()) {
    if (name == "neutral" || name == "typo") continue;
    if (!values.is_array() || values.empty())
      throw BadInput(fmt::format("{}: attribute \"{}\": expected a non-empty array of strings", path, name));
    AttributeSet set{name, {}};
    for (const auto& v : values) {
      if (!v.is_string() || v.get<std::string>().empty())
        throw BadInput(fmt::format("{}: attribute \"{}\": found {}, expected non-empty strings", path, name, v.dump()));
      set.values.push_back(v.get<std::string>());
    }
    sets.push_back(std::move(set));
  }
  if (sets.empty()) throw BadInput(fmt::format("{}: no attributes found", path));
  return sets;
}

std::vector<AttributeSet> attribute_sets(const std::string& name, const std::vector<AttributeSet>& dataset_attributes,
                                         const std::string& fairllm_path) {
  if (name == "movielens" || name == "dataset") {
    if (dataset_attributes.empty())
      throw BadInput("attribute set \"dataset\": this dataset has no user attributes; use --attributes fairllm");
    return dataset_attributes;
  }
  if (name == "fairllm") return load_fairllm_attributes(fairllm_path);
  throw BadInput(fmt::format("unknown attribute set \"{}\"; known attribute sets: dataset (alias movielens), fairllm", name));
}

}  // namespace recbias
