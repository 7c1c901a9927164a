#include <cmath>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/bootstrap.h"
#include "core/errors.h"
#include "core/rng.h"

using namespace recbias;
using Catch::Matchers::Contains;

TEST_CASE("ExactSum is independent of the order of additions", "[bootstrap]") {
  // In doubles, (1e16 + 1) - 1e16 loses the 1; the fixed-point sum keeps every
  // value's 2^-48 quantum, so any order gives the same bits.
  std::vector<double> values{0.1, 1e9, -1e9, 0.2, 0.3, 1e-3, 12345.678};
  ExactSum forward, backward;
  for (double v : values) forward.add(v);
  for (auto it = values.rbegin(); it != values.rend(); ++it) backward.add(*it);
  CHECK(forward == backward);
  CHECK(std::abs(forward.value() - (0.1 + 0.2 + 0.3 + 1e-3 + 12345.678)) < 1e-9);
  CHECK(ExactSum::from_string(forward.to_string()) == forward);
  ExactSum negative;
  negative.add(-2.5);
  CHECK(ExactSum::from_string(negative.to_string()).value() == -2.5);
  CHECK_THROWS_WITH(forward.add(std::nan("")), Contains("finite"));
  CHECK_THROWS_WITH(ExactSum::from_string("12a"), Contains("decimal integer"));
}

TEST_CASE("Poisson weights depend only on seed and unit key", "[bootstrap]") {
  CHECK(poisson_weights(1, 42, 50) == poisson_weights(1, 42, 50));
  CHECK(poisson_weights(1, 42, 50) != poisson_weights(1, 43, 50));
  CHECK(poisson_weights(1, 42, 50) != poisson_weights(2, 42, 50));
}

TEST_CASE("bootstrap accumulators merged from shards equal the single run bit for bit", "[bootstrap]") {
  Rng rng(11);
  BootstrapMean single(200, 7), shard[3] = {BootstrapMean(200, 7), BootstrapMean(200, 7), BootstrapMean(200, 7)};
  for (std::uint64_t unit = 0; unit < 3000; ++unit) {
    const double value = rng.uniform01() * 3.7;
    single.add(unit, value);
    shard[unit % 3].add(unit, value);  // a different order and grouping
  }
  BootstrapMean merged(200, 7);
  merged.merge(shard[2]);
  merged.merge(shard[0]);
  merged.merge(shard[1]);
  CHECK(merged == single);
  CHECK(merged.mean() == single.mean());
  CHECK(merged.interval().lo == single.interval().lo);
  CHECK(BootstrapMean::from_json(merged.to_json()) == single);
  BootstrapMean other_seed(200, 8);
  CHECK_THROWS_AS(merged.merge(other_seed), InternalError);
}

TEST_CASE("bootstrap interval of a mean covers the truth at its nominal rate", "[bootstrap]") {
  // 200 replications of n = 200 draws from U(0, 1) (true mean 0.5). With 95%
  // intervals the number that cover is Binomial(200, ~0.95): mean 190, sd 3.1.
  // Percentile intervals from 200 replicates run slightly narrow, so we accept
  // >= 176 (about 4.5 sd below nominal): a broken interval (e.g. the spread of
  // the data rather than of the mean, or no spread) lands far outside.
  int covered = 0;
  for (int rep = 0; rep < 200; ++rep) {
    Rng data = Rng::stream(99, static_cast<std::uint64_t>(rep));
    BootstrapMean mean(200, static_cast<std::uint64_t>(rep));
    for (std::uint64_t unit = 0; unit < 200; ++unit) mean.add(unit, data.uniform01());
    const auto ci = mean.interval();
    if (ci.lo <= 0.5 && 0.5 <= ci.hi) ++covered;
    CHECK(ci.hi - ci.lo < 0.2);  // sd of the mean is 0.0204: the 95% width is about 0.08
  }
  CHECK(covered >= 176);
}

TEST_CASE("an empty bootstrap accumulator reports NaN rather than zero", "[bootstrap]") {
  BootstrapMean empty;
  CHECK(std::isnan(empty.mean()));
  CHECK(std::isnan(empty.interval().lo));
}

TEST_CASE("128-bit sums are written in decimal exactly and read back", "[bootstrap]") {
  using I128 = Int128;
  __extension__ using U128 = unsigned __int128;
  const I128 max = static_cast<I128>((static_cast<U128>(1) << 127) - 1);
  const I128 min = -max - 1;
  const I128 e18 = 1'000'000'000'000'000'000LL;
  CHECK(int128_to_decimal(0) == "0");
  CHECK(int128_to_decimal(7) == "7");
  CHECK(int128_to_decimal(-7) == "-7");
  CHECK(int128_to_decimal(e18 - 1) == "999999999999999999");
  CHECK(int128_to_decimal(e18) == "1000000000000000000");  // a chunk boundary: inner zeros are kept
  CHECK(int128_to_decimal(e18 + 1) == "1000000000000000001");
  CHECK(int128_to_decimal(-e18 * e18) == "-1000000000000000000000000000000000000");
  CHECK(int128_to_decimal(max) == "170141183460469231731687303715884105727");
  CHECK(int128_to_decimal(min) == "-170141183460469231731687303715884105728");
  // Round trip over magnitudes from one digit to 38, both signs.
  Rng rng(5);
  for (int i = 0; i < 2000; ++i) {
    I128 v = static_cast<I128>((static_cast<U128>(rng.next_u64()) << 64 | rng.next_u64()) >> rng.uniform_int(127));
    if (i % 2) v = -v;
    INFO(int128_to_decimal(v));
    CHECK(int128_from_decimal(int128_to_decimal(v)) == v);
  }
}
