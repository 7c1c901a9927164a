// A seeded random number generator whose streams are identical on every
// platform, compiler and standard library.
//
// std::mt19937_64 is portable but std's *distributions* are not (libstdc++,
// libc++ and MSVC give different numbers for the same engine), so recbias
// implements the few distributions it needs on top of xoshiro256**
// (Blackman & Vigna 2018, https://prng.di.unimi.it/), seeded by SplitMix64.
//
// Exactness: next_u64, uniform_int, uniform01, shuffle, sample and
// poisson(1.0) use integer arithmetic and exact IEEE operations only, so their
// streams are bit-identical everywhere. poisson(lambda != 1) and normal() call
// std::exp / std::log / std::cos, which are correctly rounded in glibc but may
// differ in the last bit on other C libraries.
//
// Streams: Rng::stream(seed, key) derives an independent generator for a
// named purpose ("candidates/user/42"), so what one user or request draws
// does not depend on how many others came before it. This is what makes
// sharded runs reproduce single runs exactly.
//
// Thread rules: an Rng is a value; do not share one between threads.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace recbias {

// SplitMix64 step: advances `state` and returns the next output.
std::uint64_t splitmix64(std::uint64_t& state);

// 64-bit FNV-1a of `text`, finalised with the SplitMix64 mixer. Stable
// across platforms; used to turn keys into stream ids.
std::uint64_t stable_hash(std::string_view text);

// Mixes two 64-bit values into one (order matters).
std::uint64_t hash_combine(std::uint64_t a, std::uint64_t b);

class Rng {
 public:
  // Seeds the four state words from SplitMix64(seed), as the xoshiro authors recommend.
  explicit Rng(std::uint64_t seed);

  // An independent generator for `key` under `seed`.
  static Rng stream(std::uint64_t seed, std::string_view key);
  static Rng stream(std::uint64_t seed, std::uint64_t key);

  std::uint64_t next_u64();

  // Uniform integer in [0, n). n must be > 0. Lemire's multiply-and-reject
  // method: unbiased, and the stream depends only on the engine.
  std::uint64_t uniform_int(std::uint64_t n);

  // Uniform double in [0, 1) with 53 random bits.
  double uniform01();

  // Poisson(lambda) by sequential inversion; lambda in (0, 50].
  // poisson(1.0) is bit-exact everywhere (e^-1 is a constant).
  int poisson(double lambda);

  // Standard normal by the Box-Muller transform (see the exactness note).
  double normal();

  // Fisher-Yates shuffle (Durstenfeld), from the last element down.
  template <typename T>
  void shuffle(std::span<T> values) {
    for (std::size_t i = values.size(); i > 1; --i) {
      auto j = static_cast<std::size_t>(uniform_int(i));
      std::swap(values[i - 1], values[j]);
    }
  }
  template <typename T>
  void shuffle(std::vector<T>& values) { shuffle(std::span<T>(values)); }

  // A uniformly random permutation of 0..n-1.
  std::vector<int> permutation(int n);

 private:
  [[noreturn]] static void uniform_int_of_zero();
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// next_u64 and uniform_int are inline: permutation nulls and simulations
// call them hundreds of millions of times.
inline std::uint64_t Rng::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

inline std::uint64_t Rng::uniform_int(std::uint64_t n) {
  if (n == 0) uniform_int_of_zero();
  // Lemire (2019), "Fast Random Integer Generation in an Interval".
  __extension__ using u128 = unsigned __int128;
  u128 m = static_cast<u128>(next_u64()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<u128>(next_u64()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

}  // namespace recbias
