#include "adapters/exec_recommender.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "adapters/request_codec.h"
#include "core/errors.h"

namespace recbias {
namespace {

using Clock = std::chrono::steady_clock;

// One running child process with pipes to its stdin, stdout and stderr.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv) {
    int in[2], out[2], err[2];
    if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0)
      throw BackendFailure(fmt::format("exec adapter: pipe() failed: {}", std::strerror(errno)));
    pid_ = fork();
    if (pid_ < 0) throw BackendFailure(fmt::format("exec adapter: fork() failed: {}", std::strerror(errno)));
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      const auto message = fmt::format("cannot execute {}: {}\n", argv[0], std::strerror(errno));
      (void)!write(2, message.data(), message.size());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    stderr_ = err[0];
    fcntl(stderr_, F_SETFL, fcntl(stderr_, F_GETFL) | O_NONBLOCK);
    fcntl(stdout_, F_SETFL, fcntl(stdout_, F_GETFL) | O_NONBLOCK);
  }

  ~ChildProcess() { kill_now(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Writes all of `line`; false when the process closed its stdin.
  bool send(const std::string& line) {
    std::size_t sent = 0;
    while (sent < line.size()) {
      const auto n = write(stdin_, line.data() + sent, line.size() - sent);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  enum class Read { kLine, kEof, kTimeout };

  // Reads one line from stdout before `deadline`, collecting stderr meanwhile.
  Read read_line(std::string& line, Clock::time_point deadline) {
    while (true) {
      const auto newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return Read::kLine;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return Read::kTimeout;
      pollfd fds[2] = {{stdout_, POLLIN, 0}, {stderr_, POLLIN, 0}};
      const int ready = poll(fds, stderr_ >= 0 ? 2 : 1, static_cast<int>(std::min<long long>(left, 1000)));
      if (ready < 0 && errno != EINTR) return Read::kEof;
      if (stderr_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) drain_stderr();
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        char chunk[65536];
        const auto n = read(stdout_, chunk, sizeof chunk);
        if (n > 0) buffer_.append(chunk, static_cast<std::size_t>(n));
        else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          drain_stderr();
          return Read::kEof;
        }
      }
    }
  }

  // "exited with status 3", "killed by signal 9", or "running".
  std::string status() {
    if (exit_status_.empty() && pid_ > 0) {
      int status = 0;
      // Give a process that closed stdout a moment to exit so its status is known.
      for (int i = 0; i < 50 && exit_status_.empty(); ++i) {
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          exit_status_ = WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                                           : fmt::format("killed by signal {}", WTERMSIG(status));
          pid_ = -1;
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
      }
    }
    return exit_status_.empty() ? "still running" : exit_status_;
  }

  std::string stderr_tail() {
    drain_stderr();
    return stderr_tail_;
  }

  void kill_now() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
      if (exit_status_.empty()) exit_status_ = "killed";
      pid_ = -1;
    }
    for (int* fd : {&stdin_, &stdout_, &stderr_})
      if (*fd >= 0) {
        close(*fd);
        *fd = -1;
      }
  }

 private:
  void drain_stderr() {
    if (stderr_ < 0) return;
    char chunk[4096];
    while (true) {
      const auto n = read(stderr_, chunk, sizeof chunk);
      if (n <= 0) break;
      stderr_tail_.append(chunk, static_cast<std::size_t>(n));
      if (stderr_tail_.size() > 4096) stderr_tail_.erase(0, stderr_tail_.size() - 4096);
    }
  }

  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1;
  std::string buffer_;
  std::string stderr_tail_;
  std::string exit_status_;
};

class ExecRecommender final : public Recommender {
 public:
  ExecRecommender(std::shared_ptr<const Catalog> catalog, ExecOptions options)
      : catalog_(std::move(catalog)), options_(std::move(options)) {
    if (options_.argv.empty()) throw BadInput("adapter exec: command=... is required (the program to run)");
    signal(SIGPIPE, SIG_IGN);  // a dead child must surface as a write error, not kill us
  }

  std::string id() const override { return fmt::format("exec:command={}", fmt::join(options_.argv, " ")); }
  Capabilities capabilities() const override { return {.scores = options_.scores, .deterministic = true, .remote = true}; }

