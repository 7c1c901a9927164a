#include <catch2/catch.hpp>

#include <string>

#include "core/errors.h"
#include "core/text.h"

using namespace recbias;

TEST_CASE("Latin-1 converts to UTF-8 byte for byte", "[text]") {
  CHECK(latin1_to_utf8("Caf\xe9") == "Caf\xc3\xa9");
  CHECK(latin1_to_utf8("plain") == "plain");
  CHECK_FALSE(find_invalid_utf8(latin1_to_utf8("\xff\x80 \xe9")).has_value());
}

TEST_CASE("invalid UTF-8 is located", "[text]") {
  CHECK_FALSE(find_invalid_utf8("ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80").has_value());
  CHECK(find_invalid_utf8("ab\xe9z") == 2u);          // Latin-1 byte
  CHECK(find_invalid_utf8("\xc0\xaf") == 0u);         // overlong '/'
  CHECK(find_invalid_utf8("x\xed\xa0\x80") == 1u);    // surrogate
  CHECK(find_invalid_utf8("\xe2\x82") == 0u);         // truncated
}

TEST_CASE("split, trim and number parsing are strict", "[text]") {
  CHECK(split("a::b::", "::") == std::vector<std::string_view>{"a", "b", ""});
  CHECK(trim("  x y \r\n") == "x y");
  CHECK(parse_int("42") == 42);
  CHECK(parse_int("-7") == -7);
  CHECK_FALSE(parse_int("4x").has_value());
  CHECK_FALSE(parse_int("").has_value());
  CHECK_FALSE(parse_int("1.5").has_value());
  CHECK(parse_double("2.5") == 2.5);
  CHECK_FALSE(parse_double("inf").has_value());
  CHECK(quote_for_message("a\tb\xe9") == "\"a\\x09b\\xE9\"");
}

TEST_CASE("ascii_lower lowers A-Z only and keeps every other byte", "[text]") {
  CHECK(ascii_lower("Rank: 1. The MATRIX (1999)") == "rank: 1. the matrix (1999)");
  CHECK(ascii_lower("@[`{") == "@[`{");  // the bytes just outside A-Z
  CHECK(ascii_lower("\xc3\x89T\xc3\x89") == "\xc3\x89t\xc3\x89");  // UTF-8 bytes of non-ASCII letters stay
  CHECK(ascii_lower("") == "");
}

TEST_CASE("UTF-8 prefixes never split a character", "[text]") {
  const std::string s = "ab\xc3\xa9";  // "abé": é is two bytes
  CHECK(utf8_prefix(s, 3) == "ab");
  CHECK(utf8_prefix(s, 4) == s);
  CHECK(utf8_prefix(s, 10) == s);
}

