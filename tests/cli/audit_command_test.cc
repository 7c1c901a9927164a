#include <filesystem>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_fixtures.h"
#include "tests/datasets/fixtures.h"

using namespace recbias::testing;
using Catch::Matchers::Contains;

TEST_CASE("recbias audit writes a report, prints a summary, and sharded runs merge to it", "[cli][audit]") {
  RECBIAS_REQUIRE_DATASET(folder, "ml-100k", "u.data");
  TempDir dir;
  const std::vector<std::string> common = {"audit", "--adapter", "simulated:position=primacy,popularity_tilt=0.5",
                                           "--dataset", folder, "--users", "60", "--bootstrap", "50"};
  auto args = common;
  args.insert(args.end(), {"--out", dir / "full.json"});
  const auto full = run_recbias(args);
  INFO(full.err);
  REQUIRE(full.exit_code == 0);
  CHECK_THAT(full.out, Contains("position: TVD from uniform"));
  CHECK_THAT(full.out, Contains("report written to"));
  std::vector<std::string> parts;
  for (int i = 0; i < 2; ++i) {
    auto shard_args = common;
    shard_args.insert(shard_args.end(), {"--shard", std::to_string(i) + "/2", "--out", dir / ("part" + std::to_string(i) + ".json")});
    REQUIRE(run_recbias(shard_args).exit_code == 0);
    parts.push_back(dir / ("part" + std::to_string(i) + ".json"));
  }
  const auto merged = run_recbias({"merge", parts[1], parts[0], "-o", dir / "merged.json"});
  INFO(merged.err);
  REQUIRE(merged.exit_code == 0);
  const auto a = nlohmann::json::parse(read_file(dir / "full.json"));
  const auto b = nlohmann::json::parse(read_file(dir / "merged.json"));
  CHECK(a["metrics"] == b["metrics"]);
  CHECK(a["state"] == b["state"]);
  CHECK(a["schema"] == "recbias.report/1");
  CHECK(a["provenance"]["dataset"]["sha256"]["u.data"] == "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490");
  CHECK(a["provenance"]["adapter"].get<std::string>().rfind("simulated:", 0) == 0);
  // The same report is never silently overwritten.
  const auto again = run_recbias(args);
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.err, Contains("already exists"));
}

TEST_CASE("recbias audit: the TVD interval is by inversion unless --tvd-interval moment, recorded, other numbers equal", "[cli][audit]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  const std::vector<std::string> common = {"audit", "--adapter", "simulated:position=primacy,position_strength=2", "--dataset",
                                           dir.path().string(), "--candidates", "2", "--bootstrap", "20", "--audits", "position"};
  auto moment_args = common, inversion_args = common;
  moment_args.insert(moment_args.end(), {"--tvd-interval", "moment", "--out", dir / "moment.json"});
  inversion_args.insert(inversion_args.end(), {"--out", dir / "inversion.json"});  // the default
  const auto a = run_recbias(moment_args), b = run_recbias(inversion_args);
  INFO(a.err << b.err);
  REQUIRE(a.exit_code == 0);
  REQUIRE(b.exit_code == 0);
  const auto moment = nlohmann::json::parse(read_file(dir / "moment.json"));
  const auto inversion = nlohmann::json::parse(read_file(dir / "inversion.json"));
  CHECK(moment["config"]["tvd_interval"] == "moment");
  CHECK(inversion["config"]["tvd_interval"] == "inversion");
  CHECK_THAT(inversion["metrics"]["position"]["tvd_interval"].get<std::string>(), Contains("test inversion"));
  CHECK_THAT(moment["metrics"]["position"]["tvd_interval"].get<std::string>(), Contains("moment-matched"));
  // Only the TVD's estimate and interval (and their note) differ.
  auto strip = [](nlohmann::json m) {
    m["position"].erase("tvd");
    m["position"].erase("tvd_interval");
    m["position"].erase("verdict");
    return m;
  };
  CHECK(strip(moment["metrics"]) == strip(inversion["metrics"]));
  CHECK(moment["metrics"]["position"]["tvd_plugin"] == inversion["metrics"]["position"]["tvd_plugin"]);
  // A report written with the option reproduces it when merged (the config round-trips).
  const auto merged = run_recbias({"merge", dir / "inversion.json", "-o", dir / "merged.json"});
  INFO(merged.err);
  REQUIRE(merged.exit_code == 0);
  CHECK(nlohmann::json::parse(read_file(dir / "merged.json"))["metrics"]["position"]["tvd"] == inversion["metrics"]["position"]["tvd"]);
  // A report from before the option existed (no config.tvd_interval) was computed by the
  // moment method, and merging it keeps that method rather than taking today's default.
  auto old = moment;
  old["config"].erase("tvd_interval");
  write_file(dir / "old.json", old.dump());
  const auto merged_old = run_recbias({"merge", dir / "old.json", "-o", dir / "merged-old.json"});
  INFO(merged_old.err);
  REQUIRE(merged_old.exit_code == 0);
  const auto remerged = nlohmann::json::parse(read_file(dir / "merged-old.json"));
  CHECK(remerged["metrics"]["position"]["tvd"] == moment["metrics"]["position"]["tvd"]);
  CHECK(remerged["config"]["tvd_interval"] == "moment");
}

