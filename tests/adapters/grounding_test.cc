#include <catch2/catch.hpp>

#include "adapters/grounding.h"

using namespace recbias;

namespace {

const std::vector<std::string> kTitles = {
    "Toy Story (1995)", "Usual Suspects, The (1995)", "Shanghai Triad (Yao a yao yao dao waipo qiao) (1995)",
    "Star Wars (1977)", "Heat (1995)"};

RankResponse ground(const std::string& text, GroundingOptions options = {}) {
  RankResponse r;
  ground_answer(text, kTitles, options, r);
  return r;
}

}  // namespace

TEST_CASE("answers in many shapes ground to the same candidates", "[grounding]") {
  struct Case {
    const char* name;
    const char* text;
    std::vector<int> ranking;
  };
  const Case cases[] = {
      {"bracket chain", "[4] > [1] > [2]", {3, 0, 1}},
      {"brackets with spaces and prose", "Sure! My ranking is: [ 4 ] > [1] > [2]. Enjoy.", {3, 0, 1}},
      {"one bracket per line", "[5]\n[3]\n", {4, 2}},
      {"numbered titles", "1. Star Wars (1977)\n2. Toy Story (1995)\n3. Heat (1995)", {3, 0, 4}},
      {"numbered with parenthesis", "1) Heat\n2) Toy Story", {4, 0}},
      {"markdown bullets and bold", "- **Star Wars**\n* *Heat (1995)*\n\xe2\x80\xa2 Toy Story", {3, 4, 0}},
      {"prose before and after the list",
       "Sure! Based on your history, here are my picks:\n\n1. Heat\n2. Star Wars\n\nI hope you enjoy these movies!",
       {4, 3}},
      {"think block removed", "<think>The user likes [1] and [2]... maybe [3]</think>\n[5] > [4]", {4, 3}},
      {"titles without year and with leading article", "1. The Usual Suspects\n2. toy story", {1, 0}},
      {"alternate title in parentheses dropped", "1. Shanghai Triad\n2. Heat", {2, 4}},
      {"description after the title", "1. Heat (1995) - a crime epic\n2. Star Wars: a space opera", {4, 3}},
      {"arrow chain of titles", "Heat > Toy Story > Star Wars", {4, 0, 3}},
      {"fuzzy: a typo in a long title", "1. Shanghai Triadd\n2. Usual Suspect", {2, 1}},
      {"curly quotes", "1. \xe2\x80\x9cHeat\xe2\x80\x9d", {4}},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      const auto r = ground(c.text);
      CHECK(r.ranking == c.ranking);
      CHECK(r.ungrounded.empty());
      CHECK(r.parse_failures == 0);
    }
  }
}

