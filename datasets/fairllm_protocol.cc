#include "datasets/fairllm_protocol.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/errors.h"
#include "core/file_io.h"
#include "core/text.h"

namespace recbias {
namespace {

const std::vector<FairllmProtocol>& protocols() {
  static const std::vector<FairllmProtocol> all = {
      {"fairllm-movie", "movie/director.csv", "Director", "movie"},
      {"fairllm-music", "music/10000-MTV-Music-Artists-page-1.csv", "name", "song"},
  };
  return all;
}

// RFC 4180 records: comma-separated fields, double-quoted fields may hold
// commas, line breaks and "" for a quote. Each record keeps its first line.
struct CsvRecord {
  std::vector<std::string> fields;
  int line = 0;
};

std::vector<CsvRecord> parse_csv(const std::string& text, const std::string& path) {
  std::vector<CsvRecord> records;
  CsvRecord record{{}, 1};
  std::string field;
  bool quoted = false, field_started = false;
  int line = 1;
  int quote_line = 0;
  auto end_field = [&] {
    record.fields.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  auto end_record = [&] {
    end_field();
    records.push_back(std::move(record));
    record = CsvRecord{{}, line};
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = field_started = true;
      quote_line = line;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      end_record();
    } else {
      field.push_back(c);
      field_started = true;
    }
  }
  if (quoted) throw BadInput(fmt::format("{}:{}: a quoted field is never closed (expected a closing \")", path, quote_line));
  if (field_started || !record.fields.empty()) end_record();
  return records;
}

}  // namespace

const FairllmProtocol& fairllm_protocol(const std::string& name) {
  for (const auto& p : protocols())
    if (p.name == name) return p;
  throw BadInput(fmt::format("--protocol {}: expected one of {}", name, fmt::join(fairllm_protocol_names(), ", ")));
}

std::vector<std::string> fairllm_protocol_names() {
  std::vector<std::string> names;
  for (const auto& p : protocols()) names.push_back(p.name);
  return names;
}

std::vector<std::string> read_fairllm_seeds(const FairllmProtocol& protocol, const std::string& fairllm_dir, int count) {
  const auto path = (std::filesystem::path(fairllm_dir) / protocol.seed_file).string();
  const auto text = read_whole_file(path);
  if (!text) throw BadInput(fmt::format("--protocol {}: cannot read {} (FaiRLLM's seed list; give FaiRLLM's folder with --fairllm)", protocol.name, path));
  if (auto bad = find_invalid_utf8(*text)) throw BadInput(fmt::format("{}: invalid UTF-8 at byte {}", path, *bad + 1));
  auto records = parse_csv(text->starts_with("\xEF\xBB\xBF") ? text->substr(3) : *text, path);
  if (records.empty()) throw BadInput(fmt::format("{}: empty file, expected a header line with a {} column", path, protocol.seed_column));
  const auto& header = records.front().fields;
  const auto column = std::find(header.begin(), header.end(), protocol.seed_column);
  if (column == header.end())
    throw BadInput(fmt::format("{}:1: no column \"{}\" in the header (found: {})", path, protocol.seed_column, fmt::join(header, ", ")));
  const auto at = static_cast<std::size_t>(column - header.begin());
  std::vector<std::string> seeds;
  for (std::size_t r = 1; r < records.size() && static_cast<int>(seeds.size()) < count; ++r) {
    const auto& rec = records[r];
    if (rec.fields.size() == 1 && rec.fields[0].empty()) continue;  // a blank line
    if (at >= rec.fields.size())
      throw BadInput(fmt::format("{}:{}: field {}: missing (the record has {} fields, the header {})", path, rec.line, protocol.seed_column,
                                 rec.fields.size(), header.size()));
    if (trim(rec.fields[at]).empty())
      throw BadInput(fmt::format("{}:{}: field {}: found an empty name, expected {}", path, rec.line, protocol.seed_column,
                                 protocol.item == "movie" ? "a director" : "an artist"));
    seeds.push_back(rec.fields[at]);
  }
  if (static_cast<int>(seeds.size()) < count)
    throw BadInput(fmt::format("{}: {} names, --users asks for {}", path, seeds.size(), count));
  return seeds;
}

RequestSet fairllm_requests(Workload& workload, const FairllmProtocol& protocol, const std::vector<std::string>& seeds, int k) {
  if (k < 1) throw BadInput(fmt::format("--k {}: expected at least 1", k));
  RequestSet set;
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    UserContext user;
    user.id = fmt::format("{}/{}", protocol.name, i + 1);
    user.fan_of = seeds[i];
    EvalRequest e;
    e.user = static_cast<std::int32_t>(workload.users.size());
    e.positive = -1;
    e.positive_position = -1;
    e.request.id = "u" + user.id;
    e.request.user = user;
    e.request.k = k;
    e.request.open = true;
    workload.users.push_back(std::move(user));
    workload.held_out.emplace_back();
    if (!workload.history_ratings.empty()) workload.history_ratings.emplace_back();
    set.requests.push_back(std::move(e));
  }
  return set;
}

}  // namespace recbias
