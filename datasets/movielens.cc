#include "datasets/movielens.h"

#include <filesystem>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "core/errors.h"
#include "core/text.h"
#include "datasets/attributes.h"
#include "datasets/jsonl_dataset.h"
#include "datasets/line_reader.h"

namespace recbias {
namespace {

namespace fs = std::filesystem;

std::string in_folder(const std::string& folder, const char* file) { return (fs::path(folder) / file).string(); }

// Splits `line` and fails unless it has exactly `expected` fields.
std::vector<std::string_view> fields_of(const LineReader& reader, std::string_view line, std::string_view sep,
                                        std::size_t expected, std::string_view layout) {
  auto fields = split(line, sep);
  if (fields.size() != expected)
    reader.fail(fmt::format("found {} fields separated by \"{}\", expected {} ({})", fields.size(), sep, expected, layout));
  return fields;
}

std::int64_t int_field(const LineReader& reader, std::string_view value, std::string_view field,
                       std::int64_t min, std::int64_t max) {
  auto parsed = parse_int(trim(value));
  if (!parsed || *parsed < min || *parsed > max)
    reader.fail_field(field, value, fmt::format("an integer in [{}, {}]", min, max));
  return *parsed;
}

// Genre names of u.genre, indexed by their number.
std::vector<std::string> read_genres_100k(const std::string& folder, std::vector<std::string>& files) {
  LineReader reader(in_folder(folder, "u.genre"), "MovieLens 100K genres (u.genre)");
  files.push_back(reader.path());
  std::vector<std::string> genres;
  std::string line;
  while (reader.next(line)) {
    if (trim(line).empty()) continue;
    auto f = fields_of(reader, line, "|", 2, "name|index");
    const auto index = int_field(reader, f[1], "index (2)", 0, 1000);
    if (index != static_cast<std::int64_t>(genres.size()))
      reader.fail_field("index (2)", f[1], fmt::format("{} (genres numbered 0, 1, 2, ... in order)", genres.size()));
    genres.push_back(latin1_to_utf8(f[0]));
  }
  reader.require_nonempty("lines \"name|index\"");
  if (genres.empty()) throw BadInput(fmt::format("{}: no genres found; expected lines \"name|index\"", reader.path()));
  return genres;
}

std::unordered_map<std::int64_t, ItemIndex> read_items_100k(const std::string& folder,
                                                            const std::vector<std::string>& genres, Dataset& ds) {
  LineReader reader(in_folder(folder, "u.item"), "MovieLens 100K items (u.item)");
  ds.files.push_back(reader.path());
  std::unordered_map<std::int64_t, ItemIndex> by_id;
  const std::size_t n_fields = 5 + genres.size();
  const std::string layout = fmt::format("id|title|release date|video release date|IMDb URL|{} genre flags", genres.size());
  std::string line;
  while (reader.next(line)) {
    auto f = fields_of(reader, line, "|", n_fields, layout);
    const auto id = int_field(reader, f[0], "movie id (1)", 1, 1'000'000'000);
    Item item;
    item.id = std::to_string(id);
    item.title = latin1_to_utf8(f[1]);
    for (std::size_t g = 0; g < genres.size(); ++g) {
      const auto flag = f[5 + g];
      if (flag == "1") item.categories.push_back(genres[g]);
      else if (flag != "0")
        reader.fail_field(fmt::format("genre flag \"{}\" ({})", genres[g], 6 + g), flag, "0 or 1");
    }
    if (by_id.count(id)) reader.fail_field("movie id (1)", f[0], "an id not seen before in this file");
    by_id[id] = ds.catalog.add(std::move(item));
  }
  reader.require_nonempty(layout);
  return by_id;
}

std::unordered_map<std::int64_t, std::int32_t> read_users_100k(const std::string& folder, Dataset& ds) {
  std::set<std::string> occupations;
  const auto occupation_path = in_folder(folder, "u.occupation");
  if (fs::exists(occupation_path)) {
    LineReader reader(occupation_path, "MovieLens 100K occupations (u.occupation)");
    ds.files.push_back(reader.path());
    std::string line;
    while (reader.next(line))
      if (!trim(line).empty()) occupations.insert(std::string(trim(line)));
    reader.require_nonempty("one occupation name per line");
  }
  LineReader reader(in_folder(folder, "u.user"), "MovieLens 100K users (u.user)");
  ds.files.push_back(reader.path());
  std::unordered_map<std::int64_t, std::int32_t> by_id;
  std::set<std::string> seen_occupations;
  std::string line;
  while (reader.next(line)) {
    auto f = fields_of(reader, line, "|", 5, "user id|age|gender|occupation|zip code");
    const auto id = int_field(reader, f[0], "user id (1)", 1, 1'000'000'000);
    const auto age = int_field(reader, f[1], "age (2)", 1, 120);
    if (f[2] != "M" && f[2] != "F") reader.fail_field("gender (3)", f[2], "M or F");
    const std::string occupation = latin1_to_utf8(trim(f[3]));
    if (!occupations.empty() && !occupations.count(occupation))
      reader.fail_field("occupation (4)", f[3], "one of the names in u.occupation");
    if (occupation.empty()) reader.fail_field("occupation (4)", f[3], "an occupation name");
    if (by_id.count(id)) reader.fail_field("user id (1)", f[0], "an id not seen before in this file");
    seen_occupations.insert(occupation);
    UserRecord user{std::to_string(id), {{"gender", std::string(f[2])}, {"age", *age_band(static_cast<int>(age))},
                                         {"occupation", occupation}}};
    by_id[id] = static_cast<std::int32_t>(ds.users.size());
    ds.users.push_back(std::move(user));
  }
  reader.require_nonempty("lines \"user id|age|gender|occupation|zip code\"");
  const auto& domain = occupations.empty() ? seen_occupations : occupations;
  ds.attributes = {{"gender", {"F", "M"}},
                   {"age", movielens_age_bands()},
                   {"occupation", std::vector<std::string>(domain.begin(), domain.end())}};
  return by_id;
}

template <typename UserMap, typename ItemMap>
void read_ratings(LineReader& reader, std::string_view sep, const UserMap& users, const ItemMap& items,
                  std::string_view layout, std::string_view user_file, std::string_view item_file, Dataset& ds) {
  std::string line;
  while (reader.next(line)) {
    auto f = fields_of(reader, line, sep, 4, layout);
    const auto user = int_field(reader, f[0], "user id (1)", 1, 1'000'000'000);
    const auto item = int_field(reader, f[1], "item id (2)", 1, 1'000'000'000);
    const auto rating = int_field(reader, f[2], "rating (3)", 1, 5);
    const auto timestamp = int_field(reader, f[3], "timestamp (4)", 0, 32'503'680'000);
    auto u = users.find(user);
    if (u == users.end()) reader.fail_field("user id (1)", f[0], fmt::format("a user listed in {}", user_file));
    auto i = items.find(item);
    if (i == items.end()) reader.fail_field("item id (2)", f[1], fmt::format("an item listed in {}", item_file));
    ds.interactions.push_back({u->second, i->second, static_cast<double>(rating), timestamp});
  }
  reader.require_nonempty(layout);
}

}  // namespace

Dataset load_movielens_100k(const std::string& folder) {
  Dataset ds;
  ds.format = "movielens-100k";
  ds.path = folder;
  ds.name = folder_name(folder);
  const auto genres = read_genres_100k(folder, ds.files);
  const auto items = read_items_100k(folder, genres, ds);
  const auto users = read_users_100k(folder, ds);
  LineReader ratings(in_folder(folder, "u.data"), "MovieLens 100K ratings (u.data)");
  ds.files.push_back(ratings.path());
  read_ratings(ratings, "\t", users, items, "user id<TAB>item id<TAB>rating<TAB>timestamp", "u.user", "u.item", ds);
  return ds;
}

Dataset load_movielens_1m(const std::string& folder) {
  Dataset ds;
  ds.format = "movielens-1m";
  ds.path = folder;
  ds.name = folder_name(folder);
  std::unordered_map<std::int64_t, ItemIndex> items;
  {
    LineReader reader(in_folder(folder, "movies.dat"), "MovieLens 1M movies (movies.dat)");
    ds.files.push_back(reader.path());
    std::string line;
    while (reader.next(line)) {
      auto f = fields_of(reader, line, "::", 3, "MovieID::Title::Genres");
      const auto id = int_field(reader, f[0], "MovieID (1)", 1, 1'000'000'000);
      Item item{std::to_string(id), latin1_to_utf8(f[1]), {}, 0};
      if (!f[2].empty() && f[2] != "(no genres listed)")
        for (auto g : split(f[2], "|")) {
          if (trim(g).empty()) reader.fail_field("Genres (3)", f[2], "genre names separated by |");
          item.categories.push_back(latin1_to_utf8(g));
        }
      if (items.count(id)) reader.fail_field("MovieID (1)", f[0], "an id not seen before in this file");
      items[id] = ds.catalog.add(std::move(item));
    }
    reader.require_nonempty("lines \"MovieID::Title::Genres\"");
  }
  std::unordered_map<std::int64_t, std::int32_t> users;
  {
    LineReader reader(in_folder(folder, "users.dat"), "MovieLens 1M users (users.dat)");
    ds.files.push_back(reader.path());
    std::string line;
    const auto& occupations = movielens_1m_occupations();
    while (reader.next(line)) {
      auto f = fields_of(reader, line, "::", 5, "UserID::Gender::Age::Occupation::Zip-code");
      const auto id = int_field(reader, f[0], "UserID (1)", 1, 1'000'000'000);
      if (f[1] != "M" && f[1] != "F") reader.fail_field("Gender (2)", f[1], "M or F");
      auto band = movielens_1m_age_band(static_cast<int>(int_field(reader, f[2], "Age (3)", 1, 56)));
      if (!band) reader.fail_field("Age (3)", f[2], "one of the age codes 1, 18, 25, 35, 45, 50, 56");
      const auto occupation = int_field(reader, f[3], "Occupation (4)", 0, 20);
      if (users.count(id)) reader.fail_field("UserID (1)", f[0], "an id not seen before in this file");
      users[id] = static_cast<std::int32_t>(ds.users.size());
      ds.users.push_back({std::to_string(id),
                          {{"gender", std::string(f[1])}, {"age", *band},
                           {"occupation", occupations[static_cast<std::size_t>(occupation)]}}});
    }
    reader.require_nonempty("lines \"UserID::Gender::Age::Occupation::Zip-code\"");
    ds.attributes = {{"gender", {"F", "M"}}, {"age", movielens_age_bands()}, {"occupation", occupations}};
  }
  const auto ratings_path = in_folder(folder, "ratings.dat");
  if (!fs::exists(ratings_path))
    throw BadInput(fmt::format("{}: MovieLens 1M ratings file is missing; get ml-1m.zip from GroupLens "
                               "(sha256 of ratings.dat: 506d64ca44484487c11dc2d9a28de5c54948213e6b96285e298afe28d6ea4e0f)",
                               ratings_path));
  LineReader ratings(ratings_path, "MovieLens 1M ratings (ratings.dat)");
  ds.files.push_back(ratings.path());
  read_ratings(ratings, "::", users, items, "UserID::MovieID::Rating::Timestamp", "users.dat", "movies.dat", ds);
  return ds;
}

}  // namespace recbias
