// The exec adapter with real subprocesses (Python scripts written by the test).
#include <catch2/catch.hpp>

#include "adapters/adapter_spec.h"
#include "adapters/registry.h"
#include "adapters/request_codec.h"
#include "core/errors.h"
#include "tests/adapters/adapter_fixtures.h"
#include "tests/test_support.h"

using namespace recbias;
using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

// Answers every request with its candidates reversed; behaviour switches on the
// user's "mode" attribute: crash (exit 3 after writing to stderr), hang, text,
// wrongid, garbage.
const char* kScript = R"PY(
import json, sys, time
for line in sys.stdin:
    req = json.loads(line)
    mode = req["user"]["attributes"].get("mode", "")
    if mode == "crash":
        sys.stderr.write("boom: simulated crash\n"); sys.stderr.flush(); sys.exit(3)
    if mode == "hang":
        time.sleep(3600)
    ids = [c["id"] for c in req["candidates"]]
    if mode == "text":
        answer = {"id": req["id"], "text": "[2] > [1]"}
    elif mode == "wrongid":
        answer = {"id": "nope", "ranking": ids}
    elif mode == "garbage":
        print("this is not json", flush=True); continue
    elif mode == "hallucinate":
        answer = {"id": req["id"], "ranking": ["999", ids[0], ids[0]], "usage": {"prompt_tokens": 7, "completion_tokens": 3}}
    else:
        answer = {"id": req["id"], "ranking": ids[::-1], "scores": list(range(len(ids)))}
    print(json.dumps(answer), flush=True)
)PY";

struct Fixture {
  TempDir dir;
  std::string script = dir / "model.py";
  Fixture() { write_file(script, kScript); }
  std::unique_ptr<Recommender> make(const std::string& extra = "") const {
    return make_recommender(AdapterSpec::parse("exec:command=python3 " + script + ",restart_backoff_ms=1" + extra), small_context());
  }
};

RankRequest with_mode(const std::string& id, const std::string& mode) {
  auto r = small_request(id, {0, 1, 2}, 3);
  if (!mode.empty()) r.user.attributes["mode"] = mode;
  return r;
}

}  // namespace

TEST_CASE("the exec adapter speaks JSON Lines with a long-running program", "[exec]") {
  Fixture f;
  auto rec = f.make(",scores=true");
  const auto out = rec->rank(std::vector<RankRequest>{with_mode("a", ""), with_mode("b", "text"), with_mode("c", "hallucinate")});
  CHECK(out[0].ranking == std::vector<int>{2, 1, 0});
  CHECK(out[0].scores == std::vector<float>{0, 1, 2});
  CHECK(out[1].ranking == std::vector<int>{1, 0});
  CHECK(out[2].ranking == std::vector<int>{0});
  CHECK(out[2].ungrounded == std::vector<std::string>{"999"});
  CHECK(out[2].duplicates == 1);
  CHECK(out[2].usage.prompt_tokens == 7);
  CHECK(rec->capabilities().scores);
}

TEST_CASE("a program that crashes mid-stream is restarted, the affected request fails with its stderr", "[exec][faults]") {
  Fixture f;
  auto rec = f.make();
  const auto out = rec->rank(std::vector<RankRequest>{with_mode("a", ""), with_mode("b", "crash"), with_mode("c", "")});
  CHECK_FALSE(out[0].error.has_value());
  REQUIRE(out[1].error.has_value());
  CHECK_THAT(*out[1].error, Contains("request b"));
  CHECK_THAT(*out[1].error, Contains("exited with status 3"));
  CHECK_THAT(*out[1].error, Contains("boom: simulated crash"));
  CHECK_FALSE(out[2].error.has_value());
  CHECK(out[2].ranking == std::vector<int>{2, 1, 0});
}

TEST_CASE("a program that hangs is killed after the timeout and restarted", "[exec][faults]") {
  Fixture f;
  // 2 s: long enough for Python to start on a loaded machine, far short of the hang.
  auto rec = f.make(",timeout_ms=2000");
  const auto out = rec->rank(std::vector<RankRequest>{with_mode("a", "hang"), with_mode("b", "")});
  REQUIRE(out[0].error.has_value());
  CHECK_THAT(*out[0].error, Contains("no answer within 2000 ms"));
  CHECK_FALSE(out[1].error.has_value());
}

TEST_CASE("protocol violations fail the request and restart the program", "[exec][faults]") {
  Fixture f;
  auto rec = f.make();
  const auto out = rec->rank(std::vector<RankRequest>{with_mode("a", "wrongid"), with_mode("b", "garbage"), with_mode("c", "")});
  REQUIRE(out[0].error.has_value());
  CHECK_THAT(*out[0].error, Contains("answer has id \"nope\" instead of \"a\""));
  REQUIRE(out[1].error.has_value());
  CHECK_THAT(*out[1].error, Contains("not valid JSON: this is not json"));
  CHECK_FALSE(out[2].error.has_value());
}

TEST_CASE("a program that keeps crashing makes the backend fail as a whole", "[exec][faults]") {
  Fixture f;
  auto rec = f.make(",max_restarts=2");
  std::vector<RankRequest> all_crash = {with_mode("a", "crash"), with_mode("b", "crash"), with_mode("c", "crash"), with_mode("d", "crash")};
  CHECK_THROWS_AS(rec->rank(all_crash), BackendFailure);
  auto missing = make_recommender(AdapterSpec::parse("exec:command=/nonexistent/model,max_restarts=0"), small_context());
  CHECK_THROWS_WITH(missing->rank(std::vector<RankRequest>{with_mode("a", "")}), Contains("cannot execute /nonexistent/model"));
}

TEST_CASE("an answer's token counts must be non-negative integers that fit", "[exec][codec]") {
  const auto context = small_context();
  const auto request = small_request("r2", {0, 1});
  RankResponse response;
  const auto answer = nlohmann::json::parse(R"({"id": "r2", "text": "[2] > [1]", "usage": {"prompt_tokens": 10, "completion_tokens": 5e120}})");
  CHECK_THROWS_WITH(decode_answer(answer, request, *context.catalog, {}, response),
                    Contains("answer for r2: field usage.completion_tokens: found 5") && Contains("expected a non-negative integer"));
  RankResponse fine;
  decode_answer(nlohmann::json::parse(R"({"id": "r2", "positions": [1, 0], "usage": {"prompt_tokens": 10, "completion_tokens": 5}})"), request,
                *context.catalog, {}, fine);
  CHECK(fine.usage.completion_tokens == 5);
  CHECK(fine.ranking == std::vector<int>{1, 0});
}
