// The one interface every model sits behind. Audits, mitigations, the cache
// and the CLI only ever see a Recommender.
//
// Contract (in the style of leveldb's Env):
// - rank(requests, on_response) returns exactly one RankResponse per request,
//   in the same order, with request_id set. A request the backend could not
//   answer (after the implementation's own retries) is NOT an exception: its
//   response has `error` set and an empty ranking, so one bad request never
//   loses a batch. rank() throws only for failures that make the whole backend
//   unusable (BackendFailure: cannot start the subprocess, cannot load the
//   model) or for requests that cannot be encoded at all (BadInput: an item
//   the model's vocabulary lacks).
// - on_response, when given, is called once per request as soon as its
//   response is final, in completion order, never concurrently with itself
//   (implementations that work in parallel serialise the calls). The response
//   cache relies on it to persist each answer the moment it exists.
// - Thread rules: rank() must not be called concurrently on one object unless
//   capabilities().thread_safe. Implementations parallelise internally.
// - Recommenders are heavyweight: not copyable, owned through unique_ptr, and
//   wrappers (mitigations, the cache) own the recommender they wrap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/catalog.h"
#include "core/rank.h"

namespace recbias {

struct Capabilities {
  bool scores = false;         // responses carry one score per candidate
  bool deterministic = true;   // the same request always gets the same answer
  bool thread_safe = false;    // rank() may be called from several threads at once
  bool remote = false;         // calls cost money or a network round trip (worth caching)
};

using ResponseCallback = std::function<void(std::size_t index, const RankResponse& response)>;

// What sending one request would cost, known before it is sent (dry runs and
// budgets, adapters/call_meter.h). Adapters without prompts keep the default.
struct CallEstimate {
  std::int64_t http_calls = 1;              // requests on the wire (openai pointwise/loglik: one per candidate)
  std::int64_t prompt_tokens = 0;           // from the rendered prompt(s); an estimate unless prompt_tokens_exact
  std::int64_t max_completion_tokens = 0;   // the bound the request sets (max_tokens per call, summed)
  bool prompt_tokens_exact = false;         // counted by the model's tokenizer
};

// One HTTP call of an offline batch (adapters/batch_file.h).
struct BatchCall {
  std::string url;   // path, e.g. "/v1/chat/completions"
  std::string body;  // the request body (JSON), exactly as rank() sends it
};

class TensorScorer;  // adapters/tensor_scorer.h (torch types)

class Recommender {
 public:
  Recommender() = default;
  Recommender(const Recommender&) = delete;
  Recommender& operator=(const Recommender&) = delete;
  virtual ~Recommender() = default;

  // A stable description written into reports and cache keys: the adapter
  // name and every setting that changes answers (model, sampling parameters,
  // template hash, ...). Never contains secrets such as API keys.
  virtual std::string id() const = 0;

  virtual Capabilities capabilities() const = 0;

  // Grounds `response` again from response.raw (what the model said), for a
  // request this recommender answered: clears and refills ranking,
  // ungrounded, duplicates, out_of_range, parse_failures, repaired,
  // first_entry_unusable (and scores for exec answers), keeping usage,
  // truncated and error. The response cache calls it on every answer it
  // reads, so grounding improvements apply to cached answers. Adapters that
  // parse text (openai, exec) override it; the default leaves a response
  // without `raw` unchanged and is right for scoring adapters.
  virtual void ground(const RankRequest& request, RankResponse& response) const {
    (void)request;
    (void)response;
  }

  // The optional tensor-scoring capability (adapters/tensor_scorer.h), or
  // null. Wrappers that change answers (mitigations, the response cache) do
  // not forward it: scoring through it would bypass what they do.
  virtual const TensorScorer* tensor_scorer() const { return nullptr; }

  // What answering `request` would cost (CallEstimate). Never sends
  // anything. Wrappers that send their inner model's requests unchanged
  // forward it.
  virtual CallEstimate estimate(const RankRequest& request) const {
    (void)request;
    return {};
  }

  // The server's own token count for `request`'s first prompt over
  // estimate()'s (the tokenizer endpoint, e.g. vLLM's and llama.cpp's
  // /tokenize), to calibrate a dry run's estimate; nullopt where the
  // adapter has no tokenizer to ask, and an error text where asking failed.
  struct TokenizerRatio {
    std::optional<double> ratio;
    std::string error;
  };
  virtual TokenizerRatio tokenizer_ratio(const RankRequest& request) const {
    (void)request;
    return {std::nullopt, "the adapter has no tokenizer endpoint"};
  }

  // Offline batches (adapters/batch_file.h): the HTTP calls that answer
  // `request`, in order (CallEstimate::http_calls of them); empty when the
  // adapter has no batch form (only openai has one).
  virtual std::vector<BatchCall> batch_calls(const RankRequest& request) const {
    (void)request;
    return {};
  }
  // The response to `request` from the batch output's response bodies (JSON
  // text), one per batch_calls() entry, as rank() would have made it from
  // the same answers; `error` set when a body lacks what the mode needs.
  virtual RankResponse from_batch(const RankRequest& request, const std::vector<std::string>& bodies) const;

  // See the contract above.
  std::vector<RankResponse> rank(std::span<const RankRequest> requests, const ResponseCallback& on_response = {}) {
    return rank_batch(requests, on_response);
  }

 protected:
  // Implementations override this (non-virtual interface: default arguments
  // live on rank() only).
  virtual std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests,
                                               const ResponseCallback& on_response) = 0;
};

// What an adapter may need from the data: titles for prompts, popularity and
// training histories for the non-LLM baselines.
class PhraseTable;  // adapters/phrases.h

struct AdapterContext {
  std::shared_ptr<const Catalog> catalog;
  // Training histories of every user (oldest first), for itemknn. May be empty.
  std::shared_ptr<const std::vector<std::vector<ItemIndex>>> training;
  // How stated attributes read in prompts (--phrases); null: the built-in table.
  std::shared_ptr<const PhraseTable> phrases;
};

// Calls on_response (if set) for each response in order; for adapters that
// compute a whole batch at once.
void report_all(const std::vector<RankResponse>& responses, const ResponseCallback& on_response);

// For recommenders that score each request independently: calls `score` on
// every request, ranks by top_k_by_score, records one call, reports each
// response as it is made. With `catalog`, an open (candidate-free) request
// is scored over every catalog item not in the user's history, in catalog
// order, and answered with the top k as item indices (no per-candidate
// scores); without it, an open request gets an error response.
std::vector<RankResponse> rank_by_scores(std::span<const RankRequest> requests, const ResponseCallback& on_response,
                                         const std::function<std::vector<float>(const RankRequest&)>& score,
                                         const Catalog* catalog = nullptr);

// An open request as a candidate request over every catalog item not in the
// user's history (catalog order), for scoring models answering it.
RankRequest open_as_candidates(const RankRequest& request, const Catalog& catalog);

// The top `k` candidate positions by descending score. Ties are broken by
// item index (not by presented position, which would itself be a position
// bias), then by position for repeated items. NaN scores rank as -infinity.
std::vector<int> top_k_by_score(std::span<const float> scores, std::span<const ItemIndex> candidates, int k);

}  // namespace recbias
