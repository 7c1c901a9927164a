// Offline batches: the calls an audit still needs, written as an OpenAI
// Batch API input file, and the provider's output file read back into the
// response cache (`recbias audit --export-batch FILE` / `--import-batch
// FILE`). The same files work with `vllm run-batch -i IN -o OUT`.
//
// Input line (one per HTTP call):
//   {"custom_id": "<cache key>-<call>", "method": "POST",
//    "url": "/v1/chat/completions", "body": {...exactly what rank() sends...}}
// Output line (the provider's):
//   {"id": ..., "custom_id": ..., "response": {"status_code": 200,
//    "body": {...}}, "error": null}
// The cache key (response_cache.h) names the request and `call` its HTTP
// call (pointwise and loglik make one per candidate), so an output file
// answers exactly the requests whose key it names, in any line order.
//
// Thread rules: BatchExport and BatchImport may be used from several threads.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/recommender.h"

namespace recbias {

class BatchExport {
 public:
  // Adds the calls of the request with cache key `key` (once per key).
  void add(const std::string& key, const std::vector<BatchCall>& calls);
  std::size_t requests() const;
  std::size_t calls() const;
  // The JSON Lines text, in the order requests were added.
  std::string text() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  std::size_t requests_ = 0;
};

// One request's answers in an output file.
struct BatchAnswers {
  std::vector<std::string> bodies;  // response bodies (JSON text), by call; complete only when `failure` is empty
  std::string failure;              // why the batch did not answer it (a failed or missing call); empty when it did
};

struct BatchImportStats {
  std::size_t lines = 0;       // output lines read
  std::size_t imported = 0;    // requests answered from the file
  std::size_t failed = 0;      // requests with a failed or missing call in the file
  std::size_t not_in_file = 0; // requests the audit needed that the file does not name
  std::string first_failure;   // the first failure's message
};

class BatchImport {
 public:
  // Reads and checks the whole file. BadInput naming the file, line and
  // field for a line that is not an output line recbias can use (not JSON,
  // no custom_id of the form <64 hex digits>-<call>, a custom_id twice, no
  // response and no error).
  static std::shared_ptr<BatchImport> read(const std::string& path);
  static std::shared_ptr<BatchImport> parse(const std::string& text, const std::string& path);

  // The answers of the request with cache key `key` and `calls` HTTP calls;
  // nullopt when the file does not name it. Counts into stats().
  std::optional<BatchAnswers> take(const std::string& key, std::size_t calls);
  // Counts a request the file answered but whose answer could not be used.
  void failed(const std::string& why);

  BatchImportStats stats() const;
  // custom_ids of lines no request of the audit asked for (wrong file or audit).
  std::vector<std::string> unused() const;

 private:
  struct Line {
    int status = 0;            // HTTP status; 0 when the line carries only an error
    std::string body;          // response body (JSON text) when status is 200
    std::string error;         // the provider's error message otherwise
    bool used = false;
  };
  std::string path_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::size_t, Line>> by_key_;  // key -> call -> line
  BatchImportStats stats_;
};

}  // namespace recbias
