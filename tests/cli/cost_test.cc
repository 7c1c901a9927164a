// What an audit costs, before and while it runs (adapters/call_meter.h):
// `--dry-run` predicts exactly the calls a real run sends (0 with a full
// cache) and sends nothing; `--max-calls` / `--max-tokens` / `--max-cost`
// stop the audit at the cap with a report marked incomplete (exit 3), and
// the same command with a larger cap resumes to the uninterrupted run's
// report without resending an answered call. Against the loopback LLM server.
#include <algorithm>
#include <cmath>

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "tests/cli/cli_fixtures.h"

using namespace recbias::testing;
using Catch::Matchers::Contains;

namespace {

// Generate answers for chat prompts; for pointwise prompts (logprobs asked
// for) a P(Yes) that depends on the prompt alone.
Reply any_mode(const Prompt& p) {
  if (p.body.contains("logprobs")) {
    const double yes = 0.05 + 0.9 * static_cast<double>(recbias::stable_hash(p.user_message) % 1000) / 1000.0;
    return Reply::first_token({{"Yes", std::log(yes)}, {"No", std::log(1 - yes)}});
  }
  return hash_ranked_answer(p);
}

// Answers a batch input file the way `vllm run-batch` does: each line's body
// POSTed to `server`, one output line each, in reverse order (a provider's
// output order is its own).
std::vector<nlohmann::json> answer_batch(const std::string& input, const FakeLlmServer& server) {
  const auto base = server.base_url().substr(0, server.base_url().size() - 3);  // without "/v1"
  httplib::Client client(base);
  std::vector<nlohmann::json> out;
  std::size_t begin = 0;
  int n = 0;
  while (begin < input.size()) {
    const auto end = input.find('\n', begin);
    const auto line = nlohmann::json::parse(input.substr(begin, end - begin));
    begin = end + 1;
    const auto r = client.Post(line["url"].get<std::string>(), line["body"].dump(), "application/json");
    REQUIRE(r);
    out.push_back({{"id", "batch_req_" + std::to_string(n++)}, {"custom_id", line["custom_id"]},
                   {"response", {{"status_code", r->status}, {"request_id", "r"}, {"body", nlohmann::json::parse(r->body)}}},
                   {"error", nullptr}});
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string jsonl(const std::vector<nlohmann::json>& lines) {
  std::string text;
  for (const auto& l : lines) text += l.dump() + "\n";
  return text;
}

std::vector<std::string> audit_args(const FakeLlmServer& server, const TempDir& dir, const std::string& out, const std::string& cache,
                                    std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"audit", "--adapter", "openai:model=fake,base_url=" + server.base_url() + ",in_flight=4",
                                   "--dataset", dir / "data", "--users", "30", "--candidates", "5", "--bootstrap", "50",
                                   "--audits", "position,popularity,grounding,accuracy", "--chunk", "8", "--out", out, "--force",
                                   "--cache-dir", cache};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}


}  // namespace

TEST_CASE("audit --dry-run predicts exactly the calls a real run sends, and sends nothing", "[cli][cost][dry-run]") {
  TempDir dir;
  make_synth_dataset(dir);
  FakeLlmServer server(hash_ranked_answer);
  const std::string cache = dir / "cache";
  // A comparison through a mitigation reuses the audited model's answers
  // where its requests are the same: the dry run must count that too.
  const std::vector<std::string> compare = {"--compare", "permutation:m=2"};

  const auto dry = report_after(audit_args(server, dir, dir / "dry.json", cache, {"--dry-run", "--compare", "permutation:m=2",
                                                                              "--price", "in=2,out=10"}),
                            dir / "dry.json");
  CHECK(server.hits() == 0);  // nothing sent
  CHECK(dry["schema"] == "recbias.dry-run/1");
  const auto& total = dry["total"];
  const std::int64_t predicted = total["calls_to_send"];
  CHECK(predicted > 0);
  CHECK(total["cache_hits"] == 0);
  CHECK(dry["runs"].size() == 2);
  CHECK(dry["runs"][0]["users"] == 30);
  CHECK(dry["runs"][0]["calls_to_send"] == dry["runs"][0]["plan_calls"]);  // an empty cache: every distinct call
  CHECK(dry["runs"][1]["repeats"].get<std::int64_t>() > 0);               // the ensemble's identity orders are the audited model's calls
  CHECK(total["http_requests"] == predicted);                             // generate: one HTTP request per call
  CHECK(total["max_completion_tokens"] == predicted * 512);               // the max_tokens bound
  CHECK(total["prompt_tokens"].get<std::int64_t>() > 20 * predicted);     // rendered prompts, estimated
  CHECK(total["prompt_tokens_method"].get<std::string>().starts_with("estimate"));
  CHECK(total["cost_bound_usd"].get<double>() ==
        Approx((2.0 * total["prompt_tokens"].get<double>() + 10.0 * total["max_completion_tokens"].get<double>()) / 1e6));

  // The real run sends exactly that many calls.
  const auto real = report_after(audit_args(server, dir, dir / "real.json", cache, compare), dir / "real.json");
  const int sent = server.hits();
  CHECK(sent == predicted);
  CHECK(real["counts"]["failed_calls"] == 0);

  // With the cache full, nothing is left to send; the cached answers' length is known.
  const auto again = report_after(audit_args(server, dir, dir / "again.json", cache, {"--dry-run", "--compare", "permutation:m=2"}),
                              dir / "again.json");
  CHECK(again["total"]["calls_to_send"] == 0);
  CHECK(again["total"]["cache_hits"] == predicted + total["repeats"].get<std::int64_t>());
  CHECK(again["total"]["cached_mean_completion_tokens"] == Approx(20));
  CHECK(server.hits() == sent);

  // Printed, for people: the calls and tokens, and without --out no file.
  const auto printed = run_recbias(audit_args(server, dir, dir / "unused.json", cache, {"--dry-run"}));
  CHECK(printed.exit_code == 0);
  CHECK_THAT(printed.out, Contains("dry run: nothing was sent"));
  CHECK_THAT(printed.out, Contains("calls to send"));
}

TEST_CASE("audit --dry-run counts one HTTP request per candidate in pointwise scoring", "[cli][cost][dry-run]") {
  TempDir dir;
  make_synth_dataset(dir);
  FakeLlmServer server(hash_ranked_answer);
  auto args = audit_args(server, dir, dir / "dry.json", dir / "cache", {"--dry-run"});
  args[2] += ",scoring=pointwise";
  const auto dry = report_after(args, dir / "dry.json");
  const std::int64_t calls = dry["total"]["calls_to_send"];
  CHECK(calls > 0);
  CHECK(dry["total"]["http_requests"] == 5 * calls);         // --candidates 5
  CHECK(dry["total"]["max_completion_tokens"] == 5 * calls);  // one token each
  CHECK(server.hits() == 0);
}

TEST_CASE("audit --max-calls stops at the cap with an incomplete report, and a larger cap resumes to the uninterrupted report",
          "[cli][cost][budget]") {
  TempDir dir;
  make_synth_dataset(dir);
  FakeLlmServer reference_server(hash_ranked_answer);
  const auto reference = report_after(audit_args(reference_server, dir, dir / "reference.json", dir / "reference-cache"), dir / "reference.json");

  FakeLlmServer server(hash_ranked_answer);
  const std::string cache = dir / "cache";
  const auto r = run_recbias(audit_args(server, dir, dir / "capped.json", cache, {"--max-calls", "50"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 3);
  CHECK_THAT(r.err, Contains("--max-calls 50 reached"));
  CHECK_THAT(r.err, Contains("the same command with a larger budget resends none of them"));
  // Not on a terminal, a line per chunk of users shows what was spent against the budget.
  CHECK_THAT(r.err, Contains("recbias: 8/30 users, "));
  CHECK_THAT(r.err, Contains(" model calls sent (of 50), "));
  CHECK(server.hits() == 50);  // exactly the cap
  const auto capped = nlohmann::json::parse(read_file(dir / "capped.json"));
  REQUIRE(capped.contains("incomplete"));
  CHECK(capped["incomplete"]["users_planned"] == 30);
  CHECK(capped["incomplete"]["users_measured"].get<int>() < 30);
  CHECK(capped["incomplete"]["users_measured"].get<int>() % 8 == 0);  // whole chunks only
  CHECK(capped["counts"]["base_requests"] == capped["incomplete"]["users_measured"]);
  CHECK(capped["provenance"]["spent"]["calls_sent"] == 50);
  CHECK(capped["provenance"]["spent"]["calls_refused"].get<int>() > 0);
  // The schema knows the field (a report marked incomplete is a valid report).
  CHECK(run_recbias({"report", dir / "capped.json", "--format", "md", "-o", dir / "capped.md"}).exit_code == 0);
  CHECK_THAT(read_file(dir / "capped.md"), Contains("INCOMPLETE: the budget is spent (--max-calls 50 reached"));
  CHECK(run_recbias({"report", dir / "capped.json", "--format", "html", "-o", dir / "capped.html"}).exit_code == 0);
  CHECK_THAT(read_file(dir / "capped.html"), Contains("INCOMPLETE: the budget is spent"));

  // A gate does not pass on part of an audit (exit 3), though a rule fails on it.
  write_file(dir / "policy.json", R"({"rules": [{"name": "hallucinations", "metric": "grounding.hallucination_rate", "max": 1.0}]})");
  const auto gate = run_recbias({"gate", "--policy", dir / "policy.json", dir / "capped.json"});
  CHECK(gate.exit_code == 3);
  CHECK_THAT(gate.out, Contains("marked incomplete"));
  write_file(dir / "strict.json", R"({"rules": [{"name": "hallucinations", "metric": "grounding.hallucination_rate", "max": -1.0}]})");
  CHECK(run_recbias({"gate", "--policy", dir / "strict.json", dir / "capped.json"}).exit_code == 1);

  // Resume in steps: the second cap is still too small, the third is enough.
  CHECK(run_recbias(audit_args(server, dir, dir / "capped.json", cache, {"--max-calls", "40"})).exit_code == 3);
  const auto resumed = report_after(audit_args(server, dir, dir / "resumed.json", cache, {"--max-calls", "100000"}), dir / "resumed.json");
  CHECK_FALSE(resumed.contains("incomplete"));
  CHECK(comparable(resumed) == comparable(reference));
  // Every distinct call was answered exactly once over the three runs.
  for (const auto& [body, n] : server.completed_by_body()) {
    INFO(body);
    CHECK(n == 1);
  }
  CHECK(static_cast<int>(server.completed_by_body().size()) == reference_server.hits());
}

TEST_CASE("audit --max-tokens and --max-cost never let the answers' usage pass the cap", "[cli][cost][budget]") {
  TempDir dir;
  make_synth_dataset(dir);
  FakeLlmServer server(hash_ranked_answer);
  // Each call reserves its estimated prompt plus max_tokens (64) before it is
  // sent; answers report 100 + 20 tokens.
  auto args = audit_args(server, dir, dir / "t.json", dir / "cache", {"--max-tokens", "3000"});
  args[2] += ",max_tokens=64";
  const auto report = report_after(args, dir / "t.json", 3);
  const auto& spent = report["provenance"]["spent"];
  const std::int64_t used = spent["prompt_tokens"].get<std::int64_t>() + spent["completion_tokens"].get<std::int64_t>();
  CHECK(used <= 3000);
  // Calls go out in waves that settle before the next: the run stops only
  // when the next call's reservation (its prompt estimate, about 150, plus
  // 64) no longer fits, so it spends all but a few hundred tokens.
  CHECK(used >= 2500);
  CHECK(used == 120 * spent["calls_sent"].get<std::int64_t>());

  auto cost_args = audit_args(server, dir, dir / "c.json", dir / "cache2", {"--max-cost", "0.05", "--price", "in=10,out=100"});
  cost_args[2] += ",max_tokens=64";
  const auto costly = report_after(cost_args, dir / "c.json", 3);
  // A call costs 0.003 (100 x 10 + 20 x 100 per million) and reserves about
  // 0.008 (its prompt estimate and 64 completion tokens): the run stops with
  // less than one reservation left.
  CHECK(costly["provenance"]["spent"]["cost_usd"].get<double>() <= 0.05);
  CHECK(costly["provenance"]["spent"]["cost_usd"].get<double>() > 0.04);
  CHECK_THAT(costly["incomplete"]["reason"].get<std::string>(), Contains("--max-cost 0.0500 USD reached"));
}

TEST_CASE("budget and price flags reject bad values with exit code 2", "[cli][cost][bad-input]") {
  TempDir dir;
  make_synth_dataset(dir);
  struct Case {
    std::vector<std::string> extra;
    const char* message;
  };
  const Case cases[] = {
      {{"--max-cost", "1"}, "--max-cost needs --price in=USD,out=USD"},
      {{"--price", "in=1,out=x"}, "--price in=1,out=x: found \"out=x\", expected in=USD,out=USD per million prompt and completion tokens"},
      {{"--price", "input=1"}, "found \"input=1\", expected in=USD,out=USD"},
      {{"--max-calls", "-3"}, "--max-calls"},
      {{"--dry-run", "--html", dir / "r.html"}, "--dry-run writes no report: drop --html"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"audit", "--adapter", "popularity", "--dataset", dir / "data", "--candidates", "5",
                                     "--out", dir / "r.json"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    const auto r = run_recbias(args);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(c.message));
  }
}

TEST_CASE("a dry run of a local model counts its calls and writes no report", "[cli][cost][dry-run]") {
  TempDir dir;
  make_synth_dataset(dir);
  const auto r = run_recbias({"audit", "--adapter", "popularity", "--dataset", dir / "data", "--candidates", "5", "--users", "10",
                              "--audits", "position", "--dry-run", "--out", dir / "dry.json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto dry = nlohmann::json::parse(read_file(dir / "dry.json"));
  CHECK(dry["total"]["calls_to_send"] == 10 * 5);  // 10 users x 5 cyclic orders
  CHECK(dry["total"]["prompt_tokens"] == 0);       // no prompts
  CHECK(dry["total"]["cache_hits"] == 0);
}

TEST_CASE("an exported batch, answered by another program and imported, gives the online run's report with 0 network calls",
          "[cli][cost][batch]") {
  for (const std::string mode : {"generate", "pointwise"}) {
    INFO("scoring=" << mode);
    TempDir dir;
    make_synth_dataset(dir);
    auto with_mode = [&](std::vector<std::string> args) {
      args[2] += ",scoring=" + mode;
      return args;
    };
    FakeLlmServer online(any_mode);
    const auto reference = report_after(with_mode(audit_args(online, dir, dir / "reference.json", dir / "online-cache")), dir / "reference.json");

    FakeLlmServer idle(any_mode);  // must never be called
    const std::string cache = dir / "cache";
    const auto exported = run_recbias(with_mode(audit_args(idle, dir, dir / "dry.json", cache, {"--export-batch", dir / "batch.jsonl"})));
    INFO(exported.err);
    REQUIRE(exported.exit_code == 0);
    CHECK_THAT(exported.out, Contains("--import-batch OUT.jsonl"));
    const auto input = read_file(dir / "batch.jsonl");
    const auto lines = static_cast<int>(std::count(input.begin(), input.end(), '\n'));
    CHECK(lines == online.hits());  // one line per HTTP call the online run made
    // --out is the dry run's JSON (no report): its HTTP requests are the lines.
    const auto dry = nlohmann::json::parse(read_file(dir / "dry.json"));
    CHECK(dry["schema"] == "recbias.dry-run/1");
    CHECK(dry["total"]["http_requests"] == lines);
    const auto first = nlohmann::json::parse(input.substr(0, input.find('\n')));
    CHECK(first["method"] == "POST");
    CHECK(first["url"] == "/v1/chat/completions");
    CHECK(first["body"]["model"] == "fake");
    CHECK(first["custom_id"].get<std::string>().size() == 66);  // <64 hex>-<call>

    FakeLlmServer batch_runner(any_mode);
    write_file(dir / "out.jsonl", jsonl(answer_batch(input, batch_runner)));
    const auto imported = report_after(with_mode(audit_args(idle, dir, dir / "imported.json", cache,
                                                        {"--import-batch", dir / "out.jsonl", "--max-calls", "0"})),
                                   dir / "imported.json");
    CHECK(idle.hits() == 0);
    CHECK(comparable(imported) == comparable(reference));
    CHECK(imported["provenance"]["batch_import"]["lines"] == lines);
    CHECK(imported["provenance"]["batch_import"]["failed"] == 0);
    CHECK(imported["provenance"]["batch_import"]["unused_lines"] == 0);
    // The answers are in the cache now: a plain re-run is all hits.
    const auto rerun = report_after(with_mode(audit_args(idle, dir, dir / "rerun.json", cache, {"--max-calls", "0"})), dir / "rerun.json");
    CHECK(rerun["provenance"]["cache"]["sent"] == 0);
    CHECK(idle.hits() == 0);
  }
}

TEST_CASE("an imported batch with failed, missing and foreign lines says so, and a later run sends only what it lacked",
          "[cli][cost][batch]") {
  TempDir dir;
  make_synth_dataset(dir);
  FakeLlmServer online(hash_ranked_answer);
  const auto reference = report_after(audit_args(online, dir, dir / "reference.json", dir / "online-cache"), dir / "reference.json");
  FakeLlmServer server(hash_ranked_answer);
  const std::string cache = dir / "cache";
  REQUIRE(run_recbias(audit_args(server, dir, dir / "unused.json", cache, {"--export-batch", dir / "batch.jsonl"})).exit_code == 0);
  auto out = answer_batch(read_file(dir / "batch.jsonl"), server);
  const int answered_by_runner = server.hits();
  out[0]["response"] = {{"status_code", 500}, {"body", {{"error", {{"message", "overloaded"}}}}}};
  out[0]["error"] = {{"code", "server_error"}, {"message", "the model was overloaded"}};
  out.erase(out.begin() + 1);  // a request the provider never answered
  out.push_back({{"custom_id", std::string(64, 'a') + "-0"}, {"response", {{"status_code", 200}, {"body", {{"choices", nlohmann::json::array()}}}}},
                 {"error", nullptr}});
  write_file(dir / "out.jsonl", jsonl(out));
  const auto r = run_recbias(audit_args(server, dir, dir / "partial.json", cache, {"--import-batch", dir / "out.jsonl", "--max-calls", "0"}));
  INFO(r.err);
  CHECK(r.exit_code == 3);  // two requests lack answers and nothing may be sent
  CHECK_THAT(r.err, Contains("1 failed in the batch (first: call 0 failed in the batch: HTTP 500"));
  CHECK_THAT(r.err, Contains("the model was overloaded"));
  CHECK_THAT(r.err, Contains("1 not in the file"));
  CHECK_THAT(r.err, Contains("1 lines answer no request of this audit (first: aaaa"));
  CHECK(server.hits() == answered_by_runner);
  // Without the cap, exactly the two missing requests are sent.
  const auto done = report_after(audit_args(server, dir, dir / "done.json", cache), dir / "done.json");
  CHECK(server.hits() == answered_by_runner + 2);
  CHECK(comparable(done) == comparable(reference));
}

TEST_CASE("audit --import-batch rejects a file that is not a batch output with exit code 2 naming the line and field", "[cli][cost][bad-input]") {
  TempDir dir;
  make_synth_dataset(dir);
  FakeLlmServer server(hash_ranked_answer);
  const std::string key = std::string(64, 'b');
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"\n{\"custom_id\": \"" + key + "-0\", \"response\": {\"status_code\": 200, \"body\": {}}}\n{not json\n", "out.jsonl:3: not a JSON object"},
      {"[1, 2]\n", "out.jsonl:1: found [1,2], expected a JSON object"},
      {"{\"custom_id\": 7, \"error\": \"x\"}\n", "out.jsonl:1: field custom_id: found 7, expected the string recbias wrote"},
      {"{\"custom_id\": \"req-1\", \"error\": \"x\"}\n", "out.jsonl:1: field custom_id: found \"req-1\", expected <64 hex digits>-<call>"},
      {"{\"custom_id\": \"" + key + "-0\", \"error\": \"x\"}\n{\"custom_id\": \"" + key + "-0\", \"error\": \"y\"}\n",
       "out.jsonl:2: field custom_id: \"" + std::string(key) + "-0\" appears again (first on line 1)"},
      {"{\"custom_id\": \"" + key + "-0\"}\n", "out.jsonl:1: fields response and error: found neither"},
      {"{\"custom_id\": \"" + key + "-0\", \"response\": {\"status_code\": \"200\"}}\n",
       "out.jsonl:1: field response.status_code: found \"200\", expected an HTTP status (integer)"},
      {"{\"custom_id\": \"" + key + "-0\", \"response\": {\"status_code\": 200, \"body\": \"ok\"}}\n",
       "out.jsonl:1: field response.body: found \"ok\", expected the answer's JSON object"},
  };
  for (const auto& c : cases) {
    write_file(dir / "out.jsonl", c.text);
    const auto r = run_recbias(audit_args(server, dir, dir / "r.json", dir / "cache", {"--import-batch", dir / "out.jsonl"}));
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(c.message));
  }
  CHECK(server.hits() == 0);
  const auto both = run_recbias(audit_args(server, dir, dir / "r.json", dir / "cache", {"--import-batch", dir / "out.jsonl", "--dry-run"}));
  CHECK(both.exit_code == 2);
  CHECK_THAT(both.err, Contains("--dry-run and --import-batch exclude each other"));
  const auto local = run_recbias({"audit", "--adapter", "popularity", "--dataset", dir / "data", "--candidates", "5", "--users", "5",
                                  "--export-batch", dir / "b.jsonl"});
  CHECK(local.exit_code == 2);
  CHECK_THAT(local.err, Contains("--export-batch: adapter popularity"));
}

TEST_CASE("audit --sequential stops when the policy's rules are decided and exits with their verdict", "[cli][cost][sequential]") {
  TempDir dir;
  const auto synth = run_recbias({"datasets", "synth", "--out", dir / "data", "--users", "600", "--items", "120", "--seed", "5"});
  REQUIRE(synth.exit_code == 0);
  write_file(dir / "policy.toml", "[[rules]]\nname = \"position bias\"\nmetric = \"position.tvd\"\nmax = 0.05\nstrictness = \"interval\"\n");
  auto args = [&](const std::string& position, const std::string& out) {
    return std::vector<std::string>{"audit", "--adapter", "simulated:relevance=none,position=" + position, "--dataset", dir / "data",
                                    "--candidates", "10", "--audits", "position,accuracy", "--bootstrap", "50", "--sequential",
                                    "--policy", dir / "policy.toml", "--out", out};
  };
  // A clear primacy bias: failed long before the last user.
  const auto biased = run_recbias(args("primacy,position_strength=2", dir / "biased.json"));
  INFO(biased.out << biased.err);
  CHECK(biased.exit_code == 1);
  CHECK_THAT(biased.out, Contains("sequential: every rule decided after"));
  const auto report = nlohmann::json::parse(read_file(dir / "biased.json"));
  const auto& seq = report["sequential"];
  CHECK(seq["rules"][0]["decision"] == "fail");
  CHECK(seq["stopped"] == "every rule decided");
  CHECK(seq["calls_used"].get<double>() <= 0.5 * seq["calls_fixed_design"].get<double>());
  CHECK(report["counts"]["base_requests"].get<int>() % 25 == 0);  // whole chunks of 25 users
  CHECK(seq["source"].get<std::string>().find("Waudby-Smith and Ramdas") != std::string::npos);
  // No bias: the rule cannot be passed with these users (the upper end is
  // conservative) and is never failed: undecided, exit 3, all users used.
  const auto fair = run_recbias(args("none", dir / "fair.json"));
  CHECK(fair.exit_code == 3);
  const auto fair_report = nlohmann::json::parse(read_file(dir / "fair.json"));
  CHECK(fair_report["sequential"]["rules"][0]["decision"] == "undecided");
  CHECK(fair_report["sequential"]["calls_used"] == fair_report["sequential"]["calls_fixed_design"]);
  // Bad input.
  auto no_policy = args("none", dir / "x.json");
  no_policy.erase(no_policy.end() - 4, no_policy.end() - 2);
  const auto missing = run_recbias(no_policy);
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Contains("--sequential needs --policy"));
  write_file(dir / "ratio.json", R"({"rules": [{"name": "four-fifths", "ratio": {"numerator": "position.selection_rate.0", "denominator": "position.uniform_rate", "tau": 0.8}}]})");
  auto ratio = args("none", dir / "x.json");
  ratio[ratio.size() - 3] = dir / "ratio.json";
  const auto refused = run_recbias(ratio);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Contains("rule \"four-fifths\" is a ratio rule"));
  // Precision instead of a policy: stop once the first-position rate is known to within 0.06.
  auto precise = args("none", dir / "precise.json");
  precise.erase(precise.end() - 4, precise.end() - 2);
  precise.insert(precise.end(), {"--target-width", "position.selection_rate.0=0.06"});
  const auto p = run_recbias(precise);
  INFO(p.err);
  CHECK(p.exit_code == 0);
  const auto pr = nlohmann::json::parse(read_file(dir / "precise.json"))["sequential"];
  CHECK(pr["rules"][0]["decision"] == "precise");
  CHECK(pr["stopped"] == "every rule decided");
  auto bad = precise;
  bad.back() = "position.selection_rate.0";
  CHECK_THAT(run_recbias(bad).err, Contains("--target-width position.selection_rate.0: expected METRIC=WIDTH"));
}

