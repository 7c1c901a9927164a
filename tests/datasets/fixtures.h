// Small datasets written by the tests themselves, in each supported format.
#pragma once

#include <string>

#include "tests/test_support.h"

namespace recbias::testing {

// A 3-user, 4-item MovieLens 100K folder (u.data, u.item, u.user, u.genre, u.occupation).
inline void write_tiny_ml100k(const TempDir& dir) {
  write_file(dir / "u.genre", "unknown|0\nAction|1\nComedy|2\n\n");
  write_file(dir / "u.occupation", "engineer\nother\nwriter\n");
  write_file(dir / "u.item",
             "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|1\n"
             "2|GoldenEye (1995)|01-Jan-1995||http://x|0|1|0\n"
             "3|Caf\xe9 au lait (1993)|01-Jan-1993||http://x|0|0|1\n"
             "4|Heat (1995)|01-Jan-1995||http://x|0|1|0\n");
  write_file(dir / "u.user", "1|24|M|engineer|85711\n2|53|F|other|94043\n3|17|M|writer|32067\n");
  write_file(dir / "u.data",
             "1\t1\t5\t100\n1\t2\t3\t200\n1\t3\t4\t300\n"
             "2\t2\t4\t150\n2\t4\t2\t150\n"
             "3\t1\t1\t50\n");
}

// The same data in MovieLens 1M's "::" format.
inline void write_tiny_ml1m(const TempDir& dir) {
  write_file(dir / "movies.dat",
             "1::Toy Story (1995)::Animation|Children's|Comedy\n"
             "2::GoldenEye (1995)::Action|Adventure|Thriller\n"
             "3::Caf\xe9 au lait (1993)::Comedy\n");
  write_file(dir / "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n");
  write_file(dir / "ratings.dat", "1::1::5::978300760\n1::2::3::978302109\n2::3::4::978301968\n");
}

inline void write_tiny_jsonl(const TempDir& dir) {
  write_file(dir / "items.jsonl",
             "{\"id\": \"a\", \"title\": \"Alpha\", \"categories\": [\"x\"]}\n"
             "{\"id\": \"b\", \"title\": \"Beta\"}\n"
             "\n"
             "{\"id\": \"c\", \"title\": \"Gamma \xc3\xa9\", \"categories\": [\"x\", \"y\"]}\n");
  write_file(dir / "users.jsonl",
             "{\"id\": \"u1\", \"attributes\": {\"gender\": \"F\"}}\n"
             "{\"id\": \"u2\", \"attributes\": {\"gender\": \"M\", \"age\": \"25-34\"}}\n");
  write_file(dir / "interactions.jsonl",
             "{\"user\": \"u1\", \"item\": \"a\", \"timestamp\": 10}\n"
             "{\"user\": \"u1\", \"item\": \"c\", \"timestamp\": 20, \"rating\": 4.5}\n"
             "{\"user\": \"u2\", \"item\": \"b\", \"timestamp\": 5}\n");
}

}  // namespace recbias::testing
