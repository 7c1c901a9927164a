// SHA-256 (FIPS 180-4) for cache keys and dataset fingerprints, computed by
// OpenSSL's libcrypto (libssl-dev; already on every machine through
// libcurl). The header keeps OpenSSL out of its includers; tests check the
// FIPS 180-4 example vectors.
//
// Thread rules: a Sha256 is not thread-safe; the free functions are.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace recbias {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  // Finishes and returns the 64-character lowercase hex digest. The object
  // must not be updated afterwards.
  std::string hex_digest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// Hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// Hex SHA-256 of a file's bytes; throws BadInput when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace recbias
