#include <catch2/catch.hpp>

#include "core/sha256.h"
#include "tests/test_support.h"

using namespace recbias;

TEST_CASE("SHA-256 matches the FIPS 180-4 example vectors", "[sha256]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // One million 'a' (FIPS 180-4 long-message example), fed in uneven pieces.
  Sha256 hash;
  const std::string chunk(997, 'a');
  std::size_t fed = 0;
  while (fed + chunk.size() <= 1000000) { hash.update(chunk); fed += chunk.size(); }
  hash.update(std::string(1000000 - fed, 'a'));
  CHECK(hash.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("file fingerprints equal the hash of the bytes, and the real ml-100k matches its README", "[sha256][real-data]") {
  testing::TempDir dir;
  testing::write_file(dir / "f", "abc");
  CHECK(sha256_file(dir / "f") == sha256_hex("abc"));
  RECBIAS_REQUIRE_DATASET(folder, "ml-100k", "u.data");
  CHECK(sha256_file(folder + "/u.data") == "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490");
}