TEST_CASE("every common answer format grounds: JSON, fenced blocks, one-line lists, tables", "[grounding]") {
  // Real-looking answers in the formats chat models use (and always use under
  // response_format). The regression table above must keep grounding too.
  struct Case {
    const char* name;
    const char* text;
    std::vector<int> ranking;
    std::vector<std::string> ungrounded;
  };
  const Case cases[] = {
      {"JSON array of titles", R"J(["Heat (1995)", "Star Wars (1977)", "Toy Story (1995)"])J", {4, 3, 0}, {}},
      {"JSON array of [i] indices", R"J(["[5]", "[4]", "[1]"])J", {4, 3, 0}, {}},
      {"JSON array of integers (1-based)", "[2, 5, 1]", {1, 4, 0}, {}},
      {"JSON object with ranking", R"J({"ranking": ["Star Wars (1977)", "Heat (1995)"]})J", {3, 4}, {}},
      {"JSON object with a list under any key", R"J({"my_top_picks": ["Heat", "Toy Story"], "note": "enjoy"})J", {4, 0}, {}},
      {"JSON recommendations of objects with title and reason",
       R"J({"recommendations": [{"title": "Heat (1995)", "reason": "crime"}, {"title": "The Usual Suspects (1995)", "reason": "twist"}]})J",
       {4, 1}, {}},
      {"JSON objects with name", R"J([{"rank": 1, "name": "Toy Story"}, {"rank": 2, "name": "Star Wars"}])J", {0, 3}, {}},
      {"JSON objects with id indices", R"J({"items": [{"id": 3}, {"id": 1}]})J", {2, 0}, {}},
      {"JSON nested object", R"J({"result": {"ranked_movies": ["Heat (1995)", "Star Wars (1977)"]}})J", {4, 3}, {}},
      {"JSON with a hallucinated title", R"J(["Heat (1995)", "The Matrix (1999)", "Toy Story (1995)"])J", {4, 0}, {"The Matrix (1999)"}},
      {"fenced json block with prose around",
       "Here is my ranking:\n```json\n[\"Star Wars (1977)\", \"Heat (1995)\"]\n```\nLet me know if you want more.", {3, 4}, {}},
      {"fenced block without language tag", "```\n1. Heat\n2. Toy Story\n```", {4, 0}, {}},
      {"prose then JSON without a fence", "Sure! Based on your history:\n{\"ranking\": [\"Toy Story (1995)\", \"Heat (1995)\"]}", {0, 4}, {}},
      {"JSON inside a think-then-answer", "<think>maybe [\"Heat\"]</think>\n[\"Star Wars (1977)\", \"Toy Story (1995)\"]", {3, 0}, {}},
      {"comma-separated one-line list", "Heat (1995), Star Wars (1977), Toy Story (1995)", {4, 3, 0}, {}},
      {"comma-separated with a title that contains a comma", "Usual Suspects, The (1995), Heat (1995), Toy Story (1995)", {1, 4, 0}, {}},
      {"semicolon-separated", "Star Wars; Heat; Toy Story", {3, 4, 0}, {}},
      {"greater-than chain without spaces", "Heat>Star Wars>Toy Story", {4, 3, 0}, {}},
      {"one-line list after a label", "My picks: Heat (1995), Toy Story (1995), Star Wars (1977)", {4, 0, 3}, {}},
      {"comma list with a hallucination", "Heat (1995), The Matrix (1999), Toy Story (1995)", {4, 0}, {"The Matrix (1999)"}},
      {"markdown table",
       "| Rank | Title | Why |\n|------|-------|-----|\n| 1 | Star Wars (1977) | space |\n| 2 | Heat (1995) | crime |\n| 3 | Toy Story (1995) | fun |",
       {3, 4, 0}, {}},
      {"markdown table with bracket indices", "| # | Candidate |\n|---|---|\n| 1 | [5] |\n| 2 | [2] |", {4, 1}, {}},
      {"numbered lines with an en-dash explanation",
       "1. Heat (1995) \xe2\x80\x93 a tense crime drama\n2. Star Wars (1977) \xe2\x80\x94 the classic\n3. Toy Story (1995): fun for all",
       {4, 3, 0}, {}},
      {"numbered lines with a comma explanation", "1. Heat (1995), because you like crime\n2. Toy Story (1995), a classic", {4, 0}, {}},
      {"think block in the middle", "1. Heat\n<think>should Star Wars be next? yes</think>\n2. Star Wars", {4, 3}, {}},
      {"leading prose paragraph",
       "Based on your watching history, which leans towards crime and science fiction, I would rank them as follows.\n\n1. Heat\n2. Star Wars",
       {4, 3}, {}},
      {"malformed JSON falls back to the line grounder", "[\"Heat (1995)\", \"Star Wars (1977)\"", {4, 3}, {}},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      const auto r = ground(c.text);
      CHECK(r.ranking == c.ranking);
      CHECK(r.ungrounded == c.ungrounded);
      CHECK(r.parse_failures == 0);
      CHECK_FALSE(r.first_entry_unusable);
    }
  }
}

