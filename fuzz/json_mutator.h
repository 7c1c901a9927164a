// A structure-aware mutator for the targets whose input is one JSON document
// (a report, a shard): byte mutations of a large JSON file seldom give valid
// JSON with one value changed, which is what finds bad sizes, counts and
// types behind a schema check. Half of the mutations (by seed) are
// libFuzzer's own; the other half parse the input, change one value and
// write it back:
//   - a number set to an interesting value (-1, 0, 2^32, 1e9, 9.2e18, 1e300, ...);
//   - a value replaced by one of another type (null, "", "x", [], {}, true, -1);
//   - an object member or array element removed;
//   - an array element repeated (the array grows by one).
// Only under libFuzzer (RECBIAS_LIBFUZZER); the replay driver runs the
// regression files as they are.
#pragma once

#ifdef RECBIAS_LIBFUZZER
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);

namespace recbias::fuzz {

struct JsonSlot {
  nlohmann::json* parent;  // null for the root
  nlohmann::json* value;
  std::string key;         // the member's name when parent is an object
  std::size_t index = 0;   // the element's index when parent is an array
};

inline void json_slots(nlohmann::json& j, nlohmann::json* parent, const std::string& key, std::size_t index,
                       std::vector<JsonSlot>& out) {
  out.push_back({parent, &j, key, index});
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) json_slots(it.value(), &j, it.key(), 0, out);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) json_slots(j[i], &j, "", i, out);
  }
}

inline std::size_t mutate_json(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned int seed) {
  if (seed % 2 == 0) return LLVMFuzzerMutate(data, size, max_size);
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return LLVMFuzzerMutate(data, size, max_size);
  std::vector<JsonSlot> slots;
  json_slots(j, nullptr, "", 0, slots);
  unsigned int r = seed / 2;
  const unsigned int kind = r % 4;
  r /= 4;
  std::vector<JsonSlot> fit;
  for (const auto& s : slots) {
    if (kind == 0 && s.value->is_number()) fit.push_back(s);
    if ((kind == 1 || kind == 2) && s.parent) fit.push_back(s);
    if (kind == 3 && s.value->is_array() && !s.value->empty()) fit.push_back(s);
  }
  if (fit.empty()) return LLVMFuzzerMutate(data, size, max_size);
  const auto& slot = fit[r % fit.size()];
  r /= static_cast<unsigned int>(fit.size());
  if (kind == 0) {
    static const double kValues[] = {-1, 0, 1, 2, -3, 1e9, -1e9, 4294967296.0, 9.2e18, 0.5, 1e300, -1e300};
    const double value = kValues[r % (sizeof kValues / sizeof kValues[0])];
    if (std::abs(value) < 9e18 && value == std::trunc(value))
      *slot.value = static_cast<std::int64_t>(value);
    else
      *slot.value = value;
  } else if (kind == 1) {
    const nlohmann::json kOthers[] = {nullptr, "", "x", nlohmann::json::array(), nlohmann::json::object(), true, -1};
    *slot.value = kOthers[r % (sizeof kOthers / sizeof kOthers[0])];
  } else if (kind == 2) {
    if (slot.parent->is_object())
      slot.parent->erase(slot.key);
    else
      slot.parent->erase(slot.index);
  } else {
    const auto copy = (*slot.value)[r % slot.value->size()];
    slot.value->push_back(copy);
  }
  const auto text = j.dump();
  if (text.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::copy(text.begin(), text.end(), data);
  return text.size();
}

}  // namespace recbias::fuzz

// The target's custom mutator: include this header in exactly one file of a target.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned int seed) {
  return recbias::fuzz::mutate_json(data, size, max_size, seed);
}
#endif
