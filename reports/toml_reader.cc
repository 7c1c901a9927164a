#include "reports/toml_reader.h"

#include <toml++/toml.h>

#include <fmt/format.h>

#include "core/errors.h"

namespace recbias {
namespace {

using json = nlohmann::json;

json to_json(const toml::node& node, const std::string& path, std::map<std::string, int>* lines) {
  if (lines && !path.empty()) (*lines)[path] = static_cast<int>(node.source().begin.line);
  switch (node.type()) {
    case toml::node_type::table: {
      json out = json::object();
      for (const auto& [key, value] : *node.as_table()) {
        const std::string name(key.str());
        out[name] = to_json(value, path.empty() ? name : path + "." + name, lines);
      }
      return out;
    }
    case toml::node_type::array: {
      json out = json::array();
      std::size_t i = 0;
      for (const auto& value : *node.as_array()) out.push_back(to_json(value, fmt::format("{}.{}", path, i++), lines));
      return out;
    }
    case toml::node_type::string: return node.as_string()->get();
    case toml::node_type::integer: return node.as_integer()->get();
    case toml::node_type::floating_point: return node.as_floating_point()->get();
    case toml::node_type::boolean: return node.as_boolean()->get();
    case toml::node_type::date: {
      const auto d = node.as_date()->get();
      return fmt::format("{:04}-{:02}-{:02}", d.year, d.month, d.day);
    }
    case toml::node_type::time: {
      const auto t = node.as_time()->get();
      return fmt::format("{:02}:{:02}:{:02}", t.hour, t.minute, t.second);
    }
    case toml::node_type::date_time: {
      const auto dt = node.as_date_time()->get();
      return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", dt.date.year, dt.date.month, dt.date.day, dt.time.hour, dt.time.minute,
                         dt.time.second);
    }
    case toml::node_type::none: break;
  }
  return nullptr;
}

}  // namespace

json parse_toml(const std::string& text, const std::string& where, std::map<std::string, int>* lines) {
  toml::table table;
  try {
    table = toml::parse(text, where);
  } catch (const toml::parse_error& e) {
    throw BadInput(fmt::format("{}:{}:{}: {}", where, e.source().begin.line, e.source().begin.column, e.description()));
  }
  return to_json(table, "", lines);
}

}  // namespace recbias
