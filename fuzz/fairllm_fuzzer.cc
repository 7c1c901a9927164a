// FaiRLLM's benchmark inputs (--protocol fairllm-movie | fairllm-music) and
// its reading of answers: the input is split at NUL bytes into
// sst_json.json, movie/director.csv, the music artists' CSV and an answer
// text. The attribute file and both seed lists are read as the audit reads
// them, the requests built and rendered with FaiRLLM's prompts, and the
// answer read by fairllm_titles() (FaiRLLM's clean() / simplified_list()).
#include <cstdint>

#include "adapters/prompt_template.h"
#include "audits/list_similarity.h"
#include "core/errors.h"
#include "datasets/attributes.h"
#include "datasets/fairllm_protocol.h"
#include "fuzz/fuzz_support.h"

using namespace recbias;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split_input(data, size, 4);
  const auto dir = fuzz::scratch_folder();
  std::filesystem::create_directories(dir / "movie");
  std::filesystem::create_directories(dir / "music");
  fuzz::write(dir / "sst_json.json", parts[0]);
  fuzz::write(dir / "movie/director.csv", parts[1]);
  fuzz::write(dir / "music/10000-MTV-Music-Artists-page-1.csv", parts[2]);
  (void)fairllm_titles(parts[3]);
  std::vector<AttributeSet> attributes;
  try {
    attributes = load_fairllm_attributes((dir / "sst_json.json").string());
  } catch (const Error&) {
  }
  for (const auto* name : {"fairllm-movie", "fairllm-music"}) {
    try {
      const auto& protocol = fairllm_protocol(name);
      Workload workload;
      workload.catalog = std::make_shared<const Catalog>();
      const auto requests = fairllm_requests(workload, protocol, read_fairllm_seeds(protocol, dir.string(), 3), 20);
      const auto prompt = PromptTemplate::load(name);
      for (auto request : requests.requests) {
        if (!attributes.empty()) request.request.user.attributes[attributes[0].name] = attributes[0].values[0];
        (void)prompt.render(request.request, *workload.catalog, 10, protocol.item);
      }
    } catch (const Error&) {
    }
  }
  return 0;
}
