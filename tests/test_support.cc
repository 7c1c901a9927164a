#include "tests/test_support.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include <catch2/catch.hpp>

namespace recbias::testing {

namespace fs = std::filesystem;

std::string datasets_dir() {
  if (const char* env = std::getenv("RECBIAS_DATASETS"); env && *env) return env;
  return RECBIAS_DATASETS_DIR;
}

const std::string& source_dir() {
  static const std::string dir = RECBIAS_SOURCE_DIR;
  return dir;
}

const std::string& recbias_binary() {
  static const std::string binary = RECBIAS_BINARY;
  return binary;
}

std::string dataset_path(const std::string& name, const std::string& marker) {
  const fs::path folder = fs::path(datasets_dir()) / name;
  return fs::exists(folder / marker) ? folder.string() : std::string();
}

void skip_missing(const std::string& reason) {
  std::cout << "SKIPPED: " << reason << std::endl;
  WARN("SKIPPED: " << reason);
  if (const char* code = std::getenv("RECBIAS_SKIP_EXIT_CODE"); code && *code) std::exit(std::atoi(code));
}

TempDir::TempDir() {
  std::random_device device;
  path_ = fs::temp_directory_path() / ("recbias-test-" + std::to_string(::getpid()) + "-" + std::to_string(device()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

RunResult run_recbias(const std::vector<std::string>& args) {
  TempDir dir;
  const std::string out_path = dir / "stdout", err_path = dir / "stderr";
  std::fflush(stdout);  // or the child would write our buffered output a second time
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) {
    std::FILE* out = std::freopen(out_path.c_str(), "w", stdout);
    std::FILE* err = std::freopen(err_path.c_str(), "w", stderr);
    if (!out || !err) _exit(127);
    std::vector<char*> argv;
    std::string binary = recbias_binary();
    argv.push_back(binary.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  RunResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  // With RECBIAS_COLLECT_REPORTS set (CTest sets it for the CLI tests), every
  // report a successful (or budget-stopped, exit 3) command wrote with --out
  // is kept there for the independent schema check
  // (tests/reports/validate_reports.py). A dry run's --out (also
  // --export-batch's) is not a report.
  const bool dry_run = std::find(args.begin(), args.end(), "--dry-run") != args.end() ||
                       std::find(args.begin(), args.end(), "--export-batch") != args.end();
  if (const char* collect = std::getenv("RECBIAS_COLLECT_REPORTS");
      collect && *collect && (result.exit_code <= 1 || result.exit_code == 3) && !dry_run) {
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] != "--out" || !std::filesystem::is_regular_file(args[i + 1])) continue;
      if (args[0] != "audit" && args[0] != "merge") continue;
      static int counter = 0;
      std::filesystem::create_directories(collect);
      std::error_code ec;
      std::filesystem::copy_file(args[i + 1], std::filesystem::path(collect) / (std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".json"),
                                 std::filesystem::copy_options::overwrite_existing, ec);
    }
  }
  return result;
}

}  // namespace recbias::testing