TEST_CASE("recbias merge refuses tampered audit states with exit code 2 naming the file", "[cli][merge][bad-input]") {
  TempDir dir;
  // 8 users with 5 interactions each over 12 items: both shards hold users.
  std::string items, users, interactions;
  for (int i = 0; i < 12; ++i) items += "{\"id\": \"i" + std::to_string(i) + "\", \"title\": \"Item " + std::to_string(i) + "\"}\n";
  for (int u = 0; u < 8; ++u) {
    users += "{\"id\": \"u" + std::to_string(u) + "\"}\n";
    for (int t = 0; t < 5; ++t)
      interactions += "{\"user\": \"u" + std::to_string(u) + "\", \"item\": \"i" + std::to_string((u * 5 + t * 7) % 12) +
                      "\", \"timestamp\": " + std::to_string(t) + "}\n";
  }
  write_file(dir / "items.jsonl", items);
  write_file(dir / "users.jsonl", users);
  write_file(dir / "interactions.jsonl", interactions);
  for (int i = 0; i < 2; ++i) {
    const auto r = run_recbias({"audit", "--adapter", "simulated:position=primacy", "--dataset", dir.path().string(), "--candidates", "4",
                                "--bootstrap", "10", "--audits", "position", "--shard", std::to_string(i) + "/2", "--out",
                                dir / ("part" + std::to_string(i) + ".json")});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  auto part = [&](int i) { return nlohmann::json::parse(read_file(dir / ("part" + std::to_string(i) + ".json"))); };
  for (int i = 0; i < 2; ++i) REQUIRE(part(i)["state"]["position"]["k"].get<int>() == 4);
  // Shard 1 tampered, merged after shard 0.
  auto refused = [&](const nlohmann::json& tampered, const std::string& message) {
    write_file(dir / "tampered.json", tampered.dump());
    const auto r = run_recbias({"merge", dir / "part0.json", dir / "tampered.json", "-o", dir / "m.json", "--force"});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(dir / "tampered.json"));
    CHECK_THAT(r.err, Contains(message));
  };
  auto negative_k = part(1);
  negative_k["state"]["position"]["k"] = -3;
  refused(negative_k, "k -3 and replicates 10: expected numbers >= 0");
  auto negative_count = part(1);
  negative_count["state"]["position"]["picking_users"] = -5;
  refused(negative_count, "a count is -5: expected counts >= 0");
  // Sums with 5 replicates beside the other shard's 10 (self-consistent in the file).
  auto fewer = part(1);
  auto& position = fewer["state"]["position"];
  position["replicates"] = 5;
  for (const char* key : {"top1", "agreement", "probability"}) {
    if (position[key].is_null()) continue;
    auto& sums = position[key];
    const auto n = sums["n"].get<std::size_t>();
    sums["replicates"] = 5;
    auto cut = sums["replicate_sums"];
    cut.erase(cut.begin() + static_cast<std::ptrdiff_t>(n * 5), cut.end());
    sums["replicate_sums"] = cut;
  }
  refused(fewer, "its audit state does not match");
  // The untampered shards merge.
  CHECK(run_recbias({"merge", dir / "part0.json", dir / "part1.json", "-o", dir / "m.json", "--force"}).exit_code == 0);
}

