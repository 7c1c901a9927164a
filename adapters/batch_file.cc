#include "adapters/batch_file.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/file_io.h"

namespace recbias {
namespace {

using json = nlohmann::json;

std::string custom_id(const std::string& key, std::size_t call) { return fmt::format("{}-{}", key, call); }

// "<64 hex digits>-<call>" -> (key, call); nullopt for anything else.
std::optional<std::pair<std::string, std::size_t>> split_custom_id(const std::string& id) {
  if (id.size() < 66 || id.size() > 72 || id[64] != '-') return std::nullopt;
  for (std::size_t i = 0; i < 64; ++i)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'))) return std::nullopt;
  std::size_t call = 0;
  for (std::size_t i = 65; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return std::nullopt;
    call = call * 10 + static_cast<std::size_t>(id[i] - '0');
  }
  return std::make_pair(id.substr(0, 64), call);
}

// Short, single-line text of untrusted JSON for messages.
std::string shown(const json& v) {
  auto text = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

}  // namespace

void BatchExport::add(const std::string& key, const std::vector<BatchCall>& calls) {
  std::vector<std::string> lines;
  for (std::size_t j = 0; j < calls.size(); ++j) {
    json line = {{"custom_id", custom_id(key, j)}, {"method", "POST"}, {"url", calls[j].url}, {"body", json::parse(calls[j].body)}};
    lines.push_back(line.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  std::lock_guard lock(mu_);
  ++requests_;
  for (auto& l : lines) lines_.push_back(std::move(l));
}

std::size_t BatchExport::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::size_t BatchExport::calls() const {
  std::lock_guard lock(mu_);
  return lines_.size();
}

std::string BatchExport::text() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& l : lines_) out += l + "\n";
  return out;
}

std::shared_ptr<BatchImport> BatchImport::read(const std::string& path) {
  const auto text = read_whole_file(path);
  if (!text) throw BadInput(fmt::format("--import-batch {}: cannot read the file", path));
  return parse(*text, path);
}

std::shared_ptr<BatchImport> BatchImport::parse(const std::string& text, const std::string& path) {
  auto result = std::make_shared<BatchImport>();
  auto& in = *result;
  in.path_ = path;
  std::map<std::string, std::size_t> seen;  // custom_id -> line
  std::size_t number = 0, begin = 0;
  while (begin < text.size()) {
    auto end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    const std::string_view raw(text.data() + begin, end - begin);
    begin = end + 1;
    ++number;
    if (raw.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const auto where = fmt::format("{}:{}", path, number);
    json line;
    try {
      line = json::parse(raw);
    } catch (const json::exception& e) {
      throw BadInput(fmt::format("{}: not a JSON object ({}); expected a batch output line "
                                 "{{\"custom_id\": ..., \"response\": {{\"status_code\": ..., \"body\": ...}}, \"error\": ...}}",
                                 where, e.what()));
    }
    if (!line.is_object()) throw BadInput(fmt::format("{}: found {}, expected a JSON object (a batch output line)", where, shown(line)));
    const auto id = line.find("custom_id");
    if (id == line.end() || !id->is_string())
      throw BadInput(fmt::format("{}: field custom_id: found {}, expected the string recbias wrote (<cache key>-<call>)", where,
                                 id == line.end() ? "nothing" : shown(*id)));
    const auto parts = split_custom_id(id->get<std::string>());
    if (!parts)
      throw BadInput(fmt::format("{}: field custom_id: found {}, expected <64 hex digits>-<call> as written by --export-batch", where,
                                 shown(*id)));
    if (const auto [it, fresh] = seen.emplace(id->get<std::string>(), number); !fresh)
      throw BadInput(fmt::format("{}: field custom_id: {} appears again (first on line {})", where, shown(*id), it->second));
    Line entry;
    const auto response = line.find("response");
    const auto error = line.find("error");
    const bool has_response = response != line.end() && response->is_object();
    const bool has_error = error != line.end() && !error->is_null();
    if (!has_response && !has_error)
      throw BadInput(fmt::format("{}: fields response and error: found neither, expected a response object or an error", where));
    if (has_response) {
      const auto status = response->find("status_code");
      if (status == response->end() || !status->is_number_integer())
        throw BadInput(fmt::format("{}: field response.status_code: found {}, expected an HTTP status (integer)", where,
                                   status == response->end() ? "nothing" : shown(*status)));
      entry.status = status->get<int>();
      const auto body = response->find("body");
      if (entry.status == 200) {
        if (body == response->end() || !body->is_object())
          throw BadInput(fmt::format("{}: field response.body: found {}, expected the answer's JSON object", where,
                                     body == response->end() ? "nothing" : shown(*body)));
        entry.body = body->dump(-1, ' ', false, json::error_handler_t::replace);
      } else {
        entry.error = fmt::format("HTTP {}", entry.status);
        if (body != response->end()) entry.error += ": " + shown(*body);
      }
    }
    if (has_error && entry.status != 200) {
      const auto message = error->is_object() ? error->find("message") : error->end();
      entry.error = (entry.error.empty() ? "" : entry.error + "; ") +
                    (message != error->end() && message->is_string() ? message->get<std::string>() : shown(*error));
      entry.status = entry.status == 0 ? -1 : entry.status;
    }
    in.by_key_[parts->first][parts->second] = std::move(entry);
    ++in.stats_.lines;
  }
  return result;
}

std::optional<BatchAnswers> BatchImport::take(const std::string& key, std::size_t calls) {
  std::lock_guard lock(mu_);
  const auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    ++stats_.not_in_file;
    return std::nullopt;
  }
  BatchAnswers out;
  for (std::size_t j = 0; j < calls; ++j) {
    const auto line = it->second.find(j);
    if (line == it->second.end()) {
      out.failure = fmt::format("call {} is not in {}", j, path_);
      break;
    }
    line->second.used = true;
    if (line->second.status != 200) {
      out.failure = fmt::format("call {} failed in the batch: {}", j, line->second.error);
      break;
    }
    out.bodies.push_back(line->second.body);
  }
  for (auto& [j, line] : it->second) line.used = line.used || j < calls;
  if (out.failure.empty()) {
    ++stats_.imported;
  } else {
    ++stats_.failed;
    if (stats_.first_failure.empty()) stats_.first_failure = out.failure;
  }
  return out;
}

void BatchImport::failed(const std::string& why) {
  std::lock_guard lock(mu_);
  --stats_.imported;
  ++stats_.failed;
  if (stats_.first_failure.empty()) stats_.first_failure = why;
}

BatchImportStats BatchImport::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::vector<std::string> BatchImport::unused() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [key, calls] : by_key_)
    for (const auto& [j, line] : calls)
      if (!line.used) out.push_back(custom_id(key, j));
  return out;
}

}  // namespace recbias
