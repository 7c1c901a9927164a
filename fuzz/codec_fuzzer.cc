// The exec protocol / `recbias rank` reader: arbitrary request and answer
// objects decoded against a small catalog.
#include <cstdint>
#include <string>

#include "adapters/request_codec.h"
#include "core/errors.h"
#include "core/json_io.h"
#include "fuzz/fuzz_support.h"

using namespace recbias;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Catalog catalog = [] {
    Catalog c;
    for (int i = 1; i <= 8; ++i) c.add({std::to_string(i), "Movie " + std::to_string(i) + " (1990)", {"Drama"}, 0});
    return c;
  }();
  const auto parts = fuzz::split_input(data, size, 2);
  try {
    const auto request = decode_request(parse_json(parts[0], "request"), catalog, "request");
    RankResponse response;
    decode_answer(parse_json(parts[1], "answer"), request, catalog, GroundingOptions{}, response);
    encode_response(response, request, catalog);
  } catch (const Error&) {
  }
  return 0;
}