TEST_CASE("recbias audit rejects bad options with exit code 2", "[cli][audit][bad-input]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  struct Case {
    std::vector<std::string> extra;
    const char* message;
  };
  const Case cases[] = {
      {{"--audits", "position,fairnes"}, "unknown audit \"fairnes\"; known audits: position, popularity, fairness, grounding, accuracy"},
      {{"--shard", "3/2"}, "--shard 3/2: expected i/n with 0 <= i < n"},
      {{"--design", "zigzag"}, "--design: zigzag: expected cyclic, latin or random"},
      {{"--sampling", "zipf"}, "--sampling: zipf: expected uniform or popularity"},
      {{"--tvd-interval", "bootstrap"}, "--tvd-interval: bootstrap: expected moment or inversion"},
      {{"--attributes", "races"}, "unknown attribute set \"races\""},
      {{"--fairness-metric", "cosine"}, "unknown fairness test metric \"cosine\""},
      {{"--practical", "position.tvd=-1"}, "--practical position.tvd=-1: expected NAME=VALUE with NAME one of position.tvd, fairness.similarity, fairness.utility_gap and VALUE >= 0"},
      {{"--practical", "tvd=0.1"}, "--practical tvd=0.1: expected NAME=VALUE"},
      {{"--practical", "position.tvd"}, "--practical position.tvd: expected NAME=VALUE"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"audit", "--adapter", "popularity", "--dataset", dir.path().string(), "--candidates", "2",
                                     "--out", dir / "r.json"};
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    const auto r = run_recbias(args);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(c.message));
  }
  const auto merge = run_recbias({"merge", dir / "items.jsonl", "-o", dir / "m.json"});
  CHECK(merge.exit_code == 2);
}

TEST_CASE("an audit against an unreachable model server ends at once with exit code 4 naming the URL", "[cli][audit][openai]") {
  TempDir dir;
  write_tiny_jsonl(dir);
  const auto r = run_recbias({"audit", "--adapter", "openai:model=m,base_url=http://127.0.0.1:9/v1,connect_timeout_ms=500",
                              "--dataset", dir.path().string(), "--candidates", "2", "--no-cache", "--out", dir / "r.json"});
  INFO(r.err);
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.err, Contains("cannot reach the server at http://127.0.0.1:9/v1/models"));
  CHECK_FALSE(std::filesystem::exists(dir / "r.json"));
}