TEST_CASE("utf8_lower lower-cases as Python's str.lower() does over Latin, Greek and Cyrillic", "[text]") {
  // Every printable code point of U+0041..U+017F and U+0370..U+04FF, and
  // what Python 3.11's str.lower() made of them (generated once with
  // Python; note U+0130 becomes "i" + U+0307, two code points).
  const std::string upper =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|"
      "}~¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛ"
      "ÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖė"
      "ĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĲĳĴĵĶķĸĹĺĻļĽľĿŀŁłŃńŅņŇňŉŊŋŌōŎŏŐőŒœ"
      "ŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŦŧŨũŪūŬŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſͰͱͲͳʹ͵Ͷͷͺͻͼͽ;Ϳ΄΅"
      "Ά·ΈΉΊΌΎΏΐΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΪΫάέήίΰαβγδεζηθικλμνξοπρςστ"
      "υφχψωϊϋόύώϏϐϑϒϓϔϕϖϗϘϙϚϛϜϝϞϟϠϡϢϣϤϥϦϧϨϩϪϫϬϭϮϯϰϱϲϳϴϵ϶ϷϸϹϺϻϼϽϾϿЀ"
      "ЁЂЃЄЅІЇЈЉЊЋЌЍЎЏАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдежзийклм"
      "нопрстуфхцчшщъыьэюяѐёђѓєѕіїјљњћќѝўџѠѡѢѣѤѥѦѧѨѩѪѫѬѭѮѯѰѱѲѳѴѵѶѷѸ"
      "ѹѺѻѼѽѾѿҀҁ҂҃҄҅҆҇҈҉ҊҋҌҍҎҏҐґҒғҔҕҖҗҘҙҚқҜҝҞҟҠҡҢңҤҥҦҧҨҩҪҫҬҭҮүҰұҲҳҴ"
      "ҵҶҷҸҹҺһҼҽҾҿӀӁӂӃӄӅӆӇӈӉӊӋӌӍӎӏӐӑӒӓӔӕӖӗӘәӚӛӜӝӞӟӠӡӢӣӤӥӦӧӨөӪӫӬӭӮӯӰ"
      "ӱӲӳӴӵӶӷӸӹӺӻӼӽӾӿ";
  const std::string lower =
      "abcdefghijklmnopqrstuvwxyz[\\]^_`abcdefghijklmnopqrstuvwxyz{|"
      "}~¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿àáâãäåæçèéêëìíîïðñòóôõö×øùúû"
      "üýþßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿāāăăąąććĉĉċċččďďđđēēĕĕėė"
      "ęęěěĝĝğğġġģģĥĥħħĩĩīīĭĭįįi̇ıĳĳĵĵķķĸĺĺļļľľŀŀłłńńņņňňŉŋŋōōŏŏőőœ"
      "œŕŕŗŗřřśśŝŝşşššţţťťŧŧũũūūŭŭůůűűųųŵŵŷŷÿźźżżžžſͱͱͳͳʹ͵ͷͷͺͻͼͽ;ϳ΄"
      "΅ά·έήίόύώΐαβγδεζηθικλμνξοπρστυφχψωϊϋάέήίΰαβγδεζηθικλμνξοπρςσ"
      "τυφχψωϊϋόύώϗϐϑϒϓϔϕϖϗϙϙϛϛϝϝϟϟϡϡϣϣϥϥϧϧϩϩϫϫϭϭϯϯϰϱϲϳθϵ϶ϸϸϲϻϻϼͻͼͽ"
      "ѐёђѓєѕіїјљњћќѝўџабвгдежзийклмнопрстуфхцчшщъыьэюяабвгдежзийкл"
      "мнопрстуфхцчшщъыьэюяѐёђѓєѕіїјљњћќѝўџѡѡѣѣѥѥѧѧѩѩѫѫѭѭѯѯѱѱѳѳѵѵѷѷ"
      "ѹѹѻѻѽѽѿѿҁҁ҂҃҄҅҆҇҈҉ҋҋҍҍҏҏґґғғҕҕҗҗҙҙққҝҝҟҟҡҡңңҥҥҧҧҩҩҫҫҭҭүүұұҳҳ"
      "ҵҵҷҷҹҹһһҽҽҿҿӏӂӂӄӄӆӆӈӈӊӊӌӌӎӎӏӑӑӓӓӕӕӗӗәәӛӛӝӝӟӟӡӡӣӣӥӥӧӧөөӫӫӭӭӯӯ"
      "ӱӱӳӳӵӵӷӷӹӹӻӻӽӽӿӿ";
  CHECK(utf8_lower(upper) == lower);
  // Three-byte characters and invalid bytes are kept as they are.
  CHECK(utf8_lower("\xE2\x84\xAA Kelvin \xFF") == "\xE2\x84\xAA kelvin \xFF");
}

TEST_CASE("RECBIAS_CHECK's message names its file relative to the source tree, not the clone's path", "[text][errors]") {
  // -fmacro-prefix-map (top-level CMakeLists.txt): messages and ccache
  // entries must not depend on where the checkout is.
  std::string message;
  try {
    RECBIAS_CHECK(message.size() == 1, "an empty string");
  } catch (const InternalError& e) {
    message = e.what();
  }
  // "tests/core/text_test.cc:N", or "../../tests/..." where ccache has
  // already made the compiled file's path relative; never absolute.
  CHECK_THAT(message, Catch::Contains("tests/core/text_test.cc:"));
  CHECK(message.find(" at /") == std::string::npos);
}