TEST_CASE("audit --dry-run --tokenize calibrates the prompt-token estimate with the server's tokenizer", "[cli][cost][dry-run]") {
  TempDir dir;
  make_synth_dataset(dir);
  FakeLlmServer server(hash_ranked_answer);
  const auto plain = report_after(audit_args(server, dir, dir / "plain.json", dir / "cache", {"--dry-run"}), dir / "plain.json");
  const auto tokenized = report_after(audit_args(server, dir, dir / "tok.json", dir / "cache", {"--dry-run", "--tokenize", "8"}), dir / "tok.json");
  CHECK(server.hits() == 0);           // no chat call
  CHECK(server.tokenize_hits() == 8);  // exactly the prompts asked for
  const auto& t = tokenized["total"];
  CHECK_THAT(t["prompt_tokens_method"].get<std::string>(), Contains("the server's tokenizer on 8 prompts: the estimate x 0."));
  // The loopback tokenizer counts words: fewer than characters / 4.
  CHECK(t["prompt_tokens"].get<double>() < plain["total"]["prompt_tokens"].get<double>());
  CHECK(t["prompt_tokens"].get<double>() > 0.3 * plain["total"]["prompt_tokens"].get<double>());
  CHECK(t["calls_to_send"] == plain["total"]["calls_to_send"]);
  // A server without a tokenizer: the estimate stays, and says why.
  auto args = audit_args(server, dir, dir / "none.json", dir / "cache", {"--dry-run", "--tokenize", "8"});
  args[2] = "openai:model=fake,base_url=" + server.base_url() + "/elsewhere";
  const auto without = report_after(args, dir / "none.json");
  CHECK_THAT(without["total"]["prompt_tokens_method"].get<std::string>(),
             Contains("estimate: UTF-8 characters / 4 + 4 per message (the server's tokenizer could not be asked: HTTP 404"));
  CHECK(without["total"]["prompt_tokens"] == plain["total"]["prompt_tokens"]);
  const auto not_dry = run_recbias(audit_args(server, dir, dir / "x.json", dir / "cache", {"--tokenize", "8"}));
  CHECK(not_dry.exit_code == 2);
  CHECK_THAT(not_dry.err, Contains("--tokenize calibrates a dry run's token estimate"));
}
