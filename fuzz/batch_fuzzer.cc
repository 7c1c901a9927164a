// The batch output reader (--import-batch, adapters/batch_file.h) and the
// openai adapter's batch form: the input's first NUL-separated part is an
// output file, parsed and every request it names taken with 1 to 3 calls;
// the second part is a response body, read by from_batch in every scoring
// mode for a fixed three-candidate request. Invariants: a line the reader
// accepts has a 64-hex-digit key; from_batch answers with an error or a
// ranking of valid, distinct candidate positions.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "adapters/batch_file.h"
#include "adapters/openai_recommender.h"
#include "core/errors.h"
#include "fuzz/fuzz_support.h"

using namespace recbias;

namespace {

std::shared_ptr<const Catalog> catalog() {
  static const auto c = [] {
    auto cat = std::make_shared<Catalog>();
    cat->add({"1", "Movie One (1991)", {"Drama"}, 3});
    cat->add({"2", "Movie Two (1992)", {"Comedy"}, 2});
    cat->add({"3", "Movie Three (1993)", {"Drama"}, 1});
    return cat;
  }();
  return c;
}

const std::vector<std::unique_ptr<Recommender>>& models() {
  static const auto m = [] {
    std::vector<std::unique_ptr<Recommender>> out;
    for (auto scoring : {Scoring::kGenerate, Scoring::kFirstToken, Scoring::kPointwise, Scoring::kLoglik}) {
      OpenAiOptions o;
      o.model = "fuzz";
      o.base_url = "http://127.0.0.1:9/v1";
      o.scoring = scoring;
      out.push_back(make_openai_recommender(catalog(), o));
    }
    OpenAiOptions structured;
    structured.model = "fuzz";
    structured.structured = Structured::kJsonSchema;
    out.push_back(make_openai_recommender(catalog(), structured));
    return out;
  }();
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split_input(data, size, 2);
  try {
    auto in = BatchImport::parse(parts[0], "out.jsonl");
    for (const auto& id : in->unused()) {
      if (id.size() < 66 || id[64] != '-') std::abort();
      const auto key = id.substr(0, 64);
      for (std::size_t calls = 1; calls <= 3; ++calls) {
        const auto answers = in->take(key, calls);
        if (answers && answers->failure.empty() && answers->bodies.size() != calls) std::abort();
      }
    }
  } catch (const Error&) {
  }
  RankRequest request;
  request.id = "fuzz";
  request.candidates = {0, 1, 2};
  request.k = 2;
  for (const auto& model : models()) {
    const auto n = model->batch_calls(request).size();
    const std::vector<std::string> bodies(n, parts[1]);
    try {
      const auto response = model->from_batch(request, bodies);
      if (response.error) continue;
      std::set<int> seen;
      for (int position : response.ranking)
        if (position < 0 || position > 2 || !seen.insert(position).second) std::abort();
    } catch (const Error&) {
    }
  }
  return 0;
}
