#include "core/rng.h"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "core/errors.h"

namespace recbias {
namespace {

inline std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::uint64_t splitmix64(std::uint64_t& state) {
  state += 0x9e3779b97f4a7c15ULL;
  return mix(state);
}

std::uint64_t stable_hash(std::string_view text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return mix(h);
}

std::uint64_t hash_combine(std::uint64_t a, std::uint64_t b) {
  return mix(a ^ (mix(b) + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
}

Rng::Rng(std::uint64_t seed) {
  std::uint64_t state = seed;
  for (auto& word : s_) word = splitmix64(state);
}

Rng Rng::stream(std::uint64_t seed, std::string_view key) { return Rng(hash_combine(seed, stable_hash(key))); }
Rng Rng::stream(std::uint64_t seed, std::uint64_t key) { return Rng(hash_combine(seed, key)); }

void Rng::uniform_int_of_zero() { RECBIAS_CHECK(false, "uniform_int(0)"); }

double Rng::uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

int Rng::poisson(double lambda) {
  RECBIAS_CHECK(lambda > 0 && lambda <= 50, fmt::format("poisson lambda {} outside (0, 50]", lambda));
  // e^-1 as the nearest double, so that bootstrap weights never touch libm.
  double p = lambda == 1.0 ? 0.36787944117144233 : std::exp(-lambda);
  double cdf = p;
  const double u = uniform01();
  int k = 0;
  while (u >= cdf && k < 1000) {
    ++k;
    p *= lambda / k;
    cdf += p;
    if (p == 0) break;  // the remaining tail is below double resolution
  }
  return k;
}

double Rng::normal() {
  double u1 = uniform01();
  while (u1 == 0) u1 = uniform01();
  const double u2 = uniform01();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::vector<int> Rng::permutation(int n) {
  std::vector<int> perm(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) perm[static_cast<std::size_t>(i)] = i;
  shuffle(perm);
  return perm;
}

}  // namespace recbias
