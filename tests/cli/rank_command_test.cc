#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/datasets/fixtures.h"

using namespace recbias::testing;
using Catch::Matchers::Contains;

TEST_CASE("recbias rank runs an adapter over a request file", "[cli][rank]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  write_file(dir / "requests.jsonl",
             "{\"id\": \"r1\", \"k\": 2, \"user\": {\"id\": \"u1\", \"history\": [\"a\"]}, \"candidates\": [\"c\", \"b\", \"a\"]}\n\n"
             "{\"id\": \"r2\", \"user\": {\"id\": \"u2\"}, \"candidates\": [{\"id\": \"b\"}, {\"id\": \"c\"}]}\n");
  const auto r = run_recbias({"rank", "--adapter", "popularity", "--dataset", dir.path().string(), "--requests", dir / "requests.jsonl"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto first = nlohmann::json::parse(r.out.substr(0, r.out.find('\n')));
  CHECK(first["id"] == "r1");
  // Training popularity after leave-one-out: u1 keeps a (c held out), u2 has only b (kept): a = 1, b = 1, c = 0.
  CHECK(first["ranking"] == nlohmann::json({"a", "b"}));  // a tie, broken by catalog order
  CHECK(first["positions"] == nlohmann::json({2, 1}));
  CHECK_THAT(r.err, Contains("2 requests, 0 failed, adapter popularity"));

  const auto out_path = dir / "out.jsonl";
  write_file(out_path, "precious");
  const auto refused = run_recbias({"rank", "--adapter", "popularity", "--dataset", dir.path().string(), "--requests",
                                    dir / "requests.jsonl", "-o", out_path});
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Contains("already exists; refusing to overwrite it"));
  CHECK(read_file(out_path) == "precious");
}

TEST_CASE("bad request files name the file and line", "[cli][rank][bad-input]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  struct Case {
    const char* content;
    const char* message;
  };
  const Case cases[] = {
      {"{\"id\": \"r1\", \"candidates\": [\"a\"]}\n{\"id\": \"r2\", \"candidates\": [\"zz\"]}\n",
       "requests.jsonl:2: field candidates: item id \"zz\" is not in the dataset's catalog"},
      {"{\"id\": \"r1\", \"candidates\": []}\n", "requests.jsonl:1: field candidates: expected a non-empty array"},
      {"{\"id\": 3, \"candidates\": [\"a\"]}\n", "requests.jsonl:1: field id: expected a string"},
      {"not json\n", "requests.jsonl:1: invalid JSON"},
      {"{\"id\": \"r\", \"k\": 0, \"candidates\": [\"a\"]}\n", "requests.jsonl:1: field k: found 0, expected an integer >= 1"},
  };
  for (const auto& c : cases) {
    write_file(dir / "requests.jsonl", c.content);
    const auto r = run_recbias({"rank", "--adapter", "popularity", "--dataset", dir.path().string(), "--requests", dir / "requests.jsonl"});
    INFO(c.content);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(c.message));
  }
  const auto unknown = run_recbias({"rank", "--adapter", "popularty", "--dataset", dir.path().string(), "--requests", dir / "requests.jsonl"});
  CHECK(unknown.exit_code == 2);
  CHECK_THAT(unknown.err, Contains("known adapters: openai, torchscript, exec"));
}

TEST_CASE("recbias adapters lists every adapter with its keys and defaults", "[cli]") {
  const auto r = run_recbias({"adapters"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("openai"));
  CHECK_THAT(r.out, Contains("temperature          (default 0)"));
  CHECK_THAT(r.out, Contains("simulated"));
}

TEST_CASE("recbias mitigations lists every mitigation with its keys and the defaults the factories use", "[cli][mitigation]") {
  const auto r = run_recbias({"mitigations"});
  REQUIRE(r.exit_code == 0);
  for (const char* name : {"permutation", "calibrate-position", "calibrate", "fair", "counterfactual", "neutralize"}) CHECK_THAT(r.out, Contains(name));
  CHECK_THAT(r.out, Contains("lambda               (default 0.5)"));
  CHECK_THAT(r.out, Contains("agg                  (default mean)"));
}

TEST_CASE("the README's exec example program works with recbias rank", "[cli][rank][exec]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  write_file(dir / "requests.jsonl", "{\"id\": \"r1\", \"k\": 2, \"user\": {\"id\": \"u1\"}, \"candidates\": [\"c\", \"b\", \"a\"]}\n");
  const auto r = run_recbias({"rank", "--adapter", "exec:command=python3 " + source_dir() + "/examples/exec/alphabetical_model.py",
                              "--dataset", dir.path().string(), "--requests", dir / "requests.jsonl", "--no-cache"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("\"ranking\":[\"a\",\"b\"]"));  // titles Alpha < Beta < Gamma
}

TEST_CASE("the --mitigate wraps the adapter, unknown mitigations are bad input", "[cli][rank][mitigation]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  write_file(dir / "requests.jsonl", "{\"id\": \"r1\", \"k\": 2, \"user\": {\"id\": \"u1\"}, \"candidates\": [\"c\", \"b\", \"a\"]}\n");
  const auto ok = run_recbias({"rank", "--adapter", "popularity", "--mitigate", "permutation:agg=borda", "--dataset", dir.path().string(),
                               "--requests", dir / "requests.jsonl"});
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);
  CHECK_THAT(ok.err, Contains("adapter permutation(m=0,agg=borda,design=cyclic,seed=0)<-popularity"));
  CHECK_THAT(ok.out, Contains("\"calls\":3"));  // K = 3 cyclic members
  const auto bad = run_recbias({"rank", "--adapter", "popularity", "--mitigate", "shuffle", "--dataset", dir.path().string(),
                                "--requests", dir / "requests.jsonl"});
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.err, Contains("unknown mitigation \"shuffle\"; known mitigations: permutation, calibrate-position"));
}
