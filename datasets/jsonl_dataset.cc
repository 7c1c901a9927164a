#include "datasets/jsonl_dataset.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/json_io.h"
#include "core/text.h"
#include "datasets/line_reader.h"

namespace recbias {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Calls `row(object)` for each non-blank line of a JSONL file, after checking
// UTF-8 and JSON syntax; errors name file:line.
template <typename Row>
void for_each_object(LineReader& reader, std::string_view expected, Row&& row) {
  std::string line;
  bool any = false;
  while (reader.next(line)) {
    if (trim(line).empty()) continue;
    any = true;
    if (auto bad = find_invalid_utf8(line))
      reader.fail(fmt::format("invalid UTF-8 at byte {} (found byte 0x{:02X}); expected UTF-8 text "
                              "(convert with: iconv -f latin1 -t utf-8)",
                              *bad + 1, static_cast<unsigned char>(line[*bad])));
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      reader.fail(fmt::format("invalid JSON at byte {}: expected one object per line like {}", e.byte, expected));
    } catch (const json::exception& e) {  // a number beyond double's range
      reader.fail(fmt::format("invalid JSON ({}): expected one object per line like {}", e.what(), expected));
    }
    if (!j.is_object()) reader.fail(fmt::format("found a JSON {}, expected an object like {}", json_type_name(j), expected));
    row(j);
  }
  if (!any) throw BadInput(fmt::format("{}: file is empty; expected JSON objects like {}", reader.path(), expected));
}

std::string string_field(const LineReader& reader, const json& j, const char* field, bool required) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    if (required) reader.fail_field(field, "(missing)", "a string");
    return {};
  }
  if (!it->is_string()) reader.fail_field(field, it->dump(), "a string");
  return it->get<std::string>();
}

}  // namespace

std::string folder_name(const std::string& folder) {
  auto path = fs::path(folder).lexically_normal();
  if (path.filename().empty()) path = path.parent_path();
  auto name = path.filename().string();
  return name.empty() || name == "." ? fs::absolute(path).lexically_normal().filename().string() : name;
}

