#include <cstdlib>
#include <string>
#include <vector>

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

// The executable links no libtorch (tests/check_torch_confined.py checks its
// DT_NEEDED); the TorchScript adapter and the mitigations come from
// librecbias_torch.so, loaded on first use.
TEST_CASE("the TorchScript adapter and mitigations load recbias's libtorch part on first use, and a missing one is refused clearly",
          "[cli][rank][torch-part]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  write_file(dir / "requests.jsonl", "{\"id\": \"r1\", \"k\": 3, \"user\": {\"id\": \"u1\"}, \"candidates\": [\"b\", \"a\", \"c\"]}\n");
  const std::vector<std::string> rank = {"rank", "--dataset", dir.path().string(), "--requests", dir / "requests.jsonl"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = rank;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_recbias(args);
  };

  // A model scoring each candidate by its catalog index (c > b > a), through
  // the adapter the loaded library installs; and a mitigation of it.
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    skip_missing("python3-torch is not installed (apt-get install python3-torch)");
    return;
  }
  write_file(dir / "make.py",
             "import sys, torch\n"
             "class M(torch.nn.Module):\n"
             "    def forward(self, history: torch.Tensor, attributes: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:\n"
             "        return candidates.float()\n"
             "torch.jit.script(M()).save(sys.argv[1])\n");
  REQUIRE(std::system(("/usr/bin/python3 " + (dir / "make.py") + " " + (dir / "m.pt")).c_str()) == 0);
  write_file(dir / "m.json", R"({"format": "recbias.torchscript/1", "items": ["a", "b", "c"], "attributes": [], "max_history": 3})");
  const auto scored = with({"--adapter", "torchscript:path=" + (dir / "m.pt")});
  INFO(scored.err);
  REQUIRE(scored.exit_code == 0);
  CHECK(nlohmann::json::parse(scored.out)["ranking"] == nlohmann::json({"c", "b", "a"}));
  const auto mitigated = with({"--adapter", "torchscript:path=" + (dir / "m.pt"), "--mitigate", "permutation:m=3"});
  INFO(mitigated.err);
  REQUIRE(mitigated.exit_code == 0);
  CHECK(nlohmann::json::parse(mitigated.out)["ranking"] == nlohmann::json({"c", "b", "a"}));

  // Without the library: what does not need it runs; what does is refused
  // with exit code 2, naming where it looked and the variable that sets it.
  const std::string absent = dir / "absent-librecbias_torch.so";
  ::setenv("RECBIAS_TORCH_PART", absent.c_str(), 1);
  CHECK(with({"--adapter", "popularity"}).exit_code == 0);
  const auto missing = with({"--adapter", "popularity", "--mitigate", "permutation"});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Contains("need recbias's libtorch part, which was not found (tried " + absent + " (absent)); set RECBIAS_TORCH_PART"));
  CHECK(with({"--adapter", "torchscript:path=" + (dir / "m.pt")}).exit_code == 2);
  // A file that is not a shared library at all.
  write_file(dir / "fake.so", "not a library");
  ::setenv("RECBIAS_TORCH_PART", (dir / "fake.so").c_str(), 1);
  const auto broken = with({"--adapter", "popularity", "--mitigate", "permutation"});
  CHECK(broken.exit_code == 2);
  CHECK_THAT(broken.err, Contains("cannot load recbias's libtorch part " + (dir / "fake.so")));
  ::unsetenv("RECBIAS_TORCH_PART");
}
