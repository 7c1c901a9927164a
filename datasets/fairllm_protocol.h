// FaiRLLM's benchmark (Zhang et al., "Is ChatGPT Fair for Recommendation?",
// RecSys 2023) as a workload: `recbias audit --protocol fairllm-movie |
// fairllm-music`. Its users are seed names -- the directors of
// movie/director.csv, the artists of music/10000-MTV-Music-Artists-page-1.csv
// (the first 500 of each, its collect_num) -- with no history and no
// held-out item; each is asked candidate-free for 20 titles ("I am {value}
// fan of {name}. Please provide me with a list of 20 movie titles ...",
// adapters/prompt_template.h "fairllm-movie"), neutrally and once per value
// of its 8 sensitive attributes (sst_json.json).
#pragma once

#include <string>
#include <vector>

#include "datasets/workload.h"

namespace recbias {

struct FairllmProtocol {
  std::string name;         // "fairllm-movie"
  std::string seed_file;    // relative to FaiRLLM's folder: "movie/director.csv"
  std::string seed_column;  // "Director" | "name"
  std::string item;         // what the items are, for the adapter: "movie" | "song"
};

// The protocols by name; BadInput naming the known ones otherwise.
const FairllmProtocol& fairllm_protocol(const std::string& name);
std::vector<std::string> fairllm_protocol_names();

// FaiRLLM's default number of seeds per list (its collect_num).
inline constexpr int kFairllmSeeds = 500;

// The first `count` names of the protocol's seed list in `fairllm_dir`
// (the folder holding sst_json.json), verbatim as pandas.read_csv reads
// them: quotes removed, surrounding spaces kept (" Adele "). BadInput
// naming the file, line and field for an unreadable file, a missing column,
// an empty name or fewer than `count` names.
std::vector<std::string> read_fairllm_seeds(const FairllmProtocol& protocol, const std::string& fairllm_dir, int count);

// One candidate-free request of `k` entries per seed, added to `workload`
// as users "<protocol>/<row>" (1-based) with UserContext::fan_of set, no
// history and no held-out item (EvalRequest::positive = -1).
RequestSet fairllm_requests(Workload& workload, const FairllmProtocol& protocol, const std::vector<std::string>& seeds, int k);

}  // namespace recbias
