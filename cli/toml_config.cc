#include "cli/toml_config.h"

#include <charconv>
#include <iterator>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "core/errors.h"
#include "reports/toml_reader.h"

namespace recbias::cli {
namespace {

bool skipped(const CLI::Option* option, const std::string& config_flag) {
  const auto& names = option->get_lnames();
  return names.empty() || names[0] == "help" || names[0] == "help-all" || "--" + names[0] == config_flag || names[0] == "print-config";
}

bool looks_numeric(const std::string& text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::string toml_value(const std::string& text) {
  if (text == "true" || text == "false" || looks_numeric(text)) return text;
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // a JSON string is a TOML basic string
}

// The option's values as text: what the command line or file gave, else its default.
std::vector<std::string> values_of(const CLI::Option* option) {
  if (option->count() > 0) {
    if (option->get_type_size() == 0) return {option->as<bool>() ? "true" : "false"};
    return option->results();
  }
  // A repeatable option's default is the empty list (CLI11 shows it as "[]"):
  // nothing to print, never the text "[]" as a value.
  if (option->get_items_expected_max() > 1 || option->get_expected_max() > 1) return {};
  const auto d = option->get_default_str();
  if (d.empty()) return {};
  return {d};
}

}  // namespace

std::string TomlConfig::path() const {
  const auto* option = root_->get_option_no_throw(config_flag_);
  return option && option->count() > 0 ? option->results().front() : std::string("config");
}

std::vector<CLI::ConfigItem> TomlConfig::from_config(std::istream& input) const {
  const std::string text{std::istreambuf_iterator<char>(input), std::istreambuf_iterator<char>()};
  const auto file = path();
  if (!root_->got_subcommand(app_))
    throw BadInput(fmt::format("{} {}: a config file is for `recbias {}` (give it after the subcommand)", config_flag_, file, app_->get_name()));
  std::map<std::string, int> lines;
  const auto j = parse_toml(text, file, &lines);
  std::vector<CLI::ConfigItem> read;
  for (const auto& entry : j.items()) {
    const std::string key = entry.key();  // not a structured binding: the lambda below captures it (clang 14)
    const auto& value = entry.value();
    const int line = lines.count(key) ? lines.at(key) : 0;
    std::string name = key;
    for (auto& c : name)
      if (c == '_') c = '-';
    const auto* option = app_->get_option_no_throw("--" + name);
    if (!option || skipped(option, config_flag_)) {
      std::vector<std::string> known;
      for (const auto* o : app_->get_options())
        if (!skipped(o, config_flag_)) known.push_back(o->get_lnames()[0]);
      throw BadInput(fmt::format("{}:{}: unknown key \"{}\"; the keys are {}'s flags without the dashes: {}", file, line, key,
                                 app_->get_name(), fmt::join(known, ", ")));
    }
    CLI::ConfigItem item;
    item.parents = {app_->get_name()};
    item.name = name;
    auto add = [&](const nlohmann::json& v) {
      if (v.is_string()) item.inputs.push_back(v.get<std::string>());
      else if (v.is_boolean()) item.inputs.push_back(v.get<bool>() ? "true" : "false");
      else if (v.is_number_integer()) item.inputs.push_back(std::to_string(v.get<std::int64_t>()));
      else if (v.is_number()) item.inputs.push_back(fmt::format("{}", v.get<double>()));
      else
        throw BadInput(fmt::format("{}:{}: key {}: found {}, expected a string, number, boolean or an array of them", file, line, key,
                                   v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
    };
    if (value.is_array()) {
      for (const auto& v : value) add(v);
    } else {
      add(value);
    }
    lines_[name] = line;
    read.push_back(std::move(item));
  }
  return read;
}

std::string TomlConfig::where_set(const std::string& message) const {
  static const std::regex flag(R"(--([A-Za-z0-9-]+))");
  std::smatch m;
  if (!std::regex_search(message, m, flag)) return "";
  const auto it = lines_.find(m[1].str());
  if (it == lines_.end()) return "";
  const auto* option = app_->get_option_no_throw("--" + it->first);
  if (!option) return "";
  return fmt::format(" (set in {}:{})", path(), it->second);
}

std::string TomlConfig::to_config(const CLI::App* app, bool default_also, bool write_description, std::string prefix) const {
  (void)prefix;
  std::string out = fmt::format("# recbias {}: the resolved configuration (command line over config file over defaults)\n", app->get_name());
  for (const auto* option : app->get_options()) {
    if (skipped(option, config_flag_) || option->get_lnames()[0] == "version") continue;
    if (option->count() == 0 && !default_also) continue;
    const auto values = values_of(option);
    if (values.empty()) continue;
    if (write_description && !option->get_description().empty()) out += "# " + option->get_description() + "\n";
    const bool many = option->get_items_expected_max() > 1 || option->get_expected_max() > 1;
    std::string text;
    if (many) {
      text = "[";
      for (std::size_t i = 0; i < values.size(); ++i) text += (i ? ", " : "") + toml_value(values[i]);
      text += "]";
    } else {
      text = toml_value(values.back());
    }
    out += fmt::format("{} = {}\n", option->get_lnames()[0], text);
  }
  return out;
}

nlohmann::ordered_json resolved_options(const CLI::App& app) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto* option : app.get_options()) {
    if (skipped(option, "--config")) continue;
    const auto values = values_of(option);
    if (values.empty()) continue;
    const bool many = option->get_items_expected_max() > 1 || option->get_expected_max() > 1;
    out[option->get_lnames()[0]] = many ? nlohmann::ordered_json(values) : nlohmann::ordered_json(values.back());
  }
  return out;
}

}  // namespace recbias::cli
