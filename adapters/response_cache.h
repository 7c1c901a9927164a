// A crash-safe on-disk cache of model answers, and the Recommender wrapper
// that uses it.
//
// Key: SHA-256 of the wrapped recommender's id() (adapter, model, sampling
// parameters, template hash) and the full request as the model sees it —
// user id, attributes, history and candidates as external ids and titles, k
// and sample. Entries are files <dir>/<key[0:2]>/<key>.json written to a
// temporary file and renamed into place, so a killed run never leaves a
// corrupt entry; a re-run finds every answer that completed and sends only
// the rest. An entry holds the model's raw answer (RawAnswer: text or answer
// object, usage) whatever it looked like, also when it could not be parsed:
// the answer is the model's behaviour. Grounding runs again when an entry is
// read (Recommender::ground), so a better grounder applies to cached answers
// without sending them again; entries record the grounder version they were
// written with. Transport and backend errors are never cached. API keys are
// never part of ids, keys or entries.
//
// Thread rules: ResponseCache may be used from several threads; distinct
// keys never collide on disk and the same key is written atomically.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "adapters/batch_file.h"
#include "adapters/call_meter.h"
#include "adapters/recommender.h"

namespace recbias {

class ResponseCache {
 public:
  // Creates `dir` if missing (BadInput when that fails).
  explicit ResponseCache(std::string dir);

  const std::string& dir() const { return dir_; }

  static std::string key(const std::string& recommender_id, const RankRequest& request, const Catalog& catalog);

  // The cached answer (request_id as stored); nullopt when absent or unreadable.
  std::optional<RankResponse> get(const std::string& key) const;
  // Writes atomically; returns false (and stores nothing) for errors.
  bool put(const std::string& key, const RankResponse& response) const;

 private:
  std::string path_of(const std::string& key) const;
  std::string dir_;
};

struct CacheStats {
  std::int64_t hits = 0;     // answered from disk
  std::int64_t misses = 0;   // sent to the model (after de-duplication)
  std::int64_t deduplicated = 0;  // identical requests within one rank() call answered by one model call
  std::int64_t writes = 0;   // entries stored
  std::int64_t imported = 0; // answered from an imported batch file (and stored)
};

// What happens to a request the cache lacks, besides sending it.
struct CallControl {
  std::shared_ptr<CallMeter> meter;          // dry run (count, send nothing) or budgets (call_meter.h)
  std::shared_ptr<BatchExport> export_to;    // dry run: also write the calls as a batch file (batch_file.h)
  std::shared_ptr<BatchImport> import_from;  // answer from a batch output file first (then cache the answer)
};

// Wraps a recommender with the cache. id() and capabilities() are the
// wrapped recommender's: caching never changes answers. With a CallControl,
// requests the cache lacks are answered from an imported batch file, counted
// (dry run, exported) or sent only within the budget. `cache` may be null
// (a meter alone: every request is a miss).
class CachedRecommender final : public Recommender {
 public:
  CachedRecommender(std::unique_ptr<Recommender> inner, std::shared_ptr<const ResponseCache> cache,
                    std::shared_ptr<const Catalog> catalog, CallControl control = {});

  std::string id() const override { return inner_->id(); }
  Capabilities capabilities() const override { return inner_->capabilities(); }
  void ground(const RankRequest& request, RankResponse& response) const override { inner_->ground(request, response); }
  CallEstimate estimate(const RankRequest& request) const override { return inner_->estimate(request); }
  std::vector<BatchCall> batch_calls(const RankRequest& request) const override { return inner_->batch_calls(request); }
  TokenizerRatio tokenizer_ratio(const RankRequest& request) const override { return inner_->tokenizer_ratio(request); }
  RankResponse from_batch(const RankRequest& request, const std::vector<std::string>& bodies) const override {
    return inner_->from_batch(request, bodies);
  }
  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override;

  CacheStats stats() const { return stats_; }

 private:
  std::unique_ptr<Recommender> inner_;
  std::shared_ptr<const ResponseCache> cache_;
  std::shared_ptr<const Catalog> catalog_;
  std::shared_ptr<CallMeter> meter_;
  CallControl control_;
  CacheStats stats_;
};

}  // namespace recbias
