// The model-output parser and grounder: arbitrary model text against a list
// of candidate titles (the input's first NUL-separated part, one title per
// line), with and without repair. Invariants checked: every grounded entry is
// a valid, distinct candidate position, and grounding again after
// reset_grounding gives the same response.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <sstream>

#include "adapters/grounding.h"
#include "core/errors.h"
#include "fuzz/fuzz_support.h"

using namespace recbias;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split_input(data, size, 2);
  std::vector<std::string> titles;
  std::istringstream in(parts[0]);
  for (std::string line; std::getline(in, line) && titles.size() < 64;) titles.push_back(line);
  for (bool repair : {false, true}) {
    GroundingOptions options;
    options.repair = repair;
    RankResponse response;
    try {
      ground_answer(parts[1], titles, options, response);
    } catch (const Error&) {
      continue;
    }
    std::set<int> seen;
    for (int position : response.ranking) {
      if (position < 0 || position >= static_cast<int>(titles.size()) || !seen.insert(position).second) std::abort();
    }
    // Grounding again (as the response cache does on every read) gives the same answer.
    RankResponse again = response;
    reset_grounding(again);
    ground_answer(parts[1], titles, options, again);
    if (again.ranking != response.ranking || again.ungrounded != response.ungrounded || again.duplicates != response.duplicates ||
        again.out_of_range != response.out_of_range || again.first_entry_unusable != response.first_entry_unusable)
      std::abort();
  }
  normalize_title(parts[1]);
  lcs_ratio(parts[0].substr(0, 512), parts[1].substr(0, 512));
  return 0;
}
