// Reliability of a whole audit against the loopback LLM server: with over 30%
// of calls faulted (429 + Retry-After, 500, 503, dropped connections,
// timeouts, truncated JSON) the report equals the fault-free run's; and an
// audit SIGKILLed at several points and re-run with the same command ends
// with the same report, without sending again a call whose answer it had
// already received.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "tests/cli/cli_fixtures.h"

using namespace recbias::testing;

namespace {

// The model: ranks the presented candidates by a hash of their titles (so the
// answer depends on the request alone, never on timing or attempts). One
// prompt in five gets an answer no grounder can read: such answers are the
// model's behaviour too, and must be cached like the others.
Reply model_answer(const Prompt& p) {
  if (recbias::stable_hash(p.user_message) % 5 == 0) return Reply::answer("I'm sorry, but I can't rank these for you.");
  return hash_ranked_answer(p);
}

// Faults on the first two attempts of 40% of request bodies (decided by a
// hash of the body, so both runs see the same plan), one kind per body.
std::atomic<int> faults{0};
Reply faulty(const Prompt& p) {
  const auto h = recbias::stable_hash(p.body.dump());
  if (p.attempt <= 2 && h % 100 < 40) {
    ++faults;
    switch ((h / 100) % 6) {
      case 0: return Reply::error(429).retry_after(1);
      case 1: return Reply::error(500);
      case 2: return Reply::error(503);
      case 3: return Reply::drop();
      case 4: return model_answer(p).after_ms(1500);  // beyond timeout_ms
      default: return Reply::raw(R"({"choices": [{"message": {"content": "[1] > )");  // truncated JSON
    }
  }
  return model_answer(p);
}

// JSON pointers where two reports' comparable parts differ (empty = equal).
std::string differences(const nlohmann::json& a, const nlohmann::json& b) {
  std::string out;
  for (const auto& op : nlohmann::json::diff(comparable(a), comparable(b))) out += op.dump() + "\n";
  return out;
}

std::vector<std::string> soak_audit_args(const FakeLlmServer& server, const TempDir& dir, const std::string& out, const std::string& cache) {
  std::vector<std::string> args = {"audit", "--adapter",
                                   "openai:model=fake,base_url=" + server.base_url() +
                                       ",timeout_ms=500,backoff_ms=1,max_backoff_ms=50,max_retries=6,in_flight=8",
                                   "--dataset", dir / "data", "--users", "30", "--candidates", "5", "--bootstrap", "50",
                                   "--audits", "position,popularity,grounding,accuracy", "--out", out, "--force"};
  if (cache.empty()) args.push_back("--no-cache");
  else args.insert(args.end(), {"--cache-dir", cache});
  return args;
}

pid_t spawn_recbias(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv = {const_cast<char*>(recbias_binary().c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execv(recbias_binary().c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

TEST_CASE("an audit with over 30% of LLM calls faulted reports exactly what the fault-free audit reports", "[cli][faults][soak]") {
  TempDir dir;
  make_synth_dataset(dir);
  FakeLlmServer clean(model_answer);
  const auto clean_report = report_after(soak_audit_args(clean, dir, dir / "clean.json", ""), dir / "clean.json");
  faults = 0;
  FakeLlmServer noisy(faulty);
  const auto noisy_report = report_after(soak_audit_args(noisy, dir, dir / "noisy.json", ""), dir / "noisy.json");
  const double fault_share = static_cast<double>(faults.load()) / noisy.hits();
  INFO("faults " << faults.load() << " of " << noisy.hits() << " calls");
  CHECK(fault_share >= 0.30);
  CHECK(noisy_report["counts"]["failed_calls"] == 0);
  const auto d = differences(noisy_report, clean_report);
  INFO("differences:\n" << d);
  CHECK(d.empty());
}

TEST_CASE("an audit SIGKILLed at several points and re-run ends with the same report and resends no answered call", "[cli][faults][crash]") {
  TempDir dir;
  make_synth_dataset(dir);
  FakeLlmServer reference_server(model_answer);
  const auto reference = report_after(soak_audit_args(reference_server, dir, dir / "reference.json", ""), dir / "reference.json");
  const int total_calls = reference_server.hits();

  // One server for the whole interrupted history; each reply takes 5 ms.
  FakeLlmServer server([](const Prompt& p) { return model_answer(p).after_ms(5); });
  const auto cache = dir / "cache";
  for (int kill_at : {total_calls / 10, total_calls / 3, (2 * total_calls) / 3}) {
    const pid_t pid = spawn_recbias(soak_audit_args(server, dir, dir / "killed.json", cache));
    int status = 0;
    bool exited = false;
    while (server.hits() < kill_at && !(exited = waitpid(pid, &status, WNOHANG) == pid))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    REQUIRE_FALSE(exited);  // it must still be running when the kill point is reached
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
  }
  const auto resumed = report_after(soak_audit_args(server, dir, dir / "resumed.json", cache), dir / "resumed.json");
  const auto d = differences(resumed, reference);
  INFO("differences:\n" << d);
  CHECK(d.empty());
  // Every call completed once, except those in flight at a kill (at most
  // in_flight = 8 per kill, answered by the server but never received).
  int repeated = 0;
  for (const auto& [body, completed] : server.completed_by_body()) repeated += completed - 1;
  INFO("calls " << server.hits() << ", distinct " << server.completed_by_body().size() << ", repeated " << repeated);
  CHECK(static_cast<int>(server.completed_by_body().size()) == total_calls);
  CHECK(repeated <= 3 * 8);
  // Unparseable answers were among them, and a cached re-run sends nothing at all.
  CHECK(resumed["metrics"]["grounding"]["parse_failure_rate"]["value"].get<double>() > 0.05);
  const int before = server.hits();
  const auto cached = report_after(soak_audit_args(server, dir, dir / "cached.json", cache), dir / "cached.json");
  CHECK(server.hits() == before);
  CHECK(cached["provenance"]["cache"]["sent"] == 0);
  CHECK(differences(cached, reference).empty());
}