TEST_CASE("recbias report renders and recbias gate exits with the policy's verdict", "[cli][report][gate]") {
  RECBIAS_REQUIRE_DATASET(folder, "ml-100k", "u.data");
  TempDir dir;
  const auto audit = run_recbias({"audit", "--adapter", "simulated:position=primacy,position_strength=2", "--dataset", folder,
                                  "--users", "60", "--bootstrap", "50", "--audits", "position,grounding,accuracy",
                                  "--out", dir / "r.json", "--html", dir / "r.html", "--md", dir / "r.md"});
  INFO(audit.err);
  REQUIRE(audit.exit_code == 0);
  CHECK_THAT(read_file(dir / "r.html"), Contains("<svg id=\"position-selection\""));
  CHECK_THAT(read_file(dir / "r.md"), Contains("## recbias audit:"));
  write_file(dir / "strict.json", R"({"rules": [{"name": "no position bias", "metric": "position.tvd", "max": 0.01}]})");
  write_file(dir / "loose.json", R"({"rules": [{"metric": "position.tvd", "max": 0.9}]})");
  write_file(dir / "needy.json", R"({"min_n": 1000000, "rules": [{"metric": "position.tvd", "max": 0.9}]})");
  write_file(dir / "typo.json", R"({"rules": [{"metric": "position.tvdd", "max": 0.9}]})");
  auto failed = run_recbias({"gate", "--policy", dir / "strict.json", dir / "r.json", "--junit", dir / "junit.xml"});
  CHECK(failed.exit_code == 1);
  CHECK_THAT(failed.out, Contains("no position bias"));
  CHECK_THAT(failed.out, Contains("FAIL"));
  CHECK_THAT(read_file(dir / "junit.xml"), Contains("<failure message="));
  CHECK(run_recbias({"gate", "--policy", dir / "loose.json", dir / "r.json"}).exit_code == 0);
  CHECK(run_recbias({"gate", "--policy", dir / "needy.json", dir / "r.json"}).exit_code == 3);
  const auto typo = run_recbias({"gate", "--policy", dir / "typo.json", dir / "r.json"});
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Contains("unknown metric path \"position.tvdd\""));
  const auto md = run_recbias({"report", dir / "r.json", "--format", "md", "--policy", dir / "strict.json"});
  CHECK(md.exit_code == 0);
  CHECK_THAT(md.out, Contains("### Gate"));
  write_file(dir / "broken.json", R"({"schema": "recbias.report/1"})");
  const auto broken = run_recbias({"report", dir / "broken.json"});
  CHECK(broken.exit_code == 2);
  CHECK_THAT(broken.err, Contains("not a valid recbias report"));
  CHECK_THAT(broken.err, Contains("missing required field \"provenance\""));
  CHECK(run_recbias({"report", dir / "r.json", "--format", "junit"}).exit_code == 2);  // junit needs a policy
}

TEST_CASE("recbias report --trend renders releases in provenance order and gate --trend fails a sustained drift", "[cli][report][gate][trend]") {
  TempDir dir;
  make_synth_dataset(dir);
  // Three releases whose primacy bias grows; written out of order.
  const std::vector<std::string> strengths = {"0", "1", "2"};
  for (std::size_t i = 0; i < strengths.size(); ++i) {
    const auto r = run_recbias({"audit", "--adapter", "simulated:position=primacy,position_strength=" + strengths[i], "--dataset",
                                dir / "data", "--users", "40", "--bootstrap", "50", "--audits", "position,accuracy", "--out",
                                dir / ("v" + std::to_string(i + 1) + ".json")});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    // Releases a day apart (the audits finish within the same second here).
    const auto path = dir / ("v" + std::to_string(i + 1) + ".json");
    auto report = nlohmann::json::parse(read_file(path));
    report["provenance"]["finished"] = "2026-11-0" + std::to_string(i + 1) + "T00:00:00Z";
    write_file(path, report.dump());
  }
  const auto md = run_recbias({"report", "--trend", dir / "v3.json", dir / "v1.json", dir / "v2.json", "--format", "md"});
  INFO(md.err);
  REQUIRE(md.exit_code == 0);
  // Release order from provenance.finished: v1, v2, v3 whatever order they were given in.
  const auto v1 = md.out.find("| v1.json |"), v2 = md.out.find("| v2.json |"), v3 = md.out.find("| v3.json |");
  REQUIRE(v1 != std::string::npos);
  CHECK((v1 < v2 && v2 < v3));
  CHECK_THAT(md.out, Contains("paired"));
  const auto given = run_recbias({"report", "--trend", dir / "v3.json", dir / "v1.json", "--order", "given", "--labels", "c,a", "--format", "md"});
  CHECK(given.out.find("| c |") < given.out.find("| a |"));
  CHECK(run_recbias({"report", "--trend", dir / "v1.json", dir / "v2.json", "--format", "html", "-o", dir / "t.html"}).exit_code == 0);
  CHECK_THAT(read_file(dir / "t.html"), Contains("recbias trend over 2 reports"));
  // Bad input: one report, both forms, labels that do not match, junit.
  CHECK_THAT(run_recbias({"report", "--trend", dir / "v1.json", "--format", "md"}).err, Contains("give at least two reports"));
  CHECK_THAT(run_recbias({"report", dir / "v1.json", "--trend", dir / "v1.json", dir / "v2.json"}).err, Contains("not both"));
  CHECK_THAT(run_recbias({"report", "--trend", dir / "v1.json", dir / "v2.json", "--labels", "a"}).err, Contains("1 labels for 2 reports"));
  CHECK(run_recbias({"report", "--trend", dir / "v1.json", dir / "v2.json", "--format", "junit"}).exit_code == 2);
  write_file(dir / "drift.json", R"({"rules": [{"name": "position drift", "metric": "position.tvd",
                                     "drift": {"last": 3, "delta": 0.01, "higher_is_better": false}}]})");
  const auto drift = run_recbias({"gate", "--policy", dir / "drift.json", dir / "v3.json", "--trend", dir / "v2.json", dir / "v1.json"});
  INFO(drift.out << drift.err);
  CHECK(drift.exit_code == 1);
  CHECK_THAT(drift.out, Contains("worse in each of the last 2 steps"));
  CHECK(run_recbias({"gate", "--policy", dir / "drift.json", dir / "v3.json"}).exit_code == 3);  // no trend: inconclusive
}

