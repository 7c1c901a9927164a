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
  std::uint64_t s_[4];
};

}  // namespace recbias