  void ground(const RankRequest& request, RankResponse& response) const override {
    if (!response.raw || response.raw->format != "answer" || response.error) return;
    RankResponse fresh;
    try {
      decode_answer(nlohmann::json::parse(response.raw->body), request, *catalog_, options_.grounding, fresh);
    } catch (const std::exception&) {
      return;  // the answer decoded when it arrived; an entry that no longer decodes is kept as it was
    }
    if (fresh.error) return;
    reset_grounding(response);
    response.ranking = std::move(fresh.ranking);
    response.ungrounded = std::move(fresh.ungrounded);
    response.duplicates = fresh.duplicates;
    response.out_of_range = fresh.out_of_range;
    response.parse_failures = fresh.parse_failures;
    response.repaired = fresh.repaired;
    response.first_entry_unusable = fresh.first_entry_unusable;
    response.scores = std::move(fresh.scores);
  }

  std::vector<RankResponse> rank_batch(std::span<const RankRequest> requests, const ResponseCallback& on_response) override {
    std::vector<RankResponse> out(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      out[i] = ask(requests[i]);
      if (on_response) on_response(i, out[i]);
    }
    return out;
  }

 private:
  RankResponse ask(const RankRequest& request) {
    RankResponse response;
    response.request_id = request.id;
    if (!process_) {
      if (consecutive_failures_ > 0) {
        const auto delay = options_.restart_backoff_ms * (1 << std::min(consecutive_failures_ - 1, 10));
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      }
      process_ = std::make_unique<ChildProcess>(options_.argv);
    }
    const auto line = encode_request(request, *catalog_, options_.max_history).dump() + "\n";
    const auto started = Clock::now();
    std::string answer;
    std::string failure;
    if (!process_->send(line)) {
      failure = "could not write the request (the program closed its input)";
    } else {
      switch (process_->read_line(answer, started + std::chrono::milliseconds(options_.timeout_ms))) {
        case ChildProcess::Read::kLine: break;
        case ChildProcess::Read::kEof: failure = "the program closed its output"; break;
        case ChildProcess::Read::kTimeout: failure = fmt::format("no answer within {} ms", options_.timeout_ms); break;
      }
    }
    if (failure.empty()) {
      try {
        const auto j = nlohmann::json::parse(answer);
        if (!j.is_object() || j.value("id", std::string()) != request.id)
          failure = fmt::format("answer has id {} instead of \"{}\"", j.is_object() && j.contains("id") ? j["id"].dump() : "(none)", request.id);
        else {
          response.raw = RawAnswer{"answer", answer};
          decode_answer(j, request, *catalog_, options_.grounding, response);
        }
      } catch (const nlohmann::json::exception&) {
        failure = fmt::format("answer is not valid JSON: {}", answer.substr(0, 200));
      } catch (const BadInput& e) {
        failure = e.what();
      }
    }
    response.usage.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    if (failure.empty()) {
      consecutive_failures_ = 0;
      response.usage.calls = 1;
      return response;
    }
    // Kill (if needed) and forget the process; the next request starts a new one.
    const auto tail = process_->stderr_tail();
    const auto status = process_->status();  // before the kill, so a crash reports its own exit status
    process_->kill_now();
    process_.reset();
    ++consecutive_failures_;
    const auto message = fmt::format("exec adapter, request {}: {}; the program ({}) {}, restarting it; stderr: {}", request.id, failure,
                                     fmt::join(options_.argv, " "), status, tail.empty() ? "(empty)" : tail);
    if (consecutive_failures_ > options_.max_restarts)
      throw BackendFailure(fmt::format("{} (failed {} times in a row; giving up)", message, consecutive_failures_));
    response = RankResponse{};
    response.request_id = request.id;
    response.error = message;
    return response;
  }

  std::shared_ptr<const Catalog> catalog_;
  ExecOptions options_;
  std::unique_ptr<ChildProcess> process_;
  int consecutive_failures_ = 0;
};

}  // namespace

std::unique_ptr<Recommender> make_exec_recommender(std::shared_ptr<const Catalog> catalog, ExecOptions options) {
  return std::make_unique<ExecRecommender>(std::move(catalog), std::move(options));
}

}  // namespace recbias
