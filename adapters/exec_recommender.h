// `exec`: any program that speaks JSON Lines on stdin/stdout.
//
// The command is started once (argv split on spaces, no shell) and sent one
// request object per line (request_codec.h); it answers one object per line
// with the same "id". Requests are sent one at a time. Anything the program
// writes to stderr is kept (the last 4 KiB) and quoted in error messages.
//
// A program that exits, closes stdout, answers with malformed JSON or a wrong
// id, or does not answer within timeout_ms is killed and restarted (after a
// backoff doubling from restart_backoff_ms); the request it was handling
// fails with the reason and the stderr tail, and the next request goes to
// the new process. After max_restarts consecutive failures rank() throws
// BackendFailure.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapters/grounding.h"
#include "adapters/recommender.h"

namespace recbias {

struct ExecOptions {
  std::vector<std::string> argv;   // program and arguments; required
  int timeout_ms = 60000;          // per request; default 60 s
  int max_restarts = 5;            // consecutive failures before giving up; default 5
  int restart_backoff_ms = 100;    // first restart delay, doubling; default 100 ms
  int max_history = 50;            // history items sent; default 50
  bool scores = false;             // the program returns scores (declared capability); default false
  GroundingOptions grounding;      // for answers given as "text"
};

std::unique_ptr<Recommender> make_exec_recommender(std::shared_ptr<const Catalog> catalog, ExecOptions options);

}  // namespace recbias
