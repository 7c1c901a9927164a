// Errors split by cause, so that `main` can map each to a documented exit code
// and a user knows whether to fix their input, their model server, or report a
// bug. Library code throws; only cli/main.cc catches (and exits).
#pragma once

#include <stdexcept>
#include <string>

namespace recbias {

// Exit codes of the `recbias` executable (documented in README.md).
enum class ExitCode : int {
  kOk = 0,            // success; for `gate`: every rule passed
  kGateFailed = 1,    // `gate`: at least one rule failed
  kBadInput = 2,      // bad input or configuration: the user can fix it
  kInconclusive = 3,  // too few valid responses to decide
  kBackendFailure = 4,// the model, the network or a subprocess failed
  kInternal = 5,      // a bug in recbias: please report it
};

// Base of every recbias error.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual ExitCode exit_code() const noexcept = 0;
};

// Bad input or configuration: a malformed file, an unknown name, a value out
// of range. The message names the thing (file:line and field where there is
// one), the value found, what was expected and, where possible, the fix.
class BadInput final : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return ExitCode::kBadInput; }
};

// The model backend failed: HTTP errors after retries, a crashed subprocess,
// a TorchScript runtime error. The message carries the request id.
class BackendFailure final : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return ExitCode::kBackendFailure; }
};

// Not enough valid data to reach a verdict (for example a gate rule whose
// metric has too few valid responses).
class Inconclusive final : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return ExitCode::kInconclusive; }
};

// A broken invariant inside recbias. Never the user's fault.
class InternalError final : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const noexcept override { return ExitCode::kInternal; }
};

// Throws InternalError("<what> (at <file>:<line>)") when `condition` is false.
#define RECBIAS_CHECK(condition, what)                                                   \
  do {                                                                                   \
    if (!(condition))                                                                    \
      throw ::recbias::InternalError(std::string("internal check failed: ") + (what) +  \
                                     " (" #condition " at " __FILE__ ":" +               \
                                     std::to_string(__LINE__) + ")");                    \
  } while (false)

}  // namespace recbias