TEST_CASE("recbias audit --probe open audits candidate-free lists, and refuses audits that need candidates", "[cli][audit][open]") {
  TempDir dir;
  make_synth_dataset(dir);
  const auto ok = run_recbias({"audit", "--adapter", "simulated:hallucination_rate=0.3", "--probe", "open", "--dataset", dir / "data",
                               "--users", "30", "--k", "8", "--bootstrap", "50", "--out", dir / "open.json"});
  INFO(ok.err);
  REQUIRE(ok.exit_code == 0);
  const auto report = nlohmann::json::parse(read_file(dir / "open.json"));
  CHECK(report["config"]["audits"] == nlohmann::json({"fairness", "grounding", "accuracy", "open"}));
  CHECK(report["provenance"]["workload"]["probe"] == "open");
  CHECK(report["metrics"]["open"]["items_named_per_list"]["value"].get<double>() <= 8);
  CHECK(report["metrics"]["grounding"]["hallucination_rate"]["value"].get<double>() > 0);
  CHECK_FALSE(report["metrics"].contains("position"));
  // FaiRLLM's string similarities also for an adapter that answers without text (titles of the named items).
  const auto& jaccard_f = report["metrics"]["open"]["fairllm"]["values"]["gender"]["F"]["jaccard"]["value"];
  CHECK(jaccard_f.get<double>() > 0);
  CHECK(jaccard_f.get<double>() <= 1);
  const auto position = run_recbias({"audit", "--adapter", "popularity", "--probe", "open", "--audits", "position", "--dataset",
                                     dir / "data", "--users", "5"});
  CHECK(position.exit_code == 2);
  CHECK_THAT(position.err, Contains("--probe open: the position audit needs presented candidates"));
  const auto open_alone = run_recbias({"audit", "--adapter", "popularity", "--audits", "open", "--dataset", dir / "data", "--users", "5"});
  CHECK(open_alone.exit_code == 2);
  CHECK_THAT(open_alone.err, Contains("--audits open reads candidate-free requests: add --probe open"));
  const auto first_token = run_recbias({"audit", "--adapter", "openai:base_url=http://127.0.0.1:9/v1,model=m,scoring=first-token",
                                        "--probe", "open", "--dataset", dir / "data", "--users", "5"});
  CHECK(first_token.exit_code == 2);
  CHECK_THAT(first_token.err, Contains("it needs scoring=generate"));
}