TEST_CASE("first_entry_unusable says when the answer's first entry was not a candidate", "[grounding]") {
  CHECK(ground("1. The Matrix (1999)\n2. Heat").first_entry_unusable);
  CHECK(ground("[9] > [1]").first_entry_unusable);
  CHECK(ground(R"J(["Imaginary (2031)", "Heat (1995)"])J").first_entry_unusable);
  CHECK_FALSE(ground("1. Heat\n2. The Matrix (1999)").first_entry_unusable);
  CHECK_FALSE(ground("[1] > [1] > [2]").first_entry_unusable);  // the duplicate is second
  const auto r = ground("[1] > [9]");
  CHECK(r.ranking == std::vector<int>{0});
  CHECK(r.out_of_range == 1);
  // Repair fills a ranking the model never gave: its first entry is not the model's.
  GroundingOptions repair;
  repair.repair = true;
  CHECK(ground("I cannot answer that.", repair).first_entry_unusable);
  CHECK_FALSE(ground("[2]", repair).first_entry_unusable);
}

TEST_CASE("grounding again after reset_grounding gives the same response", "[grounding]") {
  RankResponse r;
  ground_answer("1. Heat\n2. The Matrix (1999)\n3. Heat\n[9]", kTitles, {}, r);
  const auto first = r;
  reset_grounding(r);
  CHECK(r.ranking.empty());
  CHECK(r.ungrounded.empty());
  ground_answer("1. Heat\n2. The Matrix (1999)\n3. Heat\n[9]", kTitles, {}, r);
  CHECK(r.ranking == first.ranking);
  CHECK(r.ungrounded == first.ungrounded);
  CHECK(r.duplicates == first.duplicates);
  CHECK(r.out_of_range == first.out_of_range);
}

TEST_CASE("hallucinations, duplicates, out-of-range indices and unparseable answers are counted", "[grounding]") {
  SECTION("hallucinated titles are kept verbatim") {
    const auto r = ground("1. Heat\n2. The Matrix (1999)\n3. Star Wars");
    CHECK(r.ranking == std::vector<int>{4, 3});
    CHECK(r.ungrounded == std::vector<std::string>{"The Matrix (1999)"});
  }
  SECTION("duplicates") {
    const auto r = ground("[2] > [2] > [1] > [1]");
    CHECK(r.ranking == std::vector<int>{1, 0});
    CHECK(r.duplicates == 2);
  }
  SECTION("out of range") {
    const auto r = ground("[9] > [0] > [3]");
    CHECK(r.ranking == std::vector<int>{2});
    CHECK(r.out_of_range == 2);
  }
  SECTION("prose only is a parse failure") {
    const auto r = ground("I'm sorry, but I cannot help with ranking these movies without more information.");
    CHECK(r.ranking.empty());
    CHECK(r.parse_failures == 1);
  }
  SECTION("empty answer is a parse failure") {
    CHECK(ground("").parse_failures == 1);
    CHECK(ground("<think>still thinking when cut off").parse_failures == 1);
  }
  SECTION("a fuzzy match needs the threshold") {
    GroundingOptions strict;
    strict.fuzzy_threshold = 0.99;
    const auto r = ground("1. Star Wras (1977)", strict);
    CHECK(r.ranking.empty());
    CHECK(r.ungrounded.size() == 1);
  }
}

TEST_CASE("repair appends missing candidates in presented order and counts them, it is off by default", "[grounding]") {
  CHECK(ground("[3] > [1]").repaired == 0);
  GroundingOptions repair;
  repair.repair = true;
  const auto r = ground("[3] > [1]", repair);
  CHECK(r.ranking == std::vector<int>{2, 0, 1, 3, 4});
  CHECK(r.repaired == 3);
}

TEST_CASE("title normalisation and the LCS ratio", "[grounding]") {
  CHECK(normalize_title("Usual Suspects, The (1995)") == "usual suspects");
  CHECK(normalize_title("The Usual Suspects") == "usual suspects");
  CHECK(normalize_title("Heat (1995)") == "heat");
  CHECK(normalize_title("Tom & Jerry") == "tom and jerry");
  CHECK(lcs_ratio("abcd", "abcd") == 1.0);
  CHECK(lcs_ratio("abcd", "abed") == Approx(0.75));  // LCS "abd": 2*3/8
  CHECK(lcs_ratio("", "") == 1.0);
  CHECK(strip_think_blocks("a<THINK>x</think>b<think>y") == "ab");
}
