#include "adapters/request_codec.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/json_errors.h"
#include "core/json_io.h"

namespace recbias {
namespace {

using nlohmann::json;

json item_json(const Item& item, bool with_categories) {
  json j{{"id", item.id}, {"title", item.title}};
  if (with_categories) j["categories"] = item.categories;
  return j;
}

ItemIndex item_ref(const json& v, const Catalog& catalog, const std::string& where, const char* field) {
  const json* id = &v;
  if (v.is_object()) {
    auto it = v.find("id");
    if (it == v.end()) throw BadInput(fmt::format("{}: field {}: item object without \"id\"", where, field));
    id = &*it;
  }
  if (!id->is_string())
    throw BadInput(fmt::format("{}: field {}: found {} {}, expected an item id string", where, field, json_type_name(*id), id->dump()));
  auto index = catalog.find(id->get<std::string>());
  if (!index) throw BadInput(fmt::format("{}: field {}: item id \"{}\" is not in the dataset's catalog", where, field, id->get<std::string>()));
  return *index;
}

}  // namespace

json encode_request(const RankRequest& request, const Catalog& catalog, int max_history) {
  json history = json::array();
  const auto& h = request.user.history;
  const std::size_t from = max_history >= 0 && h.size() > static_cast<std::size_t>(max_history) ? h.size() - static_cast<std::size_t>(max_history) : 0;
  for (std::size_t i = from; i < h.size(); ++i) history.push_back(item_json(catalog.at(h[i]), false));
  json candidates = json::array();
  for (auto item : request.candidates) candidates.push_back(item_json(catalog.at(item), true));
  json j{{"id", request.id},
         {"k", request.k},
         {"sample", request.sample},
         {"user", {{"id", request.user.id}, {"attributes", request.user.attributes}, {"history", history}}},
         {"candidates", candidates}};
  if (request.open) j["open"] = true;  // only then: the keys of candidate requests stay as they were
  if (!request.user.fan_of.empty()) j["user"]["fan_of"] = request.user.fan_of;  // likewise
  return j;
}

static RankRequest decode_request_impl(const json& j, const Catalog& catalog, const std::string& where) {
  if (!j.is_object()) throw BadInput(fmt::format("{}: found a JSON {}, expected a request object", where, json_type_name(j)));
  RankRequest r;
  auto id = j.find("id");
  if (id == j.end() || !id->is_string()) throw BadInput(fmt::format("{}: field id: expected a string", where));
  r.id = *id;
  if (auto k = j.find("k"); k != j.end()) {
    if (!k->is_number_integer() || k->get<int>() < 1) throw BadInput(fmt::format("{}: field k: found {}, expected an integer >= 1", where, k->dump()));
    r.k = *k;
  }
  if (auto s = j.find("sample"); s != j.end()) {
    if (!s->is_number_unsigned()) throw BadInput(fmt::format("{}: field sample: found {}, expected a non-negative integer", where, s->dump()));
    r.sample = *s;
  }
  auto user = j.find("user");
  if (user != j.end()) {
    if (!user->is_object()) throw BadInput(fmt::format("{}: field user: expected an object", where));
    r.user.id = user->value("id", std::string());
    if (auto a = user->find("attributes"); a != user->end() && !a->is_null()) {
      if (!a->is_object()) throw BadInput(fmt::format("{}: field user.attributes: expected an object of strings", where));
      for (const auto& [name, value] : a->items()) {
        if (!value.is_string()) throw BadInput(fmt::format("{}: field user.attributes.{}: found {}, expected a string", where, name, value.dump()));
        r.user.attributes[name] = value;
      }
    }
    if (auto f = user->find("fan_of"); f != user->end() && !f->is_null()) {
      if (!f->is_string()) throw BadInput(fmt::format("{}: field user.fan_of: found {}, expected a string", where, f->dump()));
      r.user.fan_of = *f;
    }
    if (auto h = user->find("history"); h != user->end() && !h->is_null()) {
      if (!h->is_array()) throw BadInput(fmt::format("{}: field user.history: expected an array of item ids", where));
      for (const auto& v : *h) r.user.history.push_back(item_ref(v, catalog, where, "user.history"));
    }
  }
  if (auto o = j.find("open"); o != j.end() && !o->is_null()) {
    if (!o->is_boolean()) throw BadInput(fmt::format("{}: field open: found {}, expected true or false", where, o->dump()));
    r.open = *o;
  }
  auto c = j.find("candidates");
  if (r.open) {  // candidate-free: the model names items of the whole catalog
    if (c != j.end() && !(c->is_array() && c->empty()) && !c->is_null())
      throw BadInput(fmt::format("{}: field candidates: an open request shows no candidates; found {}", where, c->dump().substr(0, 80)));
    return r;
  }
  if (c == j.end() || !c->is_array() || c->empty())
    throw BadInput(fmt::format("{}: field candidates: expected a non-empty array of item ids", where));
  for (const auto& v : *c) r.candidates.push_back(item_ref(v, catalog, where, "candidates"));
  r.k = std::min<int>(r.k, static_cast<int>(r.candidates.size()));
  return r;
}

RankRequest decode_request(const json& j, const Catalog& catalog, const std::string& where) {
  return with_json_errors(where, [&] { return decode_request_impl(j, catalog, where); });
}

static void decode_answer_impl(const json& answer, const RankRequest& request, const Catalog& catalog,
                   const GroundingOptions& grounding, RankResponse& response) {
  const int k = static_cast<int>(request.candidates.size());
  if (!answer.is_object()) throw BadInput(fmt::format("answer for {}: expected a JSON object", request.id));
  if (auto e = answer.find("error"); e != answer.end() && !e->is_null()) {
    response.error = e->is_string() ? e->get<std::string>() : e->dump();
    return;
  }
  if (request.open) {
    // Candidate-free: the answer names catalog items by id.
    auto ranking = answer.find("ranking");
    if (ranking == answer.end() || !ranking->is_array())
      throw BadInput(fmt::format("answer for {}: an open (candidate-free) request is answered with field ranking: an array of catalog "
                                 "item ids",
                                 request.id));
    EntrySink sink(0, response, catalog.size());
    for (const auto& v : *ranking) {
      if (!v.is_string()) throw BadInput(fmt::format("answer for {}: field ranking: found {}, expected id strings", request.id, v.dump()));
      if (const auto item = catalog.find(v.get<std::string>())) sink.candidate(*item);
      else sink.ungrounded(v.get<std::string>());
    }
    if (!sink.any()) response.parse_failures += 1;
    return;
  }
  EntrySink sink(k, response);
  if (auto ranking = answer.find("ranking"); ranking != answer.end()) {
    if (!ranking->is_array()) throw BadInput(fmt::format("answer for {}: field ranking: expected an array of candidate ids", request.id));
    for (const auto& v : *ranking) {
      if (!v.is_string()) throw BadInput(fmt::format("answer for {}: field ranking: found {}, expected id strings", request.id, v.dump()));
      const auto id = v.get<std::string>();
      int position = -1;
      for (int i = 0; i < k; ++i)
        if (catalog.at(request.candidates[static_cast<std::size_t>(i)]).id == id) position = i;
      if (position < 0) sink.ungrounded(id);
      else sink.candidate(position);
    }
  } else if (auto positions = answer.find("positions"); positions != answer.end()) {
    if (!positions->is_array()) throw BadInput(fmt::format("answer for {}: field positions: expected an array of integers", request.id));
    for (const auto& v : *positions) {
      if (!v.is_number_integer()) throw BadInput(fmt::format("answer for {}: field positions: found {}, expected integers", request.id, v.dump()));
      const auto p = v.get<long long>();
      sink.index(p < 0 || p >= k ? 0 : p + 1);  // 0-based positions; outside 0..k-1 is out of range
    }
  } else if (auto text = answer.find("text"); text != answer.end()) {
    if (!text->is_string()) throw BadInput(fmt::format("answer for {}: field text: expected a string", request.id));
    std::vector<std::string> titles;
    for (auto item : request.candidates) titles.push_back(catalog.at(item).title);
    ground_answer(text->get<std::string>(), titles, grounding, response);
  } else {
    throw BadInput(fmt::format("answer for {}: expected one of the fields ranking, positions or text", request.id));
  }
  if (auto scores = answer.find("scores"); scores != answer.end() && !scores->is_null()) {
    if (!scores->is_array() || scores->size() != request.candidates.size())
      throw BadInput(fmt::format("answer for {}: field scores: expected {} numbers (one per candidate)", request.id, k));
    std::vector<float> s;
    for (const auto& v : *scores) {
      if (!v.is_number()) throw BadInput(fmt::format("answer for {}: field scores: found {}, expected numbers", request.id, v.dump()));
      s.push_back(v.get<float>());
    }
    response.scores = std::move(s);
  }
  if (auto usage = answer.find("usage"); usage != answer.end() && usage->is_object()) {
    for (const auto& [field, target] : {std::pair{"prompt_tokens", &response.usage.prompt_tokens},
                                        std::pair{"completion_tokens", &response.usage.completion_tokens}}) {
      auto v = usage->find(field);
      if (v == usage->end() || v->is_null()) continue;
      const auto count = json_count(*v);
      if (!count)
        throw BadInput(fmt::format("answer for {}: field usage.{}: found {}, expected a non-negative integer", request.id, field,
                                   v->dump().substr(0, 40)));
      *target = *count;
    }
  }
  if (grounding.repair && !answer.contains("text")) {  // ground_answer repaired text answers
    if (response.ranking.empty() && k > 0) response.first_entry_unusable = true;
    for (int i = 0; i < k; ++i)
      if (!sink.taken()[static_cast<std::size_t>(i)]) {
        response.ranking.push_back(i);
        ++response.repaired;
      }
  }
}

void decode_answer(const json& answer, const RankRequest& request, const Catalog& catalog,
                   const GroundingOptions& grounding, RankResponse& response) {
  with_json_errors(fmt::format("answer to request {}", request.id), [&] { decode_answer_impl(answer, request, catalog, grounding, response); });
}

json encode_response(const RankResponse& response, const RankRequest& request, const Catalog& catalog) {
  json ranking = json::array();
  for (int p : response.ranking) ranking.push_back(catalog.at(request.candidates[static_cast<std::size_t>(p)]).id);
  json j{{"id", response.request_id},
         {"ranking", ranking},
         {"positions", response.ranking},
         {"ungrounded", response.ungrounded},
         {"duplicates", response.duplicates},
         {"out_of_range", response.out_of_range},
         {"parse_failures", response.parse_failures},
         {"repaired", response.repaired},
         {"truncated", response.truncated},
         {"usage", response.usage}};
  if (response.first_entry_unusable) j["first_entry_unusable"] = true;
  if (response.scores) j["scores"] = *response.scores;
  if (response.error) j["error"] = *response.error;
  if (response.raw) j["raw"] = response.raw->body;
  return j;
}

}  // namespace recbias
