// The dataset readers and what runs right after them (the leave-one-out split
// and candidate sampling), on arbitrary file contents. RECBIAS_FUZZ_FORMAT
// (compile definition) picks the reader: 0 = MovieLens 100K, 1 = MovieLens 1M,
// 2 = JSON Lines. The input is split at NUL bytes into the format's files.
#include <cstdint>

#include "core/errors.h"
#include "datasets/loader.h"
#include "datasets/workload.h"
#include "fuzz/fuzz_support.h"

using namespace recbias;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
#if RECBIAS_FUZZ_FORMAT == 0
  static const char* files[] = {"u.data", "u.item", "u.user", "u.genre", "u.occupation"};
#elif RECBIAS_FUZZ_FORMAT == 1
  static const char* files[] = {"ratings.dat", "movies.dat", "users.dat"};
#else
  static const char* files[] = {"interactions.jsonl", "items.jsonl", "users.jsonl"};
#endif
  constexpr std::size_t n = sizeof(files) / sizeof(files[0]);
  const auto parts = fuzz::split_input(data, size, n);
  const auto dir = fuzz::scratch_folder();
  for (std::size_t i = 0; i < n; ++i) fuzz::write(dir / files[i], parts[i]);
  try {
    const auto workload = split_leave_one_out(load_dataset(dir.string()));
    CandidateOptions options;
    options.negatives = 3;
    build_requests(workload, options);
  } catch (const Error&) {
  }
  return 0;
}