TEST_CASE("audit --compare audits each mitigation and other adapters on the same plan and reports the trade-off", "[cli][audit][mitigation]") {
  RECBIAS_REQUIRE_DATASET(folder, "ml-100k", "u.data");
  TempDir dir;
  const auto r = run_recbias({"audit", "--adapter", "simulated:position=primacy,position_strength=2,scores=false", "--dataset", folder,
                              "--users", "60", "--bootstrap", "50", "--audits", "position,accuracy", "--compare", "permutation:m=4,agg=borda",
                              "--compare-adapter", "popularity", "--out", dir / "r.json", "--html", dir / "r.html", "--md", dir / "r.md"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto report = nlohmann::json::parse(read_file(dir / "r.json"));
  const auto& rows = report["comparison"]["tradeoff"];
  REQUIRE(rows.size() == 3);
  CHECK(rows[0]["role"] == "audited");
  CHECK(rows[1]["role"] == "mitigation");
  CHECK(rows[2]["role"] == "other model");
  CHECK(rows[2]["model"] == "popularity");
  // popularity ignores the presented order: under the cyclic design each
  // position holds each candidate once, so its selection rates are exactly uniform.
  CHECK(rows[2]["position_tvd"]["value"].get<double>() == Approx(0.0).margin(1e-12));
  CHECK(rows[1]["calls_multiplier"]["value"].get<double>() == Approx(4.0));  // m = 4 calls per answer
  CHECK(rows[1]["position_tvd"]["value"].get<double>() < rows[0]["position_tvd"]["value"].get<double>());
  CHECK(report["comparison"]["runs"][0]["adapter"].get<std::string>().rfind("permutation(m=4", 0) == 0);
  // Same plan and seed: the NDCG difference is paired replicate by replicate,
  // and its interval is narrower than the unpaired reading of the two intervals.
  CHECK(rows[0]["comparison"] == "baseline");
  REQUIRE(rows[1]["comparison"] == "paired (same users and bootstrap weights)");
  const auto& d = rows[1]["ndcg_difference"];
  CHECK(d["value"].get<double>() == Approx(rows[1]["ndcg"]["value"].get<double>() - rows[0]["ndcg"]["value"].get<double>()).margin(1e-12));
  const double paired_width = d["ci"][1].get<double>() - d["ci"][0].get<double>();
  const double unpaired_width = (rows[1]["ndcg"]["ci"][1].get<double>() - rows[1]["ndcg"]["ci"][0].get<double>()) +
                                (rows[0]["ndcg"]["ci"][1].get<double>() - rows[0]["ndcg"]["ci"][0].get<double>());
  CHECK(paired_width < unpaired_width);
  CHECK(d["ci"][0].get<double>() <= d["value"].get<double>());
  CHECK(d["ci"][1].get<double>() >= d["value"].get<double>());
  // The TVD change of the mitigation is paired too: permutation ensembling
  // removes position bias, so the paired interval of the change lies below 0.
  const auto& t = rows[1]["position_tvd_difference"];
  REQUIRE(t.is_object());
  CHECK(t["value"].get<double>() ==
        Approx(rows[1]["position_tvd"]["value"].get<double>() - rows[0]["position_tvd"]["value"].get<double>()).margin(1e-12));
  CHECK(t["ci"][1].get<double>() < 0.0);
  CHECK(rows[0]["position_tvd_difference"].is_null());  // the baseline row has no difference
  CHECK_THAT(read_file(dir / "r.md"), Contains("### Trade-off: mitigations and other models on the same plan"));
  CHECK_THAT(read_file(dir / "r.md"), Contains("| `popularity` | other model |"));
  CHECK_THAT(read_file(dir / "r.html"), Contains("<h2>Trade-off</h2>"));
  CHECK_THAT(r.out, Contains("trade-off (same plan)"));
}

TEST_CASE("recbias audit --help shows the defaults of the option structs it binds", "[cli][audit]") {
  // The defaults in --help come from the bound fields (CLI11 captures them),
  // so they cannot drift from AuditOptions; enums show their names.
  const auto r = run_recbias({"audit", "--help"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Contains("--bootstrap INT:INT in [10 - 100000]=200"));
  CHECK_THAT(r.out, Contains("--confidence FLOAT:FLOAT in [0.5 - 0.9999]=0.95"));
  CHECK_THAT(r.out, Contains("--design NAME=cyclic"));
  CHECK_THAT(r.out, Contains("--sampling NAME=uniform"));
  CHECK_THAT(r.out, Contains("defaults: fairness.similarity=0.05, fairness.utility_gap=0.05, position.tvd=0.02"));
  CHECK_THAT(r.out, !Contains("=[]"));
  const auto serve = run_recbias({"serve", "--help"});
  REQUIRE(serve.exit_code == 0);
  CHECK_THAT(serve.out, Contains("--max-batch INT:INT in [1 - 100000]=32"));
}
