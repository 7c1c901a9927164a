#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/json_io.h"

using namespace recbias;
using Catch::Matchers::Contains;
using nlohmann::json;

TEST_CASE("vocabulary types survive a JSON round trip", "[json]") {
  RankRequest request;
  request.id = "u42";
  request.user = {"42", {3, 1, 4}, {{"gender", "F"}, {"age", "25-34"}}, " Adele "};
  request.open = true;
  request.candidates = {5, 9, 2, 6};
  request.k = 3;
  const auto back = json(request).get<RankRequest>();
  CHECK(back.id == "u42");
  CHECK(back.user.history == request.user.history);
  CHECK(back.user.attributes == request.user.attributes);
  CHECK(back.user.fan_of == " Adele ");  // verbatim, spaces kept
  CHECK(back.open);
  CHECK(back.candidates == request.candidates);
  CHECK(back.k == 3);

  RankResponse response;
  response.request_id = "u42";
  response.ranking = {2, 0, 1};
  response.scores = std::vector<float>{0.5f, -1.25f, 3.0f, 0.0f};
  response.ungrounded = {"The Matrix (1999)"};
  response.duplicates = 1;
  response.out_of_range = 2;
  response.parse_failures = 3;
  response.repaired = 1;
  response.truncated = true;
  response.usage = {120, 30, 812.5, 1};
  response.error = "timeout";
  const auto r = json(response).get<RankResponse>();
  CHECK(r.ranking == response.ranking);
  CHECK(r.scores == response.scores);
  CHECK(r.ungrounded == response.ungrounded);
  CHECK(r.duplicates == 1);
  CHECK(r.out_of_range == 2);
  CHECK(r.parse_failures == 3);
  CHECK(r.repaired == 1);
  CHECK(r.truncated);
  CHECK(r.usage.prompt_tokens == 120);
  CHECK(r.usage.latency_ms == 812.5);
  CHECK(r.error == response.error);

  RankResponse plain;
  plain.request_id = "x";
  const auto p = json(plain).get<RankResponse>();
  CHECK_FALSE(p.scores.has_value());
  CHECK_FALSE(p.error.has_value());

  Catalog catalog;
  catalog.add({"1", "Toy Story (1995)", {"Animation", "Comedy"}, 452});
  catalog.add({"2", "GoldenEye (1995)", {"Action"}, 131});
  const auto c = json(catalog).get<Catalog>();
  REQUIRE(c.size() == 2);
  CHECK(c.at(1).title == "GoldenEye (1995)");
  CHECK(c.at(0).categories == std::vector<std::string>{"Animation", "Comedy"});
  CHECK(c.find("2") == 1);
  CHECK(c.at(0).popularity == 452);
}

TEST_CASE("bad vocabulary JSON names the field and the types", "[json]") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {R"({"user": {"id": "1"}, "candidates": [1]})", "missing required field \"id\""},
      {R"({"id": 5, "user": {"id": "1"}, "candidates": [1]})", "field \"id\": expected a string, found integer 5"},
      {R"({"id": "r", "user": {"id": "1"}, "candidates": "1,2"})", "field \"candidates\": expected an array of item indices, found string"},
      {R"({"id": "r", "user": {"id": "1"}, "candidates": [1], "k": "ten"})", "field \"k\": expected an integer, found string"},
      {R"({"id": "r", "user": [], "candidates": [1]})", "field \"user\""},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK_THROWS_WITH(json::parse(c.text).get<RankRequest>(), Contains(c.message));
  }
  CHECK_THROWS_WITH(parse_json("{\"a\": ", "requests.jsonl:3"), Contains("requests.jsonl:3: invalid JSON at byte"));
  // A number beyond double's range is bad input too, not an escaping library error (found by fuzzing).
  CHECK_THROWS_AS(parse_json("[5e5235]", "answer"), BadInput);
  CHECK_THROWS_WITH(parse_json("[5e5235]", "answer"), Contains("answer: invalid JSON") && Contains("number overflow"));
  Catalog catalog;
  catalog.add({"1", "", {}, 0});
  CHECK_THROWS_WITH(catalog.add({"1", "", {}, 0}), Contains("item id \"1\" appears twice"));
}

TEST_CASE("integers that are not integers, or do not fit, are bad input, never converted", "[json]") {
  // nlohmann converts a double to an integer unchecked; beyond the range that
  // is undefined behaviour (the codec fuzzer found 5e120 as a token count).
  const char* cases[][2] = {
      {R"({"request_id": "a", "usage": {"prompt_tokens": 5e120}})", "field \"usage\": field \"prompt_tokens\": expected an integer, found number 5e+120"},
      {R"({"request_id": "a", "ranking": [0, 1.5]})", "field \"ranking\": expected an array of candidate positions"},
      {R"({"request_id": "a", "duplicates": 3000000000})", "field \"duplicates\": expected an integer"},
      {R"({"request_id": "a", "ranking": [1e300]})", "field \"ranking\""},
  };
  for (const auto& [text, message] : cases) {
    CAPTURE(text);
    CHECK_THROWS_AS(json::parse(text).get<RankResponse>(), BadInput);
    CHECK_THROWS_WITH(json::parse(text).get<RankResponse>(), Contains(message));
  }
  // Integral floats that fit are fine (JSON has one number type).
  const auto r = json::parse(R"({"request_id": "a", "ranking": [2.0, 0], "usage": {"calls": 3.0}})").get<RankResponse>();
  CHECK(r.ranking == std::vector<int>{2, 0});
  CHECK(r.usage.calls == 3);
}
