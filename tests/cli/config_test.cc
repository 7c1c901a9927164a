// Audit config files (`recbias audit --config FILE`, cli/toml_config.h):
// a file gives the same report as the same flags, flags override it,
// --print-config writes the resolved configuration and reads back to
// itself, the report records it, and bad files name the file and line.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/cli/cli_fixtures.h"
#include "tests/datasets/fixtures.h"

using namespace recbias::testing;
using Catch::Matchers::Contains;

TEST_CASE("an audit config file gives the report of the same flags, and flags override it", "[cli][config]") {
  TempDir dir;
  make_synth_dataset(dir);
  write_file(dir / "audit.toml",
             "# flags without dashes; max_calls and max-calls both work\n"
             "adapter = \"simulated:position=primacy,popularity_tilt=0.5\"\n"
             "dataset = \"" + (dir / "data") + "\"\n"
             "users = 25\n"
             "candidates = 5\n"
             "audits = \"position,popularity,accuracy\"\n"
             "design = 'latin'\n"
             "bootstrap = 50\n"
             "mitigate = [\"permutation:m=2\"]\n"
             "force = true\n");
  const auto from_file = report_after({"audit", "--config", dir / "audit.toml", "--out", dir / "file.json"}, dir / "file.json");
  const auto from_flags = report_after({"audit", "--adapter", "simulated:position=primacy,popularity_tilt=0.5", "--dataset", dir / "data",
                                     "--users", "25", "--candidates", "5", "--audits", "position,popularity,accuracy", "--design", "latin",
                                     "--bootstrap", "50", "--mitigate", "permutation:m=2", "--force", "--out", dir / "flags.json"},
                                    dir / "flags.json");
  CHECK(from_file["metrics"] == from_flags["metrics"]);
  CHECK(from_file["state"] == from_flags["state"]);
  CHECK(from_file["config"]["design"] == "latin");
  CHECK(from_file["provenance"]["adapter"].get<std::string>().starts_with("permutation(m=2"));
  // The resolved options are in the report.
  const auto& options = from_file["provenance"]["options"];
  CHECK(options["users"] == "25");
  CHECK(options["design"] == "latin");
  CHECK(options["mitigate"] == nlohmann::json::array({"permutation:m=2"}));
  // A flag on the command line wins over the file.
  const auto overridden = report_after({"audit", "--config", dir / "audit.toml", "--users", "10", "--out", dir / "o.json"}, dir / "o.json");
  CHECK(overridden["counts"]["base_requests"] == 10);
  CHECK(overridden["provenance"]["options"]["users"] == "10");
}

TEST_CASE("audit --print-config prints the resolved configuration, which reads back to itself", "[cli][config]") {
  TempDir dir;
  write_file(dir / "audit.toml", "adapter = \"popularity\"\ndataset = \"d\"\nusers = 7\nsampling = \"popularity\"\n"
                                 "compare = [\"calibrate\", \"fair:p=0.6\"]\nmax_calls = 50\nprice = \"in=1,out=2\"\n");
  const auto printed = run_recbias({"audit", "--config", dir / "audit.toml", "--print-config", "--k", "5"});
  INFO(printed.err);
  REQUIRE(printed.exit_code == 0);
  CHECK_THAT(printed.out, Contains("adapter = \"popularity\""));
  CHECK_THAT(printed.out, Contains("users = 7"));
  CHECK_THAT(printed.out, Contains("k = 5"));                        // the command line's
  CHECK_THAT(printed.out, Contains("sampling = \"popularity\""));    // an enum as its name
  CHECK_THAT(printed.out, Contains("compare = [\"calibrate\", \"fair:p=0.6\"]"));
  CHECK_THAT(printed.out, Contains("max-calls = 50"));
  CHECK_THAT(printed.out, Contains("candidates = 20"));              // a default
  write_file(dir / "resolved.toml", printed.out);
  const auto again = run_recbias({"audit", "--config", dir / "resolved.toml", "--print-config"});
  REQUIRE(again.exit_code == 0);
  CHECK(again.out == printed.out);
  // The commented example in examples/ reads (its paths are relative to the working directory).
  const auto example = run_recbias({"audit", "--config", source_dir() + "/examples/audit.toml", "--policy",
                                    source_dir() + "/examples/ci/policy.toml", "--print-config"});
  INFO(example.err);
  CHECK(example.exit_code == 0);
  CHECK_THAT(example.out, Contains("max-cost = 5"));
}

TEST_CASE("a bad audit config file is refused with exit code 2 naming the file, line and key", "[cli][config][bad-input]") {
  TempDir dir;
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"adapter = \"popularity\"\nuserz = 3\n", "audit.toml:2: unknown key \"userz\"; the keys are audit's flags without the dashes: adapter,"},
      {"users = \n", "audit.toml:1:9: Error while parsing key-value pair"},
      {"[audit]\nusers = 3\n", "audit.toml:1: unknown key \"audit\""},
      {"adapter = \"popularity\"\ndataset = \"d\"\nusers = { n = 3 }\n", "audit.toml:3: key users: found {\"n\":3}, expected a string, number, boolean"},
      {"adapter = \"popularity\"\ndataset = \"d\"\n\nusers = -3\n", "--users: found -3, expected a number >= 0 (set in "},
      {"adapter = \"popularity\"\ndataset = \"d\"\ndesign = \"zigzag\"\n", "--design: zigzag: expected cyclic, latin or random (set in "},
      {"help = true\n", "audit.toml:1: unknown key \"help\""},
  };
  for (const auto& c : cases) {
    write_file(dir / "audit.toml", c.text);
    const auto r = run_recbias({"audit", "--config", dir / "audit.toml", "--print-config"});
    INFO(c.text << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Contains(c.message));
  }
  write_file(dir / "audit.toml", "adapter = \"popularity\"\ndataset = \"d\"\n\nusers = -3\n");
  CHECK_THAT(run_recbias({"audit", "--config", dir / "audit.toml"}).err, Contains("audit.toml:4)"));
  const auto missing = run_recbias({"audit", "--config", dir / "nope.toml"});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Contains("nope.toml"));
  const auto elsewhere = run_recbias({"--config", dir / "audit.toml", "datasets", "formats"});
  CHECK(elsewhere.exit_code == 2);
  CHECK_THAT(elsewhere.err, Contains("a config file is for `recbias audit`"));
}
