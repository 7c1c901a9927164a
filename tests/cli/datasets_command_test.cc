// End-to-end tests of `recbias datasets ...` through the built executable:
// exit codes and messages, including the malformed-input table.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/datasets/fixtures.h"

using namespace recbias::testing;
using Catch::Matchers::Contains;

TEST_CASE("datasets describe --json reports the MovieLens 100K counts", "[cli][real-data]") {
  RECBIAS_REQUIRE_DATASET(folder, "ml-100k", "u.data");
  const auto r = run_recbias({"datasets", "describe", folder, "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["users"] == 943);
  CHECK(j["items"] == 1682);
  CHECK(j["interactions"] == 100000);
  CHECK(j["attributes"]["gender"]["M"] == 670);
  CHECK(j["attributes"]["gender"]["F"] == 273);
}

TEST_CASE("datasets describe prints a readable summary", "[cli]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  const auto r = run_recbias({"datasets", "describe", dir.path().string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("users         2"));
  CHECK_THAT(r.out, Contains("interactions  3"));
  CHECK_THAT(r.out, Contains("gender        F 1, M 1"));
}

namespace {

struct BadInputCase {
  const char* name;
  void (*write)(const TempDir&);  // writes the dataset into the folder
  const char* file_and_line;      // "u.data:2" — must appear in the message
  const char* message;            // the rest of what the message must say
};

void ml(const TempDir& d) { write_tiny_ml100k(d); }

const BadInputCase kBadInputs[] = {
    {"missing field in u.data", [](const TempDir& d) { ml(d); write_file(d / "u.data", "1\t1\t5\t100\n1\t2\t3\n"); },
     "u.data:2", "found 3 fields"},
    {"non-numeric user id in u.data", [](const TempDir& d) { ml(d); write_file(d / "u.data", "x1\t1\t5\t100\n"); },
     "u.data:1", "field user id (1): found \"x1\", expected an integer"},
    {"rating out of range", [](const TempDir& d) { ml(d); write_file(d / "u.data", "1\t1\t9\t100\n"); },
     "u.data:1", "field rating (3): found \"9\", expected an integer in [1, 5]"},
    {"unknown item in interactions", [](const TempDir& d) { ml(d); write_file(d / "u.data", "1\t1\t5\t100\n2\t99\t3\t5\n"); },
     "u.data:2", "field item id (2): found \"99\", expected an item listed in u.item"},
    {"unknown user in interactions", [](const TempDir& d) { ml(d); write_file(d / "u.data", "7\t1\t5\t100\n"); },
     "u.data:1", "expected a user listed in u.user"},
    {"empty ratings file", [](const TempDir& d) { ml(d); write_file(d / "u.data", ""); },
     "u.data", "file is empty"},
    {"bad gender in u.user", [](const TempDir& d) { ml(d); write_file(d / "u.user", "1|24|X|engineer|85711\n"); },
     "u.user:1", "field gender (3): found \"X\", expected M or F"},
    {"unknown occupation", [](const TempDir& d) { ml(d); write_file(d / "u.user", "1|24|M|engineer|1\n2|30|F|pilot|2\n"); },
     "u.user:2", "expected one of the names in u.occupation"},
    {"bad genre flag in u.item",
     [](const TempDir& d) { ml(d); write_file(d / "u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0|2|0\n"); },
     "u.item:1", "found \"2\", expected 0 or 1"},
    {"duplicate item id", [](const TempDir& d) { ml(d); write_file(d / "u.item", "1|A|||u|0|0|1\n1|B|||u|0|1|0\n"); },
     "u.item:2", "expected an id not seen before"},
    {"bad encoding in JSON Lines",
     [](const TempDir& d) { write_tiny_jsonl(d); write_file(d / "items.jsonl", "{\"id\": \"a\", \"title\": \"Caf\xe9\"}\n"); },
     "items.jsonl:1", "invalid UTF-8 at byte 26 (found byte 0xE9); expected UTF-8 text"},
    {"invalid JSON", [](const TempDir& d) { write_tiny_jsonl(d); write_file(d / "users.jsonl", "{\"id\": \"u1\"}\n{\"id\": \n"); },
     "users.jsonl:2", "invalid JSON"},
    {"non-string id in JSON Lines", [](const TempDir& d) { write_tiny_jsonl(d); write_file(d / "items.jsonl", "{\"id\": 5}\n"); },
     "items.jsonl:1", "field id: found \"5\", expected a string"},
    {"missing timestamp", [](const TempDir& d) {
       write_tiny_jsonl(d);
       write_file(d / "interactions.jsonl", "{\"user\": \"u1\", \"item\": \"a\", \"timestamp\": 1}\n{\"user\": \"u1\", \"item\": \"b\"}\n");
     },
     "interactions.jsonl:2", "field timestamp: found \"(missing)\", expected an integer"},
    {"unknown item in JSON Lines interactions",
     [](const TempDir& d) { write_tiny_jsonl(d); write_file(d / "interactions.jsonl", "{\"user\": \"u1\", \"item\": \"zz\", \"timestamp\": 1}\n"); },
     "interactions.jsonl:1", "field item: found \"zz\", expected an item id listed in items.jsonl"},
    {"MovieLens 1M bad age code", [](const TempDir& d) { write_tiny_ml1m(d); write_file(d / "users.dat", "1::F::30::10::48067\n"); },
     "users.dat:1", "field Age (3): found \"30\", expected one of the age codes"},
    {"MovieLens 1M wrong separator", [](const TempDir& d) { write_tiny_ml1m(d); write_file(d / "ratings.dat", "1,1,5,978300760\n"); },
     "ratings.dat:1", "found 1 fields separated by \"::\", expected 4"},
};

}  // namespace

TEST_CASE("malformed dataset inputs exit with code 2 and name file:line, field, value and expectation", "[cli][bad-input]") {
  for (const auto& c : kBadInputs) {
    SECTION(c.name) {
      TempDir dir;
      c.write(dir);
      const auto r = run_recbias({"datasets", "describe", dir.path().string()});
      INFO(r.err);
      CHECK(r.exit_code == 2);
      CHECK_THAT(r.err, Contains(c.file_and_line));
      CHECK_THAT(r.err, Contains(c.message));
    }
  }
}

TEST_CASE("bad paths, formats and subcommands exit 2 and list what is known", "[cli][bad-input]") {
  TempDir dir;
  auto r = run_recbias({"datasets", "describe", dir / "nope"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("does not exist"));

  r = run_recbias({"datasets", "describe", dir.path().string()});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("cannot tell the format"));
  CHECK_THAT(r.err, Contains("u.data (movielens-100k)"));

  write_tiny_jsonl(dir);
  r = run_recbias({"datasets", "describe", dir.path().string(), "--format", "movielens-10m"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("unknown dataset format \"movielens-10m\"; known formats: auto, movielens-100k, movielens-1m, jsonl"));

  r = run_recbias({"datasets", "descibe", dir.path().string()});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("known subcommands of 'datasets': describe, synth, split, formats"));

  r = run_recbias({"audti"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Contains("known subcommands"));

  r = run_recbias({"--help"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("datasets"));
}

TEST_CASE("datasets synth writes a dataset that describe and split read, and never overwrites one", "[cli][synthetic]") {
  TempDir dir;
  const auto r = run_recbias({"datasets", "synth", "--out", dir / "syn", "--users", "50", "--items", "120", "--seed", "3"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto described = run_recbias({"datasets", "describe", dir / "syn", "--json"});
  REQUIRE(described.exit_code == 0);
  const auto d = nlohmann::json::parse(described.out);
  CHECK(d["users"] == 50);
  CHECK(d["items"] == 120);
  const auto before = read_file(dir / "syn/interactions.jsonl");
  const auto again = run_recbias({"datasets", "synth", "--out", dir / "syn", "--seed", "4"});
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.err, Contains("already exists; refusing to overwrite it"));
  CHECK(read_file(dir / "syn/interactions.jsonl") == before);

  const auto split = run_recbias({"datasets", "split", dir / "syn", "--out", dir / "split.json"});
  INFO(split.err);
  REQUIRE(split.exit_code == 0);
  const auto s = nlohmann::json::parse(read_file(dir / "split.json"));
  CHECK(s["format"] == "recbias.split/1");
  REQUIRE(s["users"].size() == 50);
  double training = 0;
  for (const auto& u : s["users"]) {
    training += static_cast<double>(u["train"].size());
    // The held-out item is never among the training items.
    for (const auto& item : u["train"]) CHECK(item != u["held_out"]);
  }
  CHECK(training == s["training_interactions"].get<double>());
  double popularity = 0;
  for (const auto& item : s["items"]) popularity += item["popularity"].get<double>();
  CHECK(popularity == training);  // popularity counts training interactions only
  CHECK(run_recbias({"datasets", "split", dir / "syn", "--out", dir / "split.json"}).exit_code == 2);  // exists, no --force
}
