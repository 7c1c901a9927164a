#include "adapters/response_cache.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/grounding.h"
#include "adapters/request_codec.h"
#include "core/file_io.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "core/sha256.h"

namespace recbias {

namespace fs = std::filesystem;

ResponseCache::ResponseCache(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_)) throw BadInput(fmt::format("cannot create cache directory {}: {}", dir_, ec.message()));
}

std::string ResponseCache::key(const std::string& recommender_id, const RankRequest& request, const Catalog& catalog) {
  auto material = encode_request(request, catalog);
  material.erase("id");  // the request id names a variant, not what the model sees
  return sha256_hex(recommender_id + "\n" + material.dump());
}

std::string ResponseCache::path_of(const std::string& key) const {
  return (fs::path(dir_) / key.substr(0, 2) / (key + ".json")).string();
}

std::optional<RankResponse> ResponseCache::get(const std::string& key) const {
  const auto text = read_whole_file(path_of(key));
  if (!text) return std::nullopt;
  try {
    const auto j = nlohmann::json::parse(*text);
    if (j.value("key", std::string()) != key) return std::nullopt;
    return j.at("response").get<RankResponse>();
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable entries are misses; the next put replaces them
  }
}

bool ResponseCache::put(const std::string& key, const RankResponse& response) const {
  // Errors are not the model's answer; an unparseable answer without its raw
  // text could never be grounded again, so only those are skipped.
  if (response.error || (!response.raw && response.ranking.empty() && response.parse_failures > 0)) return false;
  const auto path = path_of(key);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  static std::atomic<std::uint64_t> counter{0};
  const auto tmp = fmt::format("{}.tmp.{}.{}", path, ::getpid(), counter++);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw BadInput(fmt::format("cannot write cache entry {} (is the cache directory writable?)", tmp));
    out << nlohmann::json{{"key", key}, {"grounder", kGrounderVersion}, {"response", response}}.dump(
        -1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.flush();
    if (!out) throw BadInput(fmt::format("cannot write cache entry {} (disk full?)", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw BadInput(fmt::format("cannot move cache entry into place at {}", path));
  }
  return true;
}

CachedRecommender::CachedRecommender(std::unique_ptr<Recommender> inner, std::shared_ptr<const ResponseCache> cache,
                                     std::shared_ptr<const Catalog> catalog, CallControl control)
    : inner_(std::move(inner)), cache_(std::move(cache)), catalog_(std::move(catalog)), meter_(control.meter), control_(std::move(control)) {}

std::vector<RankResponse> CachedRecommender::rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) {
  std::vector<RankResponse> out(requests.size());
  const auto id = inner_->id();
  std::vector<std::string> keys(requests.size());
  std::unordered_map<std::string, std::vector<std::size_t>> waiting;  // key -> requests that share it
  std::vector<RankRequest> to_send;
  std::vector<std::string> sent_keys;
  const bool dry_run = meter_ && meter_->dry_run();
  auto not_sent = [&](std::size_t i, const char* why) {
    out[i].request_id = requests[i].id;
    out[i].error = fmt::format("request {}: {}", requests[i].id, why);
    if (on_response) on_response(i, out[i]);
  };
  for (std::size_t i = 0; i < requests.size(); ++i) {
    keys[i] = ResponseCache::key(id, requests[i], *catalog_);
    if (auto hit = cache_ ? cache_->get(keys[i]) : std::nullopt) {
      out[i] = std::move(*hit);
      out[i].request_id = requests[i].id;
      inner_->ground(requests[i], out[i]);  // with today's grounder
      ++stats_.hits;
      if (meter_) meter_->hit(out[i]);
      if (on_response) on_response(i, out[i]);
      continue;
    }
    if (control_.import_from) {
      // An answer from the batch file becomes a cache entry like a sent
      // call's, so later identical requests (and re-runs) are cache hits.
      if (auto answers = control_.import_from->take(keys[i], static_cast<std::size_t>(inner_->estimate(requests[i]).http_calls))) {
        if (answers->failure.empty()) {
          auto response = inner_->from_batch(requests[i], answers->bodies);
          if (!response.error) {
            if (cache_ && cache_->put(keys[i], response)) ++stats_.writes;
            ++stats_.imported;
            out[i] = std::move(response);
            out[i].request_id = requests[i].id;
            if (on_response) on_response(i, out[i]);
            continue;
          }
          control_.import_from->failed(*response.error);
        }
      }
    }
    if (dry_run) {
      if (meter_->count_unsent(keys[i], inner_->estimate(requests[i]))) {
        ++stats_.misses;
        if (meter_->wants_tokenizer_sample()) meter_->tokenizer_sample(inner_->tokenizer_ratio(requests[i]));
        if (control_.export_to) {
          auto calls = inner_->batch_calls(requests[i]);
          if (calls.empty()) throw BadInput(fmt::format("--export-batch: adapter {} has no batch form (only openai has one)", id));
          control_.export_to->add(keys[i], calls);
        }
      } else {
        ++stats_.deduplicated;
      }
      not_sent(i, kNotSentDryRun);
      continue;
    }
    auto& group = waiting[keys[i]];
    if (group.empty()) {
      to_send.push_back(requests[i]);
      sent_keys.push_back(keys[i]);
    } else {
      ++stats_.deduplicated;
    }
    group.push_back(i);
  }
  // Sends to_send[begin, end) and fills every request waiting on each.
  auto send = [&](std::size_t begin, std::size_t end, const std::vector<CallEstimate>& estimates) {
    stats_.misses += static_cast<std::int64_t>(end - begin);
    inner_->rank(std::span<const RankRequest>(to_send).subspan(begin, end - begin), [&](std::size_t w, const RankResponse& response) {
      const auto& key = sent_keys[begin + w];
      if (meter_) meter_->done(estimates[w], response);
      if (cache_ && cache_->put(key, response)) ++stats_.writes;
      for (auto i : waiting[key]) {
        out[i] = response;
        out[i].request_id = requests[i].id;
        if (on_response) on_response(i, out[i]);
      }
    });
  };
  if (!meter_) {
    if (!to_send.empty()) send(0, to_send.size(), {});
    return out;
  }
  // Within the budget, in plan order, in waves: each wave is what fits with
  // the calls before it settled. The first request that does not fit at all
  // stops the rest (a later, smaller one might fit, but sending it would make
  // what a capped run measured depend on prompt lengths).
  std::size_t next = 0;
  while (next < to_send.size()) {
    const std::size_t begin = next;
    std::vector<CallEstimate> estimates;
    auto admission = CallMeter::Admission::kSend;
    for (; next < to_send.size(); ++next) {
      auto estimate = inner_->estimate(to_send[next]);
      admission = meter_->admit(estimate);
      if (admission != CallMeter::Admission::kSend) break;
      estimates.push_back(estimate);
    }
    if (next > begin) send(begin, next, estimates);
    if (admission == CallMeter::Admission::kRefuse) {
      for (std::size_t j = next; j < to_send.size(); ++j)
        for (auto i : waiting[sent_keys[j]]) not_sent(i, kNotSentBudget);
      break;
    }
  }
  return out;
}

}  // namespace recbias
