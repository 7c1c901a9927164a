// SHA-256 (FIPS 180-4), for cache keys and dataset fingerprints. None of the
// libraries recbias may use exposes a public SHA-256, so this small one is
// ours; tests check it against the FIPS 180-4 example vectors.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace recbias {

class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  // Finishes and returns the 64-character lowercase hex digest. The object
  // must not be updated afterwards.
  std::string hex_digest();

 private:
  void compress(const unsigned char* block);
  std::array<std::uint32_t, 8> h_;
  std::array<unsigned char, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

// Hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// Hex SHA-256 of a file's bytes; throws BadInput when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace recbias
