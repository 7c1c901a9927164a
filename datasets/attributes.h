// Sensitive-attribute vocabularies: MovieLens' real attributes and the
// FaiRLLM benchmark's prompt attributes.
//
// Names and values are plain strings used verbatim everywhere (datasets,
// prompts, TorchScript side-cars, reports); see DESIGN.md, "Data flow".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace recbias {

// MovieLens 1M's age bands, in order: "<18", "18-24", "25-34", "35-44",
// "45-49", "50-55", "56+".
const std::vector<std::string>& movielens_age_bands();

// The band of an exact age (MovieLens 100K), e.g. 17 -> "<18", 30 -> "25-34".
// Ages below 1 or above 120 give nullopt.
std::optional<std::string> age_band(int age);

// MovieLens 1M's age code (1, 18, 25, 35, 45, 50, 56) to its band; nullopt otherwise.
std::optional<std::string> movielens_1m_age_band(int code);

// MovieLens 1M's occupation codes 0..20 to the names in its README
// (0 = "other" (README: "\"other\" or not specified"), 1 = "academic/educator", ...).
const std::vector<std::string>& movielens_1m_occupations();

// FaiRLLM's sensitive attributes (Zhang et al., RecSys 2023) from its
// sst_json.json: the 8 attributes with 31 values (age, country, gender,
// continent, occupation, race, religion, physics), in file order. The
// "neutral" and "typo" classes are not attributes and are skipped. Throws
// BadInput naming the file and key when the file is malformed.
std::vector<AttributeSet> load_fairllm_attributes(const std::string& path);

// The named attribute sets: "movielens" (the dataset's own attributes, passed
// in `dataset_attributes`) or "fairllm" (read from `fairllm_path`). Unknown
// names throw BadInput listing the known ones.
std::vector<AttributeSet> attribute_sets(const std::string& name,
                                         const std::vector<AttributeSet>& dataset_attributes,
                                         const std::string& fairllm_path);

}  // namespace recbias