Dataset load_jsonl_dataset(const std::string& folder) {
  Dataset ds;
  ds.format = "jsonl";
  ds.path = folder;
  ds.name = folder_name(folder);

  LineReader items(( fs::path(folder) / "items.jsonl").string(), "items (items.jsonl)");
  ds.files.push_back(items.path());
  for_each_object(items, R"({"id": "i1", "title": "...", "categories": ["..."], "year": 1996, "attributes": {"provider": "..."}})",
                  [&](const json& j) {
    Item item;
    item.id = string_field(items, j, "id", true);
    if (item.id.empty()) items.fail_field("id", "", "a non-empty string");
    item.title = string_field(items, j, "title", false);
    if (auto c = j.find("categories"); c != j.end() && !c->is_null()) {
      if (!c->is_array()) items.fail_field("categories", c->dump(), "an array of strings");
      for (const auto& v : *c) {
        if (!v.is_string()) items.fail_field("categories", v.dump(), "an array of strings");
        item.categories.push_back(v.get<std::string>());
      }
    }
    if (auto y = j.find("year"); y != j.end() && !y->is_null()) {
      if (!y->is_number_integer() || y->get<std::int64_t>() < 1800 || y->get<std::int64_t>() > 2100)
        items.fail_field("year", y->dump(), "an integer release year in 1800-2100");
      item.year = y->get<int>();
    }
    // Item groups for the exposure audit and fair:group=ATTR:VALUE: a string or an array of strings per attribute.
    if (auto a = j.find("attributes"); a != j.end() && !a->is_null()) {
      if (!a->is_object()) items.fail_field("attributes", a->dump(), "an object mapping attribute names to a string or an array of strings");
      for (const auto& [name, value] : a->items()) {
        const auto field = fmt::format("attributes.{}", name);
        if (name.empty() || name == "genre" || name == "era")
          items.fail_field(field, name,
                           "an attribute name other than genre (give genres as \"categories\") and era (it comes from \"year\" or the title)");
        auto& values = item.attributes[name];
        auto add = [&](const json& v) {
          if (!v.is_string() || v.get<std::string>().empty()) items.fail_field(field, v.dump(), "a non-empty string or an array of them");
          if (std::find(values.begin(), values.end(), v.get<std::string>()) == values.end()) values.push_back(v.get<std::string>());
        };
        if (value.is_array()) {
          for (const auto& v : value) add(v);
        } else {
          add(value);
        }
        if (values.empty()) items.fail_field(field, value.dump(), "a non-empty string or a non-empty array of them");
      }
    }
    if (ds.catalog.find(item.id)) items.fail_field("id", item.id, "an id not seen before in this file");
    ds.catalog.add(std::move(item));
  });

  LineReader users((fs::path(folder) / "users.jsonl").string(), "users (users.jsonl)");
  ds.files.push_back(users.path());
  std::unordered_map<std::string, std::int32_t> user_index;
  std::map<std::string, std::set<std::string>> domains;
  for_each_object(users, R"({"id": "u1", "attributes": {"gender": "F"}})", [&](const json& j) {
    UserRecord user;
    user.id = string_field(users, j, "id", true);
    if (user.id.empty()) users.fail_field("id", "", "a non-empty string");
    if (auto a = j.find("attributes"); a != j.end() && !a->is_null()) {
      if (!a->is_object()) users.fail_field("attributes", a->dump(), "an object of string values");
      for (const auto& [name, value] : a->items()) {
        if (!value.is_string()) users.fail_field(fmt::format("attributes.{}", name), value.dump(), "a string");
        user.attributes[name] = value.get<std::string>();
        domains[name].insert(value.get<std::string>());
      }
    }
    if (!user_index.emplace(user.id, static_cast<std::int32_t>(ds.users.size())).second)
      users.fail_field("id", user.id, "an id not seen before in this file");
    ds.users.push_back(std::move(user));
  });
  for (const auto& [name, values] : domains) ds.attributes.push_back({name, {values.begin(), values.end()}});

  LineReader inter((fs::path(folder) / "interactions.jsonl").string(), "interactions (interactions.jsonl)");
  ds.files.push_back(inter.path());
  for_each_object(inter, R"({"user": "u1", "item": "i1", "timestamp": 1700000000, "rating": 4})", [&](const json& j) {
    const auto user = string_field(inter, j, "user", true);
    const auto item = string_field(inter, j, "item", true);
    auto u = user_index.find(user);
    if (u == user_index.end()) inter.fail_field("user", user, "a user id listed in users.jsonl");
    auto i = ds.catalog.find(item);
    if (!i) inter.fail_field("item", item, "an item id listed in items.jsonl");
    Interaction row{u->second, *i, 1.0, 0};
    auto t = j.find("timestamp");
    if (t == j.end()) inter.fail_field("timestamp", "(missing)", "an integer");
    if (!t->is_number_integer()) inter.fail_field("timestamp", t->dump(), "an integer");
    row.timestamp = t->get<std::int64_t>();
    if (auto r = j.find("rating"); r != j.end() && !r->is_null()) {
      if (!r->is_number()) inter.fail_field("rating", r->dump(), "a number");
      row.rating = r->get<double>();
    }
    ds.interactions.push_back(row);
  });
  return ds;
}

void write_jsonl_dataset(const Dataset& dataset, const std::string& folder) {
  // Check all three first, so that a refusal leaves nothing half-written.
  for (const char* name : {"items.jsonl", "users.jsonl", "interactions.jsonl"}) {
    const auto path = (fs::path(folder) / name).string();
    if (fs::exists(path)) throw BadInput(fmt::format("{} already exists; refusing to overwrite it", path));
  }
  fs::create_directories(folder);
  auto open = [&](const char* name) {
    const auto path = (fs::path(folder) / name).string();
    std::ofstream out(path, std::ios::binary);
    if (!out) throw BadInput(fmt::format("cannot write {}", path));
    return out;
  };
  {
    auto out = open("items.jsonl");
    for (const auto& item : dataset.catalog.items()) {
      json j{{"id", item.id}, {"title", item.title}, {"categories", item.categories}};
      if (item.year != 0) j["year"] = item.year;
      if (!item.attributes.empty()) j["attributes"] = item.attributes;
      out << j.dump() << '\n';
    }
  }
  {
    auto out = open("users.jsonl");
    for (const auto& user : dataset.users) out << json{{"id", user.id}, {"attributes", user.attributes}}.dump() << '\n';
  }
  auto out = open("interactions.jsonl");
  for (const auto& row : dataset.interactions)
    out << json{{"user", dataset.users[static_cast<std::size_t>(row.user)].id},
                {"item", dataset.catalog.at(row.item).id},
                {"timestamp", row.timestamp},
                {"rating", row.rating}}.dump()
        << '\n';
}

}  // namespace recbias
